"""The write transaction of conversion intake: locks, checks, inserts, coupon redemption,
pending scans, and attribution at the end.

``IntakeTransaction(conn, settings, …).run(items)`` stores prepared conversions in the caller's
transaction. Each item is checked before anything of it is written, so an item that fails yields
its ``DomainError`` and leaves no trace. What the checks need is fetched once for the whole batch
(earlier conversions by key and order id, scans, coupons) and kept current as items are stored.

Locks (PostgreSQL; SQLite has one writer): the workspace's intake lock -- shared, or exclusive
for more than ``MAX_KEY_LOCKS`` keys -- then the sorted per-request keys (order id, lead,
coupon), then, when a named scan is not stored yet, the pending lock, then the attribution lock
(``attribution.engine``). Idempotency itself rests on the unique ``(workspace_id,
idempotency_key)``: the insert is ``ON CONFLICT DO NOTHING`` and a loser reads the winner back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from scanroute.attribution.engine import affected, attribute
from scanroute.attribution.intake import LEAD_TYPES, ORDER_KEY_PREFIX, is_recent_scan_id
from scanroute.domain.errors import Conflict, DomainError, Invalid
from scanroute.services.common import utcnow
from scanroute.services.fx import to_reporting
from scanroute.services.intake_rules import Prepared
from scanroute.storage import conversions as store
from scanroute.storage import links
from scanroute.storage.attribution import AttributionSettings
from scanroute.storage.conversions import ConversionRecord, ScanRef

MAX_KEY_LOCKS = 32
NOT_OURS = 'is not a scan of this workspace (set "unattributed": true to store the conversion without it)'


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one conversion request."""

    status: int  # 201 stored, 200 answered by an earlier conversion (replay or de-duplicated lead)
    conversion: ConversionRecord
    note: str  # created, replay, duplicate_lead
    attributed: bool  # a touch was found (or is awaited: ``pending``)
    pending: bool = False


@dataclass(slots=True)
class _Touch:
    scan_id: str | None = None
    scan: ScanRef | None = None
    pending: bool = False
    coupon: str | None = None


class IntakeTransaction:
    """Stores a batch of prepared conversions of one workspace in one transaction."""

    def __init__(
        self, conn: Connection, settings: AttributionSettings, *, lead_dedupe: timedelta, lenient: bool
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.ws = settings.workspace_id
        self.lead_dedupe = lead_dedupe
        self.lenient = lenient
        self.by_key: dict[str, ConversionRecord] = {}
        self.by_order: dict[str, ConversionRecord] = {}
        self.scans: dict[str, ScanRef] = {}
        self.coupons: dict[str, dict[str, Any]] = {}

    def run(self, items: Sequence[Prepared]) -> list[Outcome | DomainError]:
        """Store the items (see the module docstring); attribute what was created."""
        conn, ws = self.conn, self.ws
        keys = sorted({key for p in items for key in _lock_keys(ws, p)})
        if len(keys) > MAX_KEY_LOCKS:  # a big batch or import holds the workspace's intake alone
            store.lock(conn, "intake", ws)
        else:
            store.lock(conn, "intake", ws, shared=True)
            for key in keys:
                store.lock(conn, *key)
        self.by_key = store.conversions_by(conn, ws, "idempotency_key", {p.key for p in items if p.key})
        self.by_order = store.conversions_by(conn, ws, "order_id", {p.order_id for p in items if p.order_id})
        self.coupons = links.coupons_by_code(conn, ws, {p.coupon_code for p in items if p.coupon_code})
        named = {p.scan_id for p in items if p.scan_id} | {str(c["scan_id"]) for c in self.coupons.values()}
        self.scans = store.scans_by_id(conn, named)
        results: list[Outcome | DomainError] = []
        created: list[int] = []
        customers: dict[str, datetime] = {}
        for p in items:
            try:
                outcome, scan = self._one(p)
            except DomainError as exc:
                results.append(exc)
                continue
            results.append(outcome)
            if outcome.note == "created":
                created.append(outcome.conversion.id)
                if scan is not None and p.external_id:
                    customers[p.external_id] = min(scan.ts, customers.get(p.external_id, scan.ts))
        touched = set(created)
        for customer, since in customers.items():  # earlier conversions the new scans may touch
            touched.update(affected(conn, ws, [customer], since))
        attribute(conn, ws, sorted(touched))
        return results

    def _one(self, p: Prepared) -> tuple[Outcome, ScanRef | None]:
        earlier = self._earlier(p)
        if earlier is not None:
            return earlier, None
        touch = self._touch(p, lenient=self.lenient or p.unattributed)
        reporting = None
        if p.value_minor is not None and p.currency is not None:
            reporting = to_reporting(self.conn, self.settings, p.value_minor, p.currency)
        scan = touch.scan
        record = store.insert_conversion(
            self.conn,
            {
                "workspace_id": self.ws,
                "scan_id": touch.scan_id,
                "type": p.type,
                "value_minor": p.value_minor,
                "currency": p.currency,
                "value_reporting_minor": reporting,
                "external_id": p.external_id,
                "order_id": p.order_id,
                "coupon_code": p.coupon_code,
                "metadata": p.metadata,
                "occurred_at": p.occurred_at,
                "created_at": utcnow(),
                "idempotency_key": p.key,
                "request_hash": p.hash,
                "source": p.source,
                "code_id": scan.code_id if scan else None,
                "campaign_id": scan.campaign_id if scan else None,
                "placement_id": scan.placement_id if scan else None,
                "creative": scan.creative if scan else None,
            },
        )
        if record is None:  # a concurrent transaction with the same key won the insert
            assert p.key is not None
            winner = store.conversion_where(self.conn, self.ws, idempotency_key=p.key)
            assert winner is not None
            return _replay(winner, p, "idempotency_key"), None
        if touch.coupon:
            redeemed = links.redeem_coupon(self.conn, touch.coupon, record.id, p.occurred_at)
            assert redeemed, "the coupon lock makes the check and the redemption one step"
            self.coupons[touch.coupon]["redeemed_at"] = p.occurred_at
            self.coupons[touch.coupon]["conversion_id"] = record.id
        if touch.pending and touch.scan_id:
            links.add_pending(self.conn, self.ws, touch.scan_id, utcnow())
        if p.key:
            self.by_key[p.key] = record
        if p.order_id:
            self.by_order.setdefault(p.order_id, record)
        attributed = scan is not None or touch.pending
        return Outcome(201, record, "created", attributed=attributed, pending=touch.pending), scan

    def _earlier(self, p: Prepared) -> Outcome | None:
        """The answer of an earlier conversion this request repeats, if any (replay, lead)."""
        if p.key is not None and p.key in self.by_key:
            by_order = p.key.startswith(ORDER_KEY_PREFIX) and p.order_id
            return _replay(self.by_key[p.key], p, "order_id" if by_order else "idempotency_key")
        if p.order_id is not None and p.order_id in self.by_order:
            return _replay(self.by_order[p.order_id], p, "order_id")
        if p.type in LEAD_TYPES and p.external_id and self.lead_dedupe > timedelta(0):
            found = store.recent_of_customer(
                self.conn,
                self.ws,
                p.external_id,
                p.type,
                p.occurred_at - self.lead_dedupe,
                p.occurred_at + self.lead_dedupe,
            )
            if found is not None:
                return Outcome(200, found, "duplicate_lead", attributed=found.scan_id is not None)
        return None

    def _touch(self, p: Prepared, *, lenient: bool) -> _Touch:
        """The scan a conversion names, directly or through a coupon."""
        if p.coupon_code is not None:
            found = self.coupons.get(p.coupon_code)
            if found is None:
                if lenient:
                    return _Touch()
                raise Invalid("is not a coupon issued in this workspace", field="coupon_code")
            if p.scan_id is not None and p.scan_id != found["scan_id"]:
                raise Invalid("was issued to another scan than scan_id", field="coupon_code")
            if found["redeemed_at"] is not None:
                if lenient:
                    return _Touch()
                raise Conflict(
                    f"was already redeemed by conversion {found['conversion_id']}", field="coupon_code"
                )
            touch = self._scan_touch(str(found["scan_id"]), lenient=lenient)
            touch.coupon = p.coupon_code if touch.scan_id else None
            return touch
        if p.scan_id is None:
            return _Touch()
        return self._scan_touch(p.scan_id, lenient=lenient)

    def _scan_touch(self, scan_id: str, *, lenient: bool) -> _Touch:
        touch = scan_touch(self.conn, self.ws, scan_id, lenient=lenient, known=self.scans.get(scan_id))
        if touch.scan is not None:
            self.scans[scan_id] = touch.scan
        return touch


def scan_touch(
    conn: Connection, ws: int, scan_id: str, *, lenient: bool, known: ScanRef | None = None
) -> _Touch:
    """The touch of a named scan: stored and ours, or recent and awaited (``pending``).

    A well-formed id minted in the last 10 minutes that is not stored yet is awaited: the check
    runs again under the pending lock, so ``ScanWriter`` cannot store it unnoticed in between.
    Otherwise a scan that is unknown or another workspace's is refused (``lenient``: ignored).
    """
    found = known or store.scans_by_id(conn, [scan_id]).get(scan_id)
    if found is None and is_recent_scan_id(scan_id, utcnow()):
        store.lock_pending(conn, shared=False)  # orders us against ScanWriter (engine docstring)
        found = store.scans_by_id(conn, [scan_id]).get(scan_id)
        if found is None:
            return _Touch(scan_id=scan_id, pending=True)
    if found is not None and found.workspace_id == ws:
        return _Touch(scan_id=scan_id, scan=found)
    if lenient:
        return _Touch()
    raise Invalid(NOT_OURS, field="scan_id")


def _replay(found: ConversionRecord, p: Prepared, field_name: str) -> Outcome:
    if found.request_hash != p.hash:
        raise Conflict(
            f"was already used by conversion {found.id} with a different request", field=field_name
        )
    return Outcome(200, found, "replay", attributed=found.code_id is not None or found.scan_id is not None)


def _lock_keys(ws: int, p: Prepared) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if p.order_id is not None:
        keys.append(("order", str(ws), p.order_id))
    if p.type in LEAD_TYPES and p.external_id:
        keys.append(("lead", str(ws), p.external_id, p.type))
    if p.coupon_code is not None:
        keys.append(("coupon", p.coupon_code))
    return keys
