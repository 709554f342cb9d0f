"""Store of attribution results and of the per-workspace attribution settings (SQLAlchemy Core).

Owns the SQL over ``attribution_credits`` (replace a conversion's rows, read them, page through
them), ``fx_rates`` (the user's exchange-rate table) and the attribution columns of
``workspaces`` (model, lookback, time-decay half-life, pixel secret).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.domain.errors import Invalid, NotFound
from scanroute.storage.paging import MAX_PAGE, Page, decode_cursor, encode_cursor
from scanroute.storage.schema import attribution_credits, fx_rates, workspaces

CHUNK = 900


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """How a workspace attributes: its reporting currency, default model, windows and pixel secret."""

    workspace_id: int
    slug: str
    currency: str
    timezone: str
    model: str
    lookback: timedelta
    half_life: timedelta
    pixel_secret: str


@dataclass(frozen=True, slots=True)
class CreditRecord:
    """One stored credit: a touch's share of a conversion under one model."""

    conversion_id: int
    model: str
    scan_id: str
    workspace_id: int
    credit_ppm: int
    value_minor: int
    code_id: int | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    touch_at: datetime
    converted_at: datetime


def _credit(row: Row[Any]) -> CreditRecord:
    m = row._mapping
    return CreditRecord(**{name: m[name] for name in CreditRecord.__slots__})


# -- workspace settings -----------------------------------------------------------------------------


def settings_of(conn: Connection, workspace_id: int) -> AttributionSettings:
    """The workspace's attribution settings (read-only; ``pixel_secret`` may be '' -- see
    ``ensure_pixel_secret``)."""
    row = conn.execute(select(workspaces).where(workspaces.c.id == workspace_id)).first()
    if row is None:
        raise NotFound(f"workspace {workspace_id} does not exist")
    m = row._mapping
    return AttributionSettings(
        workspace_id=workspace_id,
        slug=m["slug"],
        currency=m["currency"],
        timezone=m["timezone"],
        model=m["attribution_model"],
        lookback=timedelta(days=int(m["lookback_days"])),
        half_life=timedelta(hours=int(m["half_life_hours"])),
        pixel_secret=m["pixel_secret"],
    )


def ensure_pixel_secret(conn: Connection, workspace_id: int) -> str:
    """The workspace's pixel secret, generated and kept first if it has none (a write)."""
    conn.execute(
        update(workspaces)
        .where(workspaces.c.id == workspace_id, workspaces.c.pixel_secret == "")
        .values(pixel_secret=secrets.token_hex(32))
    )
    return pixel_secret(conn, workspace_id)


def pixel_secret(conn: Connection, workspace_id: int) -> str:
    """The workspace's pixel secret as stored ('' when it has none yet: see ``ensure_pixel_secret``)."""
    return str(
        conn.execute(select(workspaces.c.pixel_secret).where(workspaces.c.id == workspace_id)).scalar() or ""
    )


def workspace_id_of(conn: Connection, slug: str) -> int | None:
    """A workspace id by slug, or ``None``."""
    ident = conn.execute(select(workspaces.c.id).where(workspaces.c.slug == slug)).scalar()
    return None if ident is None else int(ident)


def rotate_pixel_secret(conn: Connection, workspace_id: int) -> str:
    """Replace the workspace's pixel secret (old signatures stop working); returns the new one."""
    secret = secrets.token_hex(32)
    conn.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(pixel_secret=secret))
    return secret


# -- exchange rates ---------------------------------------------------------------------------------


def rate(conn: Connection, workspace_id: int, currency: str) -> Decimal | None:
    """Reporting-currency units per one unit of ``currency``, or ``None`` when not set."""
    value = conn.execute(
        select(fx_rates.c.rate).where(
            fx_rates.c.workspace_id == workspace_id, fx_rates.c.currency == currency
        )
    ).scalar()
    return None if value is None else plain(Decimal(value))


def plain(value: Decimal) -> Decimal:
    """A stored NUMERIC without its padding zeros (``1.085000000000`` -> ``1.085``, ``100`` stays)."""
    reduced = value.normalize()
    return reduced.quantize(Decimal(1)) if reduced.as_tuple().exponent > 0 else reduced  # type: ignore[operator]


def rates(conn: Connection, workspace_id: int) -> list[tuple[str, Decimal, datetime]]:
    """Every rate of the workspace, by currency."""
    stmt = (
        select(fx_rates.c.currency, fx_rates.c.rate, fx_rates.c.updated_at)
        .where(fx_rates.c.workspace_id == workspace_id)
        .order_by(fx_rates.c.currency)
    )
    return [(r.currency, plain(Decimal(r.rate)), r.updated_at) for r in conn.execute(stmt)]


def set_rate(conn: Connection, workspace_id: int, currency: str, value: Decimal, now: datetime) -> None:
    """Insert or replace a rate."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(fx_rates).values(
        workspace_id=workspace_id, currency=currency, rate=value, updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["workspace_id", "currency"],
            set_={"rate": stmt.excluded.rate, "updated_at": stmt.excluded.updated_at},
        )
    )


def delete_rate(conn: Connection, workspace_id: int, currency: str) -> bool:
    """Remove a rate; ``False`` when there was none."""
    result = conn.execute(
        delete(fx_rates).where(fx_rates.c.workspace_id == workspace_id, fx_rates.c.currency == currency)
    )
    return bool(result.rowcount)


# -- credits ----------------------------------------------------------------------------------------


def replace_credits(
    conn: Connection, conversion_ids: Sequence[int], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Delete the credit rows of these conversions and insert ``rows`` in their place."""
    ids = sorted(set(conversion_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.execute(delete(attribution_credits).where(attribution_credits.c.conversion_id.in_(chunk)))
    for start in range(0, len(rows), 5_000):
        conn.execute(insert(attribution_credits), list(rows[start : start + 5_000]))


def credits_of(conn: Connection, workspace_id: int, conversion_ids: Iterable[int]) -> list[CreditRecord]:
    """The credit rows of these conversions, by conversion, model and touch time."""
    ac = attribution_credits.c
    stmt = (
        select(attribution_credits)
        .where(ac.workspace_id == workspace_id, ac.conversion_id.in_(bindparam("ids", expanding=True)))
        .order_by(ac.conversion_id, ac.model, ac.touch_at, ac.scan_id)
    )
    ids = sorted(set(conversion_ids))
    out: list[CreditRecord] = []
    for start in range(0, len(ids), CHUNK):
        out.extend(_credit(r) for r in conn.execute(stmt, {"ids": ids[start : start + CHUNK]}))
    return out


def page_credits(
    conn: Connection,
    workspace_id: int,
    model: str,
    since: datetime | None,
    until: datetime | None,
    *,
    limit: int,
    cursor: str | None,
) -> Page[CreditRecord]:
    """A page of one model's credit rows, newest conversion first (keyset on time, conversion, scan)."""
    ac = attribution_credits.c
    stmt = select(attribution_credits).where(ac.workspace_id == workspace_id, ac.model == model)
    if since is not None:
        stmt = stmt.where(ac.converted_at >= since)
    if until is not None:
        stmt = stmt.where(ac.converted_at < until)
    if cursor:
        at, conv_id, scan_id = _credit_cursor(cursor)
        stmt = stmt.where(
            or_(
                ac.converted_at < at,
                and_(ac.converted_at == at, ac.conversion_id < conv_id),
                and_(ac.converted_at == at, ac.conversion_id == conv_id, ac.scan_id > scan_id),
            )
        )
    size = max(1, min(limit, MAX_PAGE))
    order = (ac.converted_at.desc(), ac.conversion_id.desc(), ac.scan_id.asc())
    rows = conn.execute(stmt.order_by(*order).limit(size + 1)).all()
    items = [_credit(r) for r in rows[:size]]
    nxt = None
    if len(rows) > size:
        last = items[-1]
        nxt = encode_cursor([last.converted_at.isoformat(), last.scan_id], last.conversion_id)
    return Page(items, nxt)


def _credit_cursor(cursor: str) -> tuple[datetime, int, str]:
    value, conv_id = decode_cursor(cursor)
    try:
        at_text, scan_id = value
        at = datetime.fromisoformat(at_text)
    except (TypeError, ValueError) as exc:
        raise Invalid("is not a cursor this API issued", field="cursor") from exc
    if at.tzinfo is None or not isinstance(scan_id, str):
        raise Invalid("is not a cursor this API issued", field="cursor")
    return at.astimezone(UTC), conv_id, scan_id
