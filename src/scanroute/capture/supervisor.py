"""``scanroute serve``'s side of the drainer process: start it, restart it if it dies, stop it last.

The child is ``python -m scanroute.capture.drain_process`` with serve's environment. Its
standard input is a pipe whose write end only this process holds: closing it (``stop``) or
dying (the kernel closes it) tells the drainer to make its final sweep and exit. ``stop`` is
called after uvicorn's workers have exited, so their last appends are in the spool by then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger("scanroute.supervisor")
RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STOP_TIMEOUT = 20.0  # the final sweep retries the store for up to 5 s; a big backlog takes longer


class DrainerSupervisor:
    """Keeps one drainer process running while ``serve`` runs."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._pipe: int | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The current drainer process's id."""
        proc = self.proc
        return proc.pid if proc is not None else None

    def start(self) -> None:
        """Start the drainer process and the thread that restarts it."""
        with self._lock:
            self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="drainer-supervisor", daemon=True)
        self._monitor.start()

    def _spawn(self) -> None:
        """Start a drainer process (called with the lock held)."""
        read_end, write_end = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "scanroute.capture.drain_process"],
                stdin=read_end,
                env=self.env if self.env is not None else os.environ.copy(),
                start_new_session=True,  # a terminal's Ctrl-C goes to serve, which stops us in order
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe)
        self.proc, self._pipe = proc, write_end
        log.info("drainer process %d started", proc.pid)

    def _watch(self) -> None:
        delay = RESTART_DELAY
        while True:
            proc = self.proc
            assert proc is not None
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            log.error("drainer process %d exited with %s; restarting it", proc.pid, code)
            if time.monotonic() - started > MAX_RESTART_DELAY:
                delay = RESTART_DELAY  # it ran a while: not a crash loop
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_RESTART_DELAY)
            try:
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self._spawn()
                    self.restarts += 1
            except OSError as exc:
                log.error("could not restart the drainer process: %s", exc)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Ask the drainer for its final sweep and wait for it; returns its exit code."""
        with self._lock:
            self._stopping.set()
            proc, pipe = self.proc, self._pipe
            self._pipe = None
        if pipe is not None:
            with contextlib.suppress(OSError):
                os.close(pipe)
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.error("drainer process %d did not finish within %.0f s; killing it", proc.pid, timeout)
            proc.kill()
            return proc.wait(timeout=5)
