"""Journeys: which scans are one customer's touches (DESIGN §4), joined only through explicit links.

A conversion's candidate touches are the scan it names plus, when it carries an ``external_id``,
every scan tied to that customer: by ``POST /api/v1/identify`` links and by the scans other
conversions of the same customer named. Only scans of the conversion's own workspace count. The
anonymous visitor hash never joins scans (two people on one café network with the same phone
would merge). The lookback window and "not after the conversion" are applied by
``attribution.models.credit``; ``customer_journey`` applies them for display.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from scanroute.attribution.models import Touch
from scanroute.storage.conversions import (
    ConversionRecord,
    ScanRef,
    conversions_by_ids,
    conversions_of_customers,
    scans_by_id,
)
from scanroute.storage.links import scans_of_customers


def touch_of(scan: ScanRef) -> Touch:
    """The attribution model's view of a stored scan (ids carried as opaque labels)."""
    return Touch(
        scan_id=scan.id,
        at=scan.ts,
        code_id=_label(scan.code_id),
        campaign_id=_label(scan.campaign_id),
        placement_id=_label(scan.placement_id),
        creative=scan.creative,
    )


def _label(value: int | None) -> str | None:
    return None if value is None else str(value)


def linked_scans(conn: Connection, workspace_id: int, customers: Iterable[str]) -> dict[str, set[str]]:
    """Scan ids tied to each customer by identify links and by their conversions."""
    linked: dict[str, set[str]] = defaultdict(set)
    wanted = {c for c in customers if c}
    if not wanted:
        return linked
    for external_id, scan_id in scans_of_customers(conn, workspace_id, wanted):
        linked[external_id].add(scan_id)
    for customer, named, _, _ in conversions_of_customers(conn, workspace_id, wanted):
        if named:
            linked[customer].add(named)
    return linked


def candidate_touches(
    conn: Connection, workspace_id: int, items: Sequence[ConversionRecord]
) -> dict[int, list[Touch]]:
    """Every candidate touch of each conversion, by conversion id (stored scans of the workspace)."""
    linked = linked_scans(conn, workspace_id, (c.external_id for c in items if c.external_id))
    wanted: set[str] = set()
    per_conversion: dict[int, set[str]] = {}
    for conv in items:
        ids = set(linked.get(conv.external_id, ())) if conv.external_id else set()
        if conv.scan_id:
            ids.add(conv.scan_id)
        per_conversion[conv.id] = ids
        wanted |= ids
    stored = scans_by_id(conn, wanted, workspace_id)
    return {
        conv_id: [touch_of(stored[sid]) for sid in sorted(ids) if sid in stored]
        for conv_id, ids in per_conversion.items()
    }


@dataclass(frozen=True, slots=True)
class Journey:
    """A customer's scans inside a window, oldest first, and their conversions in it."""

    external_id: str
    since: datetime
    until: datetime
    scans: list[ScanRef]
    conversions: list[ConversionRecord]


def customer_journey(
    conn: Connection, workspace_id: int, external_id: str, *, until: datetime, lookback: timedelta
) -> Journey:
    """All of a customer's linked scans with ``until - lookback <= ts <= until``, across codes and
    campaigns, ordered in time (ties by scan id), and the customer's conversions in that window."""
    since = until - lookback
    linked = linked_scans(conn, workspace_id, [external_id]).get(external_id, set())
    stored = scans_by_id(conn, linked, workspace_id)
    scans = sorted((s for s in stored.values() if since <= s.ts <= until), key=lambda s: (s.ts, s.id))
    conv_ids = [
        ident
        for _, _, ident, at in conversions_of_customers(conn, workspace_id, [external_id])
        if since <= at <= until
    ]
    convs = sorted(conversions_by_ids(conn, workspace_id, conv_ids), key=lambda c: (c.occurred_at, c.id))
    return Journey(external_id, since, until, scans, convs)
