"""``scanroute serve``'s side of the drainer process: start it, restart it if it dies, stop it last.

The child is ``python -m scanroute.capture.drain_process`` with serve's environment. Its
standard input is a pipe whose write end only this process holds: closing it (``stop``) or
dying (the kernel closes it) tells the drainer to make its final sweep and exit. ``stop`` is
called after uvicorn's workers have exited, so their last appends are in the spool by then.

The final sweep stores whatever backlog the spool holds, which after a long burst on a saturated
core can take minutes. ``stop`` waits as long as the drainer's status file shows it advancing
(up to a limit, the ``drain_stop_timeout`` setting), stops it once it has made no progress for
``STALL_TIMEOUT`` seconds, or at once when ``interrupt`` is called (a second Ctrl-C). Stopping it
early loses nothing: the rest stays in the spool and is stored at the next start.
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
from collections.abc import Callable
from typing import Any

log = logging.getLogger("scanroute.supervisor")
RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STALL_TIMEOUT = 20.0  # seconds without progress before the final sweep is given up
POLL = 0.5  # seconds between looks at the drainer's status while it stops
REPORT_EVERY = 5.0  # seconds between progress lines in the log during a long final sweep


class DrainerSupervisor:
    """Keeps one drainer process running while ``serve`` runs."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        status: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        """``env``: the drainer's environment (default: ours); ``status``: reads the drainer's
        published state (``drain_process.read_status``), which ``stop`` watches for progress."""
        self.env = env
        self.status = status
        self._interrupted = threading.Event()
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

    def interrupt(self) -> None:
        """Cut a running ``stop`` short: the drainer is killed, its backlog stays in the spool."""
        self._interrupted.set()

    def stop(self, *, limit: float, stall: float = STALL_TIMEOUT) -> int | None:
        """Ask the drainer for its final sweep and wait for it; returns its exit code.

        Waits at most ``limit`` seconds, and gives up sooner when the drainer's ``drained``
        count has not grown for ``stall`` seconds or ``interrupt`` is called.
        """
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
        started = last_change = last_report = time.monotonic()
        drained: int | None = None
        while True:
            try:
                return proc.wait(timeout=POLL)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            state = self.status() if self.status is not None else None
            count = state.get("drained") if state else None
            if isinstance(count, int) and count != drained:
                if drained is not None:
                    last_change = now
                drained = count
            if now - last_report >= REPORT_EVERY:
                last_report = now
                pending = state.get("pending_bytes") if state else None
                log.warning(
                    "storing the spool's backlog before exiting: %s left (Ctrl-C again to leave it "
                    "for the next start)",
                    f"{pending / 1e6:.1f} MB" if isinstance(pending, int) else "an unknown amount",
                )
            reason = None
            if self._interrupted.is_set():
                reason = "interrupted"
            elif now - last_change >= stall:
                reason = f"no progress for {stall:.0f} s"
            elif now - started >= limit:
                reason = f"still storing after {limit:.0f} s"
            if reason is not None:
                log.error(
                    "stopping drainer process %d (%s): the rest of the spool is stored at the next start",
                    proc.pid,
                    reason,
                )
                proc.kill()
                return proc.wait(timeout=5)
