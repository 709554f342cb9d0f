"""The attribution engine: (re)computes and stores the credit rows of conversions under every model.

``attribute(conn, workspace_id, conversion_ids)`` is the one entry point that writes
``attribution_credits``: for each conversion it builds the journey (``attribution.journeys``),
splits exactly one whole of credit among the eligible touches under each of the five models
(``attribution.models.credit``, the workspace's lookback and time-decay half-life) and the
conversion's value in the reporting currency with ``credit_value``, then replaces the conversion's
rows -- one per (conversion, model, touch) -- in the caller's transaction. A conversion without an
eligible touch (no scan, or a purchase before any scan) gets no rows: it stays unattributed.

Because rows are replaced, re-running is always safe; it is how late information lands:

- ``relink`` -- a customer gained a scan (identify, or a conversion naming a scan): their
  conversions that the new scan could touch are recomputed;
- ``on_scans_stored`` -- ``ScanWriter`` stored scans that conversions or identify links had named
  before the drainer got to them (see ``attribution_pending``): those are completed and
  recomputed, in the writer's transaction.

On PostgreSQL, recomputations of one workspace are serialised by a transaction-scoped advisory
lock (two transactions replacing the same rows would otherwise collide). Lock order, everywhere:
the workspace's intake lock (shared; exclusive for big batches), per-request keys (order id, lead,
coupon, identify) sorted, then the pending lock, then this attribution lock -- never backwards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from scanroute.attribution.journeys import candidate_touches
from scanroute.attribution.models import Model, credit, credit_value
from scanroute.storage.attribution import replace_credits, settings_of
from scanroute.storage.conversions import (
    conversions_by_ids,
    conversions_naming,
    conversions_of_customers,
    lock,
    lock_pending,
    scans_by_id,
    set_touch,
)
from scanroute.storage.links import customers_of_scans, fill_identity_visitors, take_pending

BATCH = 1_000
MAX_LOOKBACK = timedelta(days=90)


def attribute(
    conn: Connection, workspace_id: int, conversion_ids: Sequence[int], *, rollups: bool = True
) -> None:
    """(Re)compute and replace the credit rows of these conversions under EVERY model.

    Runs in the caller's transaction (``conn``); ids of other workspaces or unknown ids are
    ignored. With ``rollups`` (the default) the analytics copy ``rollup_credits`` is replaced too
    (``storage.rollups.sync_credits``); a bulk loader that rebuilds the rollups afterwards may
    pass ``rollups=False``.
    """
    ids = sorted({int(i) for i in conversion_ids})
    if not ids:
        return
    lock(conn, "scanroute.attribute", workspace_id)
    settings = settings_of(conn, workspace_id)
    for start in range(0, len(ids), BATCH):
        items = conversions_by_ids(conn, workspace_id, ids[start : start + BATCH])
        touches = candidate_touches(conn, workspace_id, items)
        rows: list[dict[str, Any]] = []
        for conv in items:
            for model in Model:
                shares = credit(
                    model,
                    touches[conv.id],
                    converted_at=conv.occurred_at,
                    lookback=settings.lookback,
                    half_life=settings.half_life,
                )
                if not shares:
                    break  # eligibility is the same under every model: nothing to credit
                values = credit_value([ppm for _, ppm in shares], conv.value_reporting_minor or 0)
                for (touch, ppm), value in zip(shares, values, strict=True):
                    rows.append(
                        {
                            "conversion_id": conv.id,
                            "model": model.value,
                            "scan_id": touch.scan_id,
                            "workspace_id": workspace_id,
                            "credit_ppm": ppm,
                            "value_minor": value,
                            "code_id": _int(touch.code_id),
                            "campaign_id": _int(touch.campaign_id),
                            "placement_id": _int(touch.placement_id),
                            "creative": touch.creative,
                            "touch_at": touch.at,
                            "converted_at": conv.occurred_at,
                        }
                    )
        replace_credits(conn, [c.id for c in items], rows)
    if rollups:
        from scanroute.storage.rollups import sync_credits

        sync_credits(conn, workspace_id, ids)


def _int(label: str | None) -> int | None:
    return None if label is None else int(label)


def affected(conn: Connection, workspace_id: int, customers: Iterable[str], since: datetime) -> list[int]:
    """Conversions of these customers that a scan at ``since`` or later could touch."""
    until = since + MAX_LOOKBACK
    return [
        ident
        for _, _, ident, at in conversions_of_customers(conn, workspace_id, customers)
        if since <= at <= until
    ]


def relink(conn: Connection, workspace_id: int, external_id: str, scan_at: datetime) -> list[int]:
    """Recompute the customer's conversions that a newly linked scan at ``scan_at`` may touch."""
    ids = affected(conn, workspace_id, [external_id], scan_at)
    attribute(conn, workspace_id, ids)
    return ids


def on_scans_stored(conn: Connection, scan_ids: Sequence[str]) -> None:
    """Complete what waited for these newly stored scans (called by ``ScanWriter``, its transaction).

    Conversions naming one of them get the scan's code, campaign, placement and creative; identify
    links get its visitor hash; the conversions those scans now touch are recomputed. When nothing
    waits -- the usual case -- this costs one trivial query.
    """
    lock_pending(conn, shared=True)
    taken = take_pending(conn, scan_ids)
    by_workspace: dict[int, list[str]] = defaultdict(list)
    for workspace_id, scan_id in taken:
        by_workspace[workspace_id].append(scan_id)
    for workspace_id, ids in sorted(by_workspace.items()):
        found = scans_by_id(conn, ids, workspace_id)
        if not found:
            continue  # another workspace's scan: the conversions that named it stay unattributed
        fill_identity_visitors(conn, workspace_id, found)
        naming = conversions_by_ids(conn, workspace_id, conversions_naming(conn, workspace_id, found))
        for conv in naming:
            if conv.scan_id in found and conv.code_id is None:
                set_touch(conn, conv.id, found[conv.scan_id])
        customers = customers_of_scans(conn, workspace_id, found) | {
            c.external_id for c in naming if c.external_id
        }
        earliest = min(s.ts for s in found.values())
        recompute = {c.id for c in naming} | set(affected(conn, workspace_id, customers, earliest))
        attribute(conn, workspace_id, sorted(recompute))
