"""The job runner: every server worker runs one; a lease in the database lets one run a job.

Every ``tick`` seconds (the first after ``first_delay``) the scheduler looks for jobs that are
due — never run, last run started more than ``interval`` ago, or last run failed more than
``RETRY_AFTER`` ago — and runs each in a thread after taking its lease (``job_locks``): with
several workers or machines on one database, exactly one of them runs it. Every run is recorded
in ``job_runs`` with its summary or error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scanroute.bootstrap import Container
from scanroute.jobs.registry import REGISTRY, Job, get
from scanroute.services.common import utcnow
from scanroute.storage import jobs as store

log = logging.getLogger("scanroute.jobs")
RETRY_AFTER = timedelta(hours=1)
TICK = 60.0
FIRST_DELAY = 300.0


class Busy(RuntimeError):
    """Another process holds the job's lease."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """How one run went."""

    name: str
    run_id: int
    status: str
    result: dict[str, Any] | None
    error: str | None


def default_holder() -> str:
    """This process's name in leases and run records."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


class Scheduler:
    """Runs registered jobs when due; one lease per job across every process."""

    def __init__(
        self,
        container: Container,
        jobs: Mapping[str, Job] | None = None,
        *,
        tick: float = TICK,
        first_delay: float = FIRST_DELAY,
        holder: str | None = None,
    ) -> None:
        self.container = container
        self.jobs = jobs if jobs is not None else REGISTRY
        self.tick = tick
        self.first_delay = first_delay
        self.holder = holder or default_holder()
        self._task: asyncio.Task[None] | None = None

    def due(self, now: datetime | None = None) -> list[Job]:
        """Jobs that should run now."""
        now = now or utcnow()
        with self.container.db.read() as conn:
            last = store.latest_runs(conn)
        out = []
        for job in self.jobs.values():
            run = last.get(job.name)
            wait = RETRY_AFTER if run is not None and run["status"] == "failed" else job.interval
            if run is None or run["started_at"] + min(wait, job.interval) <= now:
                out.append(job)
        return out

    def run(self, name: str, *, trigger: str = "manual", now: datetime | None = None) -> RunResult:
        """Run one job now under its lease (``Busy`` when another process holds it)."""
        job = self.jobs[name] if name in self.jobs else get(name)
        now = now or utcnow()
        db = self.container.db
        with db.write() as conn:
            if not store.acquire(conn, job.name, self.holder, now, now + job.lease):
                raise Busy(f"job {job.name} is running elsewhere")
            run_id = store.start_run(conn, job.name, trigger, self.holder, now)
        status, result, error = "ok", None, None
        try:
            result = job.run(self.container)
        except Exception as exc:
            status, error = "failed", "".join(traceback.format_exception_only(exc)).strip()[:4000]
            log.exception("job %s failed", job.name)
        finally:
            with db.write() as conn:
                store.finish_run(conn, run_id, status, utcnow(), result, error)
                store.release(conn, job.name, self.holder)
        return RunResult(job.name, run_id, status, result, error)

    def run_due(self, now: datetime | None = None) -> list[RunResult]:
        """Run every due job (skipping those another process is running)."""
        results = []
        for job in self.due(now):
            try:
                results.append(self.run(job.name, trigger="schedule", now=now))
            except Busy:
                log.debug("job %s is running elsewhere", job.name)
        return results

    async def run_forever(self) -> None:
        """Tick until cancelled (store errors are logged and retried at the next tick)."""
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await asyncio.to_thread(self.run_due)
            except Exception as exc:  # noqa: BLE001 - the store may be down
                log.warning("job scheduler: %s", exc)
            await asyncio.sleep(self.tick)

    def start(self) -> None:
        """Start ticking on the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="job-scheduler")

    async def stop(self) -> None:
        """Stop ticking (a run in progress finishes in its thread; its lease then lapses)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
