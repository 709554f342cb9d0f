"""Named background jobs and how often they run.

A job is a function of the container returning a small JSON-able summary. Register more with
``register(Job(...))``; the scheduler and ``scanroute jobs`` see every registered job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from scanroute.bootstrap import Container

JobFunction = Callable[[Container], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Job:
    """A named job, its interval and its lease (how long a run may hold the job)."""

    name: str
    interval: timedelta
    run: JobFunction
    description: str
    lease: timedelta = timedelta(hours=1)


REGISTRY: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add (or replace) a job by name."""
    REGISTRY[job.name] = job
    return job


def get(name: str) -> Job:
    """A registered job, or ``KeyError`` listing the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def _anomaly_scan(container: Container) -> dict[str, Any]:
    from scanroute.services.anomalies import AnomalyService

    return AnomalyService(container.db).scan_all()


def _leadscore_retrain(container: Container) -> dict[str, Any]:
    from scanroute.services.leadscore import LeadScoreService

    return LeadScoreService(container.db).train_all()


register(
    Job(
        "anomaly-scan",
        timedelta(days=1),
        _anomaly_scan,
        "Judge the last complete days of every code's and campaign's scans; record anomalies.",
    )
)
register(
    Job(
        "leadscore-retrain",
        timedelta(days=7),
        _leadscore_retrain,
        "Retrain every workspace's lead-score model on its own scans and conversions.",
        lease=timedelta(hours=3),
    )
)
