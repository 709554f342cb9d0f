"""What the edge starts beside its scan runtime: the live feed hub and the job scheduler."""

from __future__ import annotations

from typing import Any

from scanroute.bootstrap import Container
from scanroute.jobs.scheduler import Scheduler
from scanroute.live import attach, hub_for

SCHEDULER = "scheduler"


async def start(container: Container, runtime: Any) -> None:
    """Hook the live feed onto the runtime's stored scans and start the job scheduler."""
    hub = hub_for(container)
    attach(hub, runtime)
    await hub.start()
    if container.settings.jobs_enabled:
        scheduler = Scheduler(container)
        scheduler.start()
        container.extras[SCHEDULER] = scheduler


async def stop(container: Container) -> None:
    """Stop the scheduler and the live feed."""
    scheduler = container.extras.pop(SCHEDULER, None)
    if isinstance(scheduler, Scheduler):
        await scheduler.stop()
    await hub_for(container).stop()
