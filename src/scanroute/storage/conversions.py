"""Store of conversions and of the scans they name (SQLAlchemy Core).

Owns the SQL over ``conversions`` (insert, look-ups, keyset-paged lists) and the scan look-ups of
intake and attribution, plus the transaction-scoped locks that make intake race-free on
PostgreSQL (SQLite already has one writer at a time). Rows come back as ``ConversionRecord`` and
``ScanRef``. Coupons, identify links and pending attributions live in ``storage.links``. Every
function takes the caller's connection: the service decides the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.storage.paging import MAX_PAGE, Page, decode_cursor, encode_cursor
from scanroute.storage.schema import conversions, scans

CHUNK = 900  # bound parameters per IN list
_PENDING_LOCK = "scanroute.attribution_pending"


@dataclass(frozen=True, slots=True)
class ConversionRecord:
    """A stored conversion (money in integer minor units)."""

    id: int
    workspace_id: int
    scan_id: str | None
    type: str
    value_minor: int | None
    currency: str | None
    value_reporting_minor: int | None
    external_id: str | None
    order_id: str | None
    coupon_code: str | None
    metadata: dict[str, Any]
    occurred_at: datetime
    created_at: datetime
    idempotency_key: str | None
    request_hash: str
    source: str
    code_id: int | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None


@dataclass(frozen=True, slots=True)
class ScanRef:
    """What intake and attribution need of one stored scan."""

    id: str
    workspace_id: int
    ts: datetime
    code_id: int | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    visitor: str | None


def _conversion(row: Row[Any]) -> ConversionRecord:
    m = row._mapping
    return ConversionRecord(**{name: m[name] for name in ConversionRecord.__slots__})


def _scan(row: Row[Any]) -> ScanRef:
    m = row._mapping
    return ScanRef(**{name: m[name] for name in ScanRef.__slots__})


def chunks(items: Sequence[Any]) -> Iterable[list[Any]]:
    """``items`` in lists of at most ``CHUNK`` (bound parameters per ``IN`` list)."""
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


# -- locks ------------------------------------------------------------------------------------------


def _lock_id(*parts: object) -> int:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock(conn: Connection, *parts: object, shared: bool = False) -> None:
    """Hold a lock on ``parts`` until the transaction ends (PostgreSQL; no-op on SQLite, which has
    one writer at a time). ``shared`` locks only exclude exclusive holders of the same key."""
    if conn.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        conn.exec_driver_sql(f"SELECT {fn}(%(k)s)", {"k": _lock_id(*parts)})


def lock_pending(conn: Connection, *, shared: bool) -> None:
    """The lock that orders "store a pending attribution" against "store scans" (see engine)."""
    lock(conn, _PENDING_LOCK, shared=shared)


# -- scans ------------------------------------------------------------------------------------------

_SCAN_COLUMNS = [scans.c[name] for name in ScanRef.__slots__]


def scans_by_id(conn: Connection, ids: Iterable[str], workspace_id: int | None = None) -> dict[str, ScanRef]:
    """Stored scans by id (optionally only those of one workspace)."""
    wanted = sorted(set(ids))
    stmt = select(*_SCAN_COLUMNS).where(scans.c.id.in_(bindparam("ids", expanding=True)))
    if workspace_id is not None:
        stmt = stmt.where(scans.c.workspace_id == workspace_id)
    found: dict[str, ScanRef] = {}
    for chunk in chunks(wanted):
        found.update({r.id: _scan(r) for r in conn.execute(stmt, {"ids": chunk})})
    return found


# -- conversions ------------------------------------------------------------------------------------


def insert_conversion(conn: Connection, values: Mapping[str, Any]) -> ConversionRecord | None:
    """Insert one conversion; ``None`` when its idempotency key is already taken (nothing written)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(conversions)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(*conversions.c)
    )
    row = conn.execute(stmt).first()
    return None if row is None else _conversion(row)


def conversions_by(
    conn: Connection, workspace_id: int, column: str, values: Iterable[str]
) -> dict[str, ConversionRecord]:
    """The oldest conversion per value of ``column`` (``idempotency_key`` or ``order_id``)."""
    col = conversions.c[column]
    stmt = (
        select(conversions)
        .where(conversions.c.workspace_id == workspace_id, col.in_(bindparam("values", expanding=True)))
        .order_by(conversions.c.id.desc())
    )
    out: dict[str, ConversionRecord] = {}
    for chunk in chunks(sorted(set(values))):
        for row in conn.execute(stmt, {"values": chunk}):
            record = _conversion(row)
            out[getattr(record, column)] = record  # ascending ids win: the oldest is kept last
    return out


def conversion(conn: Connection, workspace_id: int, ident: int) -> ConversionRecord | None:
    """One conversion of the workspace, or ``None``."""
    row = conn.execute(
        select(conversions).where(conversions.c.workspace_id == workspace_id, conversions.c.id == ident)
    ).first()
    return None if row is None else _conversion(row)


def conversions_by_ids(conn: Connection, workspace_id: int, ids: Iterable[int]) -> list[ConversionRecord]:
    """The workspace's conversions with these ids (unknown ids are skipped), by id."""
    stmt = (
        select(conversions)
        .where(
            conversions.c.workspace_id == workspace_id, conversions.c.id.in_(bindparam("ids", expanding=True))
        )
        .order_by(conversions.c.id)
    )
    out: list[ConversionRecord] = []
    for chunk in chunks(sorted(set(ids))):
        out.extend(_conversion(r) for r in conn.execute(stmt, {"ids": chunk}))
    return out


def conversion_where(conn: Connection, workspace_id: int, **where: Any) -> ConversionRecord | None:
    """The oldest conversion of the workspace matching equality conditions, or ``None``."""
    conds = [conversions.c[k] == v for k, v in where.items()]
    row = conn.execute(
        select(conversions)
        .where(conversions.c.workspace_id == workspace_id, *conds)
        .order_by(conversions.c.id)
        .limit(1)
    ).first()
    return None if row is None else _conversion(row)


def recent_of_customer(
    conn: Connection, workspace_id: int, external_id: str, kind: str, since: datetime, until: datetime
) -> ConversionRecord | None:
    """The customer's first conversion of this type that occurred in ``[since, until]``."""
    c = conversions.c
    row = conn.execute(
        select(conversions)
        .where(
            c.workspace_id == workspace_id,
            c.external_id == external_id,
            c.type == kind,
            c.occurred_at >= since,
            c.occurred_at <= until,
        )
        .order_by(c.occurred_at, c.id)
        .limit(1)
    ).first()
    return None if row is None else _conversion(row)


def set_touch(conn: Connection, conversion_id: int, scan: ScanRef) -> None:
    """Copy the scan's code, campaign, placement and creative onto a conversion."""
    conn.execute(
        update(conversions)
        .where(conversions.c.id == conversion_id)
        .values(
            code_id=scan.code_id,
            campaign_id=scan.campaign_id,
            placement_id=scan.placement_id,
            creative=scan.creative,
        )
    )


@dataclass(frozen=True, slots=True)
class ConversionFilter:
    """Filters of ``GET /api/v1/conversions``; ``None`` means "any"."""

    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    external_id: str | None = None
    campaign_id: int | None = None
    code_id: int | None = None
    source: str | None = None


def list_conversions(
    conn: Connection, workspace_id: int, where: ConversionFilter, *, limit: int, cursor: str | None
) -> Page[ConversionRecord]:
    """A page of conversions, newest first: ordered by ``(occurred_at, id)`` descending."""
    c = conversions.c
    stmt = select(conversions).where(c.workspace_id == workspace_id)
    for column, value in (
        (c.type, where.type),
        (c.external_id, where.external_id),
        (c.campaign_id, where.campaign_id),
        (c.code_id, where.code_id),
        (c.source, where.source),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if where.since is not None:
        stmt = stmt.where(c.occurred_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(c.occurred_at < where.until)
    if cursor:
        at, last = _time_cursor(cursor)
        stmt = stmt.where(or_(c.occurred_at < at, and_(c.occurred_at == at, c.id < last)))
    size = max(1, min(limit, MAX_PAGE))
    rows = conn.execute(stmt.order_by(c.occurred_at.desc(), c.id.desc()).limit(size + 1)).all()
    items = [_conversion(r) for r in rows[:size]]
    more = len(rows) > size
    return Page(items, encode_cursor(items[-1].occurred_at, items[-1].id) if more else None)


def _time_cursor(cursor: str) -> tuple[datetime, int]:
    from scanroute.domain.errors import Invalid

    value, ident = decode_cursor(cursor)
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Invalid("is not a cursor this API issued", field="cursor")
    return at.astimezone(UTC), ident


def conversions_of_customers(
    conn: Connection, workspace_id: int, external_ids: Iterable[str]
) -> list[tuple[str, str | None, int, datetime]]:
    """``(external_id, scan_id, conversion id, occurred_at)`` of every conversion of these customers."""
    c = conversions.c
    stmt = select(c.external_id, c.scan_id, c.id, c.occurred_at).where(
        c.workspace_id == workspace_id, c.external_id.in_(bindparam("ids", expanding=True))
    )
    out: list[tuple[str, str | None, int, datetime]] = []
    for chunk in chunks(sorted(set(external_ids))):
        out.extend(
            (r.external_id, r.scan_id, r.id, r.occurred_at) for r in conn.execute(stmt, {"ids": chunk})
        )
    return out


def conversions_naming(conn: Connection, workspace_id: int, scan_ids: Iterable[str]) -> list[int]:
    """Ids of the workspace's conversions that name one of these scans."""
    stmt = select(conversions.c.id).where(
        conversions.c.workspace_id == workspace_id,
        conversions.c.scan_id.in_(bindparam("ids", expanding=True)),
    )
    out: list[int] = []
    for chunk in chunks(sorted(set(scan_ids))):
        out.extend(int(i) for i in conn.execute(stmt, {"ids": chunk}).scalars())
    return out


def all_conversion_ids(conn: Connection, workspace_id: int) -> list[int]:
    """Every conversion id of a workspace (for a full re-attribution)."""
    stmt = (
        select(conversions.c.id).where(conversions.c.workspace_id == workspace_id).order_by(conversions.c.id)
    )
    return [int(i) for i in conn.execute(stmt).scalars()]
