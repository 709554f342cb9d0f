"""Conversion intake and identity links: the use cases behind ``POST /api/v1/conversions``,
``/conversions/batch``, ``/identify``, the signed pixel and the POS import.

One path for every source: a request is validated (``services.intake_rules``), then stored by
an ``IntakeTransaction`` (``services.intake_tx``: locks, idempotency, coupons, pending scans) and
attributed (``attribution.engine``). A replay with the same idempotency key or order id answers
the first result (200); the same key with a different request is a 409.

A scan id that is well formed, recent (≤ 10 minutes) and not stored yet is waited for up to
``scan_wait`` seconds (the drainer stores scans every ~0.25 s); if it is still missing, the
conversion is stored with it and ``attribution_pending`` completes it when ``ScanWriter`` stores
the scan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from scanroute.attribution.engine import relink
from scanroute.attribution.intake import is_recent_scan_id
from scanroute.domain.errors import Conflict, DomainError
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import require, utcnow
from scanroute.services.intake_rules import ConversionIn, IdentifyIn, Prepared, prepare
from scanroute.services.intake_tx import IntakeTransaction, Outcome, scan_touch
from scanroute.storage import attribution as settings_store
from scanroute.storage import conversions as store
from scanroute.storage import links
from scanroute.storage.db import Database

__all__ = ["ConversionService", "IdentifyOutcome", "ItemResult", "Outcome"]

SCAN_WAIT = 2.0
POLL = 0.1


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item of a batch: an outcome or a problem."""

    index: int
    outcome: Outcome | None
    error: DomainError | None


@dataclass(frozen=True, slots=True)
class IdentifyOutcome:
    """The link of a scan to a customer."""

    scan_id: str
    external_id: str
    created: bool
    pending: bool
    reattributed: list[int] = field(default_factory=list)


class ConversionService:
    """Records conversions and identity links for one workspace at a time."""

    def __init__(self, db: Database, *, lead_dedupe: timedelta, scan_wait: float = SCAN_WAIT) -> None:
        self.db = db
        self.lead_dedupe = lead_dedupe
        self.scan_wait = scan_wait

    # -- public use cases -------------------------------------------------------------------------

    def record(
        self, principal: Principal, data: ConversionIn, *, header_key: str | None = None, source: str = "api"
    ) -> Outcome:
        """Record one conversion (editor); ``Invalid``/``Conflict`` name the field at fault."""
        require(principal, Role.EDITOR, "recording conversions")
        with self.db.read() as conn:
            settings = settings_store.settings_of(conn, principal.workspace_id)
        prepared = prepare(data, settings, header_key=header_key, source=source, now=utcnow())
        self.wait_for_scans([prepared.scan_id] if prepared.scan_id else [])
        with self.db.write() as conn:
            (outcome,) = self.store(conn, principal.workspace_id, [prepared])
        return outcome

    def record_many(self, principal: Principal, items: Sequence[dict[str, Any]]) -> list[ItemResult]:
        """Record up to 1 000 conversions; each succeeds or fails on its own (a failing item writes
        nothing and does not stop the rest)."""
        require(principal, Role.EDITOR, "recording conversions")
        now = utcnow()
        with self.db.read() as conn:
            settings = settings_store.settings_of(conn, principal.workspace_id)
        ready: list[tuple[int, Prepared]] = []
        results: dict[int, ItemResult] = {}
        for i, raw in enumerate(items):
            try:
                ready.append((i, prepare(ConversionIn.parse_item(raw), settings, source="api", now=now)))
            except DomainError as exc:
                results[i] = ItemResult(i, None, exc)
        self.wait_for_scans([p.scan_id for _, p in ready if p.scan_id])
        with self.db.write() as conn:  # one transaction: an item that fails writes nothing
            stored = self.store_each(conn, principal.workspace_id, [p for _, p in ready])
        for (i, _), result in zip(ready, stored, strict=True):
            if isinstance(result, Outcome):
                results[i] = ItemResult(i, result, None)
            else:
                results[i] = ItemResult(i, None, result)
        return [results[i] for i in range(len(items))]

    def identify(self, principal: Principal, data: IdentifyIn) -> IdentifyOutcome:
        """Link a scan (and its visitor hash) to a customer id; recompute the customer's conversions."""
        require(principal, Role.EDITOR, "linking scans to customers")
        ws = principal.workspace_id
        self.wait_for_scans([data.scan_id])
        with self.db.write() as conn:
            store.lock(conn, "identify", ws, data.scan_id)
            current = links.identity(conn, ws, data.scan_id)
            if current is not None:
                if current != data.external_id:
                    raise Conflict("is already linked to another customer", field="scan_id")
                return IdentifyOutcome(data.scan_id, data.external_id, created=False, pending=False)
            touch = scan_touch(conn, ws, data.scan_id, lenient=False)
            if touch.pending:
                links.add_pending(conn, ws, data.scan_id, utcnow())
            visitor = touch.scan.visitor if touch.scan else None
            links.link_identity(conn, ws, data.scan_id, data.external_id, visitor, utcnow())
            ids = relink(conn, ws, data.external_id, touch.scan.ts) if touch.scan else []
        return IdentifyOutcome(
            data.scan_id, data.external_id, created=True, pending=touch.pending, reattributed=ids
        )

    def wait_for_scans(self, scan_ids: Iterable[str], *, sleep: Callable[[float], None] = time.sleep) -> None:
        """Wait (up to ``scan_wait`` seconds) until recent, well-formed scan ids are stored."""
        now = utcnow()
        waiting = {sid for sid in scan_ids if is_recent_scan_id(sid, now)}
        deadline = time.monotonic() + self.scan_wait
        while waiting:
            with self.db.read() as conn:
                waiting -= set(store.scans_by_id(conn, waiting))
            if not waiting or time.monotonic() >= deadline:
                return
            sleep(POLL)

    # -- the transaction ---------------------------------------------------------------------------

    def store(
        self, conn: Connection, workspace_id: int, items: Sequence[Prepared], *, lenient: bool = False
    ) -> list[Outcome]:
        """Store prepared conversions in the caller's transaction and attribute them; the first
        item that cannot be stored raises (the caller's transaction is then rolled back)."""
        results = self.store_each(conn, workspace_id, items, lenient=lenient)
        return [r if isinstance(r, Outcome) else _raise(r) for r in results]

    def store_each(
        self, conn: Connection, workspace_id: int, items: Sequence[Prepared], *, lenient: bool = False
    ) -> list[Outcome | DomainError]:
        """Store prepared conversions in the caller's transaction, each on its own merits.

        An item that cannot be stored yields its ``DomainError`` and writes nothing.
        ``lenient`` (the POS import) stores a conversion whose scan or coupon is unknown, foreign
        or already redeemed as unattributed instead of refusing it. See ``services.intake_tx``.
        """
        settings = settings_store.settings_of(conn, workspace_id)
        tx = IntakeTransaction(conn, settings, lead_dedupe=self.lead_dedupe, lenient=lenient)
        return tx.run(items)


def _raise(error: DomainError) -> Outcome:
    raise error
