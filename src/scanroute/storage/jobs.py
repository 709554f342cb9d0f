"""Scheduled-job bookkeeping: leases (one runner per job across processes) and run history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, desc, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.storage.schema import job_locks, job_runs


def acquire(conn: Connection, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Take the job's lease unless another holder has an unexpired one; True when taken."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(job_locks).values(name=name, holder=holder, expires_at=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": until},
        where=(job_locks.c.expires_at < now) | (job_locks.c.holder == holder),
    ).returning(job_locks.c.holder)
    return conn.execute(stmt).first() is not None


def release(conn: Connection, name: str, holder: str) -> None:
    """Give the lease back (only if still ours)."""
    conn.execute(delete(job_locks).where(job_locks.c.name == name, job_locks.c.holder == holder))


def start_run(conn: Connection, name: str, trigger: str, holder: str, now: datetime) -> int:
    """Record a run as started; returns its id."""
    stmt = (
        insert(job_runs)
        .values(name=name, trigger=trigger, status="running", holder=holder, started_at=now)
        .returning(job_runs.c.id)
    )
    return int(conn.execute(stmt).scalar_one())


def finish_run(
    conn: Connection, ident: int, status: str, now: datetime, result: dict[str, Any] | None, error: str | None
) -> None:
    """Record how a run ended."""
    conn.execute(
        update(job_runs)
        .where(job_runs.c.id == ident)
        .values(status=status, finished_at=now, result=result, error=error)
    )


def latest_runs(conn: Connection) -> dict[str, dict[str, Any]]:
    """The newest finished run of each job, by name."""
    newest = (
        select(job_runs.c.name, func.max(job_runs.c.id).label("id"))
        .where(job_runs.c.status != "running")
        .group_by(job_runs.c.name)
        .subquery()
    )
    rows = conn.execute(select(job_runs).join(newest, newest.c.id == job_runs.c.id))
    return {r.name: {str(k): v for k, v in r._mapping.items()} for r in rows}


def history(conn: Connection, name: str | None, limit: int) -> list[dict[str, Any]]:
    """Recent runs (of one job, or of all), newest first."""
    stmt = select(job_runs)
    if name is not None:
        stmt = stmt.where(job_runs.c.name == name)
    return [
        {str(k): v for k, v in r._mapping.items()}
        for r in conn.execute(stmt.order_by(desc(job_runs.c.id)).limit(limit))
    ]
