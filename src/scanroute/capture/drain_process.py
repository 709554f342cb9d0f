"""The drainer process: stores every worker's spooled scans, outside the serving processes.

``scanroute serve`` starts it (``python -m scanroute.capture.drain_process``, supervised by
``capture.supervisor``), so that the CPU-heavy work of storing scans never holds the GIL of a
process that answers redirects. Every ``SCANROUTE_DRAIN_INTERVAL`` it sweeps the spool root:
each live worker's spool is drained up to its last complete line, each dead worker's spool is
drained to its end and removed (``Drainer.sweep``). In Redis mode it ships the spools to the
stream (the store is the fallback) and also runs the stream consumer, publishing stored scans on
the live feed's Redis channels.

It stops on SIGTERM or when its standard input (a pipe from ``serve``) reaches end of file —
``serve`` closes it after the workers have exited, and the kernel closes it if ``serve`` dies —
and then makes a final sweep, so the workers' last appends are stored. Only one drainer runs per
data directory (an exclusive ``flock`` on ``spool/drainer.lock``). Its state for the workers'
``/metrics`` is written to ``spool/drainer.json`` (``read_status``). It runs at a lower
scheduling priority (``NICE``) than the workers: on an idle machine it still gets every spare
cycle, on a saturated core the redirects come first and the spool absorbs the backlog (its
depth is the ``scanroute_spool_bytes`` gauge). The drainer runs in a session of its own, and
Linux (with ``sched_autogroup``) then schedules it as a group of its own, where a process's nice
value only ranks it against its own group: ``lower_priority`` therefore sets the group's nice
value too (``/proc/self/autogroup``), else the drainer took half of a shared core.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from scanroute.capture.drainer import MAX_BACKOFF, Drainer
from scanroute.capture.stream import StoreSink, StreamConsumer, StreamSink
from scanroute.settings import Settings, load_settings

log = logging.getLogger("scanroute.drain_process")
LOCK_FILE = "drainer.lock"
STATUS_FILE = "drainer.json"
STATUS_EVERY = 1.0  # seconds between status writes within a long sweep (serve watches them at shutdown)
FINAL_TIMEOUT = 5.0  # seconds the final sweep may retry while the store is unreachable
NICE = 10  # on a busy core the scheduler favours the workers: a redirect waits less, storing later


def read_status(root: Path) -> dict[str, Any] | None:
    """The drainer process's last published state (``None`` if there is none yet)."""
    try:
        data = orjson.loads((root / STATUS_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


class DrainProcess:
    """The loop of the drainer process (also usable in a thread, by tests)."""

    def __init__(self, settings: Settings) -> None:
        from redis import Redis

        from scanroute.storage.db import Database
        from scanroute.storage.scans import ScanWriter

        self.settings = settings
        self.root = settings.data_dir / "spool"
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.effective_database_url)
        writer = ScanWriter(self.db)
        sink: StoreSink | StreamSink = StoreSink(writer)
        self._status_at = 0.0  # when write_status last ran (monotonic)
        self.redis: Redis | None = None
        self.consumer: StreamConsumer | None = None
        self.drainer = Drainer(
            None,
            sink,
            root=self.root,
            batch=settings.drain_batch,
            interval=settings.drain_interval,
            max_bytes=settings.spool_max_bytes,
            on_batch=self._progress,
        )
        if settings.redis_url:
            from scanroute.live.hub import LiveHub

            stream = f"{settings.redis_prefix}:scans"
            self.redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            self.drainer.sink = StreamSink(self.redis, stream, StoreSink(writer))
            hub = LiveHub(settings.redis_url, settings.redis_prefix)  # publishes to every worker
            self.consumer = StreamConsumer(
                self.redis, stream, f"drainer-{os.uname().nodename}", writer, on_stored=hub.publish_scans
            )
            self.drainer.on_stored = hub.publish_scans  # scans written straight to the store
        self.stopping = threading.Event()
        self.swept = threading.Event()  # the final sweep is done: the consumer may finish
        self.store_up = True
        self.errors = 0
        self.drained = 0  # spool records moved since start (serve watches it grow at shutdown)
        self._lock_fd: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def acquire(self) -> bool:
        """Take the data directory's drainer lock (waiting for a previous drainer to finish)."""
        self._lock_fd = os.open(self.root / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
        while not self.stopping.is_set():
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                self.stopping.wait(0.2)
        return False

    def run(self) -> None:
        """Sweep until asked to stop, then make the final sweep."""
        if not self.acquire():
            return
        consumer = None
        if self.consumer is not None:
            consumer = threading.Thread(target=self._consume, name="stream-consumer", daemon=True)
            consumer.start()
        delay = self.drainer.interval
        while not self.stopping.is_set():
            delay = self.drainer.interval if self._sweep() else min(max(delay * 2, 0.5), MAX_BACKOFF)
            self.stopping.wait(delay)
        self.final()
        self.swept.set()
        if consumer is not None:
            consumer.join(timeout=FINAL_TIMEOUT)

    def _sweep(self, *, final: bool = False) -> bool:
        """One sweep; False (logged, counted) when the store or Redis could not be reached."""
        from scanroute.observability import metrics

        try:
            self.drainer.sweep(final=final)
            self.store_up = True
            return True
        except Exception as exc:  # noqa: BLE001 - the store may be down; the spools keep everything
            self.store_up = False
            self.errors += 1
            metrics.drain_errors.inc()
            log.warning("drain failed, will retry: %s", str(exc).splitlines()[0] if str(exc) else exc)
            return False
        finally:
            self.write_status()

    def final(self) -> None:
        """The shutdown sweep: every worker is gone, so every spool is drained to its end."""
        deadline = time.monotonic() + FINAL_TIMEOUT
        while not self._sweep(final=True):
            if time.monotonic() >= deadline:
                log.warning("store unreachable at shutdown: scans stay in the spool for the next start")
                return
            time.sleep(0.5)

    def _consume(self) -> None:
        assert self.consumer is not None
        consumer = self.consumer
        while True:
            try:
                if not consumer.consume_once(200) and self.swept.is_set():
                    return  # the stream is empty and no spool is left to ship
            except Exception as exc:  # noqa: BLE001 - redis or store down: entries stay pending
                log.warning("stream consumer: %s", exc)
                if self.swept.wait(1.0):
                    return

    def _progress(self, records: int) -> None:
        """After each batch (of ``records`` spool records): count them, and publish the state at
        most every ``STATUS_EVERY`` seconds, so that a sweep through a big backlog (above all
        the final one) shows ``serve`` that it is advancing."""
        self.drained += records
        if time.monotonic() - self._status_at >= STATUS_EVERY:
            self.write_status()

    def write_status(self) -> None:
        """Publish the state the workers mirror into ``/metrics``."""
        from prometheus_client import REGISTRY

        self._status_at = time.monotonic()
        lag = REGISTRY.get_sample_value("scanroute_drain_lag_seconds")
        pending = self.drainer.pending_bytes()
        status = {
            "pid": os.getpid(),
            "store_up": self.store_up,
            "errors": self.errors,
            "pending_bytes": pending,
            "drained": self.drained,
            "lag": lag,
            "at": time.time(),
        }
        tmp = self.root / f"{STATUS_FILE}.{os.getpid()}.tmp"
        with contextlib.suppress(OSError):
            tmp.write_bytes(orjson.dumps(status))
            os.replace(tmp, self.root / STATUS_FILE)

    def close(self) -> None:
        """Release the lock and connections."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self.redis is not None:
            self.redis.close()
        self.db.dispose()


def _watch_stdin(stopping: threading.Event) -> None:
    """Stop when the parent closes our standard input (or dies)."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stopping.set()


def lower_priority() -> None:
    """Make this process yield a busy core to the workers: its nice value, and its scheduling
    group's (Linux with autogroup: a new session is a group of its own; elsewhere no such file)."""
    with contextlib.suppress(OSError):
        os.nice(NICE)
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(NICE))


def main() -> None:
    """Entry point of the drainer process."""
    from scanroute.observability.logs import configure

    settings = load_settings()
    configure(settings)
    lower_priority()
    proc = DrainProcess(settings)
    signal.signal(signal.SIGTERM, lambda *_: proc.stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches serve, which stops us in order
    threading.Thread(target=_watch_stdin, args=(proc.stopping,), name="parent-watch", daemon=True).start()
    log.info("drainer process %d draining %s", os.getpid(), proc.root)
    try:
        proc.run()
    finally:
        proc.close()


if __name__ == "__main__":
    main()
