"""Live feed of new scans and conversions (server-sent events); see ``hub``.

Other parts publish through the functions here, which never raise:

``publish_conversion(container, workspace_id, conversion)`` — call it after a conversion is
committed, with a mapping of its fields (``id``, ``scan_id``, ``type``, ``value``, ``currency``,
``occurred_at``, ``code_id``, ``campaign_id`` …; anything else is left out).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from scanroute.bootstrap import Container
from scanroute.capture.event import ScanEvent
from scanroute.live.hub import LiveHub, Subscription, scan_payload

__all__ = ["LiveHub", "Subscription", "attach", "hub_for", "publish_conversion", "scan_payload"]

log = logging.getLogger("scanroute.live")
KEY = "live"


def hub_for(container: Container) -> LiveHub:
    """The process's hub (created on first use)."""
    hub = container.extras.get(KEY)
    if not isinstance(hub, LiveHub):
        settings = container.settings
        hub = LiveHub(settings.redis_url, settings.redis_prefix)
        container.extras[KEY] = hub
    return hub


def publish_conversion(container: Container, workspace_id: int, conversion: Mapping[str, Any]) -> None:
    """Announce a stored conversion on the workspace's live feed (best effort, never raises)."""
    try:
        hub_for(container).publish_conversion(workspace_id, conversion)
    except Exception:
        log.exception("live feed: could not publish a conversion")


def _chain(
    first: Callable[[list[ScanEvent]], None] | None, second: Callable[[list[ScanEvent]], None]
) -> Callable[[list[ScanEvent]], None]:
    if first is None:
        return second

    def both(events: list[ScanEvent]) -> None:
        first(events)
        second(events)

    return both


def attach(hub: LiveHub, runtime: Any) -> None:
    """Hook the hub onto a scan runtime's drainer and stream consumer (keeping existing hooks)."""
    runtime.drainer.on_stored = _chain(runtime.drainer.on_stored, hub.publish_scans)
    if getattr(runtime, "consumer", None) is not None:
        runtime.consumer.on_stored = _chain(runtime.consumer.on_stored, hub.publish_scans)
