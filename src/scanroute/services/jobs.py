"""Long-running work started by the API (bulk print runs), run in the serving process and polled.

A job is a row in ``jobs`` (status ``queued`` → ``running`` → ``succeeded`` | ``failed``, with
``progress``/``total``) and a folder ``SCANROUTE_DATA_DIR/jobs/{id}/`` for its files. The work
runs on a small thread pool inside the process that accepted the request; any worker process
can answer status and downloads because both live in the database and the shared data folder.

Progress is written at most every :data:`HEARTBEAT` seconds (and at the end); a running job whose
row has not been touched for :data:`STALE_AFTER` is reported — and stored — as failed
("interrupted"), which is what happens when the server stops mid-job. Nothing restarts it by
itself: the client starts a new one.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from scanroute.domain.errors import DomainError, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import require, utcnow
from scanroute.storage.db import Database
from scanroute.storage.paging import ListQuery, Page
from scanroute.storage.qr import JobRecord, job_table

__all__ = ["HEARTBEAT", "STALE_AFTER", "JobContext", "JobService"]

log = logging.getLogger("scanroute.jobs")
HEARTBEAT = 0.5
STALE_AFTER = timedelta(minutes=5)
QUEUED_STALE_AFTER = timedelta(hours=1)
Work = Callable[["JobContext"], dict[str, Any]]


class JobContext:
    """What a job's work function gets: its folder and a throttled progress reporter."""

    def __init__(self, service: JobService, job: JobRecord, folder: Path) -> None:
        self.service = service
        self.job_id = job.id
        self.workspace_id = job.workspace_id
        self.folder = folder
        self.total = job.total
        self._last = 0.0
        self._lock = threading.Lock()

    def progress(
        self, done: int, *, total: int | None = None, stage: str | None = None, force: bool = False
    ) -> None:
        """Record progress (written at most every HEARTBEAT seconds unless ``force``)."""
        now = time.monotonic()
        with self._lock:
            if total is not None:
                self.total = total
            if not force and now - self._last < HEARTBEAT:
                return
            self._last = now
        values: dict[str, Any] = {"progress": done, "total": self.total, "updated_at": utcnow()}
        if stage is not None:
            values["result"] = {"stage": stage}
        with self.service.db.write() as conn:
            job_table.update(conn, self.workspace_id, self.job_id, values)


class JobService:
    """Starts, tracks and serves the files of background jobs."""

    def __init__(self, db: Database, folder: Path, *, workers: int = 2) -> None:
        self.db = db
        self.folder = folder
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._futures: dict[int, Future[None]] = {}
        self._lock = threading.Lock()

    def start(
        self, principal: Principal, kind: str, params: dict[str, Any], total: int, work: Work
    ) -> JobRecord:
        """Record a queued job and run ``work`` in the background; returns the queued record."""
        require(principal, Role.EDITOR, "starting jobs")
        now = utcnow()
        with self.db.write() as conn:
            ident = job_table.insert(
                conn,
                {
                    "workspace_id": principal.workspace_id,
                    "kind": kind,
                    "status": "queued",
                    "progress": 0,
                    "total": total,
                    "params": params,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            job = job_table.get(conn, principal.workspace_id, ident)
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="scanroute-job")
            self._futures[ident] = self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: JobRecord, work: Work) -> None:
        folder = self.folder / str(job.id)
        ctx = JobContext(self, job, folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._set(job, status="running", file_path=str(folder))
            result = work(ctx)
            self._set(job, status="succeeded", result=result, progress=ctx.total, total=ctx.total)
        except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never raised
            reason = f"{exc.field}: {exc.detail}" if isinstance(exc, DomainError) and exc.field else str(exc)
            if not isinstance(exc, DomainError | ValueError):
                log.error("job %s failed\n%s", job.id, traceback.format_exc())
            try:
                self._set(job, status="failed", error=reason or type(exc).__name__)
            except Exception:
                log.exception("could not record the failure of job %s", job.id)
        finally:
            with self._lock:
                self._futures.pop(job.id, None)

    def _set(self, job: JobRecord, **values: Any) -> None:
        values["updated_at"] = utcnow()
        with self.db.write() as conn:
            job_table.update(conn, job.workspace_id, job.id, values)

    def get(self, principal: Principal, ident: int) -> JobRecord:
        """A job of the caller's workspace; stale running jobs are marked interrupted."""
        with self.db.read() as conn:
            job = job_table.get(conn, principal.workspace_id, ident)
        return self._fresh(job)

    def _fresh(self, job: JobRecord) -> JobRecord:
        age = utcnow() - job.updated_at
        with self._lock:
            local = job.id in self._futures
        stale = (job.status == "running" and age > STALE_AFTER) or (
            job.status == "queued" and age > QUEUED_STALE_AFTER
        )
        if not stale or local:
            return job
        error = "interrupted: the server stopped while the job ran; start it again"
        with self.db.write() as conn:
            return job_table.update(
                conn, job.workspace_id, job.id, {"status": "failed", "error": error, "updated_at": utcnow()}
            )

    def list(self, principal: Principal, query: ListQuery) -> Page[JobRecord]:
        """A page of the workspace's jobs."""
        with self.db.read() as conn:
            page = job_table.list(conn, principal.workspace_id, query)
        return Page([self._fresh(j) for j in page.items], page.next)

    def file(self, principal: Principal, ident: int, name: str) -> Path:
        """A finished job's output file by its name in ``result.files`` (``NotFound`` otherwise)."""
        job = self.get(principal, ident)
        files = (job.result or {}).get("files") or {}
        if job.status != "succeeded" or name not in files:
            raise NotFound(f"job {ident} has no file '{name}' (status {job.status})")
        path = Path(job.file_path or "") / str(files[name])
        if not path.is_file() or path.parent.resolve() != (self.folder / str(ident)).resolve():
            raise NotFound(f"the file '{name}' of job {ident} is no longer there")
        return path

    def wait(self, ident: int, timeout: float | None = None) -> None:
        """Block until a job started by this process finishes (tests, the CLI)."""
        with self._lock:
            future = self._futures.get(ident)
        if future is not None:
            future.result(timeout)

    def close(self) -> None:
        """Stop accepting jobs; running ones finish (their threads are waited for at exit)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
