"""Loading a generated workload (``scanroute.workload``) into the store.

Two paths over the same generated history:

- ``bulk`` — one transaction: scans and beacons straight from the generator's numpy columns
  (``analytics.fastload``: text COPY on PostgreSQL, ``executemany`` on SQLite, either built in
  the generating process), credits computed
  here (``analytics.credits``) over the journeys the generator built, every scan rollup grouped
  from the same columns (``analytics.bulkrollups``; a SQL ``analytics.rebuild`` instead when the
  workspace already had scans), credit rollups from the journeys' scan rows
  (``credits.credit_rollup_rows``, then regrouped in SQL);
- ``writer`` — scans through ``ScanWriter`` in drainer-sized batches, beacons through
  ``storage.rollups.add_beacons`` and credits through ``attribution.engine.attribute``: exactly
  what production does, one day per transaction (tests check both paths agree).

The bulk path does not call the attribution engine: measured at ≈2.8 ms per conversion (its
per-batch journey queries), it would take longer than everything else at 10 M scans. It applies
the same rules (journey = the named scan plus the customer's identified scans, the workspace's
lookback and half-life, the same credit and value split); ``tests/analytics`` checks that both
give identical ``attribution_credits``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from queue import Empty
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Index, func, literal, select, text

from scanroute.analytics import bulkrollups
from scanroute.analytics.bulkrollups import Partial, Shape, Totals, visitor_rows
from scanroute.analytics.bulkrollups import partial as partial_rollups
from scanroute.analytics.clock import epoch_us, zone
from scanroute.analytics.credits import conversion_row, credit_rollup_rows, fallback_credits, reporting_value
from scanroute.analytics.fastload import Ready, load_day, ready
from scanroute.analytics.rebuild import rebuild
from scanroute.capture.event import ScanEvent
from scanroute.storage import bulk
from scanroute.storage.attribution import AttributionSettings, settings_of
from scanroute.storage.credit_rollups import regroup_credits
from scanroute.storage.db import Database
from scanroute.storage.rollups import add_beacons
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import (
    CREDIT_AGGREGATES,
    attribution_credits,
    beacon_events,
    campaigns,
    codes,
    conversions,
    daily_visitors,
    fx_rates,
    identities,
    placements,
    rollup_credits,
    scans,
    workspaces,
)
from scanroute.workload import USD_RATES, CodeInfo, Spec, Workload, plan
from scanroute.workload_batch import Batch

__all__ = ["Loaded", "catalog", "ensure_fx", "fallback_credits", "load"]
WRITER_BATCH = 5_000  # the drainer's batch size
BULK_TABLES = (scans, beacon_events, identities, conversions, attribution_credits)
ROLLUPS = (*bulkrollups.TABLES.values(), daily_visitors, rollup_credits, *CREDIT_AGGREGATES)


@dataclass(slots=True)
class Loaded:
    """What a load wrote and how long it took."""

    workload: Workload
    scans: int = 0
    beacons: int = 0
    identities: int = 0
    conversions: int = 0
    credits_by: str = ""
    load_seconds: float = 0.0
    rebuild_seconds: float = 0.0  # bulk: indexes, rollups, commit (and SQLite checkpoint)
    first_id: int = 2**62  # the first conversion id this load assigned
    phases: dict[str, float] = field(default_factory=dict)  # bulk: seconds of each finishing step


def catalog(conn: Connection, workspace_id: int) -> list[CodeInfo]:
    """The workspace's dynamic codes with their placement's medium and place."""
    ws_tz = conn.execute(select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)).scalar_one()
    campaign_ids = list(
        conn.execute(
            select(campaigns.c.id).where(campaigns.c.workspace_id == workspace_id).order_by(campaigns.c.id)
        ).scalars()
    )
    kind = {cid: i % 3 for i, cid in enumerate(campaign_ids)}
    stmt = (
        select(
            codes,
            placements.c.medium,
            placements.c.country.label("p_country"),
            placements.c.city.label("p_city"),
        )
        .select_from(codes.outerjoin(placements, placements.c.id == codes.c.placement_id))
        .where(codes.c.workspace_id == workspace_id, codes.c.kind == "dynamic")
        .order_by(codes.c.id)
    )
    return [
        CodeInfo(
            id=r.id,
            slug=r.slug,
            destination=r.destination,
            campaign_id=r.campaign_id,
            placement_id=r.placement_id,
            creative=r.creative,
            medium=r.medium or "other",
            country=r.p_country or "US",
            city=r.p_city or "",
            tz=zone(r.timezone or ws_tz),
            campaign_kind=kind.get(r.campaign_id, -1),
        )
        for r in conn.execute(stmt)
    ]


def ensure_fx(conn: Connection, workspace_id: int) -> tuple[str, dict[str, Decimal]]:
    """The workspace currency and its rates, adding demo rates for currencies it lacks."""
    currency = conn.execute(select(workspaces.c.currency).where(workspaces.c.id == workspace_id)).scalar_one()
    rates = {
        r.currency: Decimal(r.rate)
        for r in conn.execute(
            select(fx_rates.c.currency, fx_rates.c.rate).where(fx_rates.c.workspace_id == workspace_id)
        )
    }
    if currency in USD_RATES:
        now = datetime.now(zone("UTC"))
        for other, usd in USD_RATES.items():
            if other != currency and other not in rates:
                rates[other] = (Decimal(str(usd)) / Decimal(str(USD_RATES[currency]))).quantize(
                    Decimal("1e-6")
                )
                conn.execute(
                    fx_rates.insert().values(
                        workspace_id=workspace_id, currency=other, rate=rates[other], updated_at=now
                    )
                )
    return currency, rates


def _event(r: Sequence[Any]) -> ScanEvent:
    return ScanEvent(
        id=r[0],
        ws=r[1],
        code=r[2],
        slug=r[3],
        ts=epoch_us(r[4]),
        outcome=r[5],
        dest=r[6],
        rule=r[7],
        variant=r[8],
        campaign=r[9],
        placement=r[10],
        creative=r[11],
        device=r[12],
        os=r[13],
        browser=r[14],
        lang=r[15],
        country=r[16],
        region=r[17],
        city=r[18],
        asn=r[19],
        ip_net=r[20],
        visitor=r[21],
        returning=r[22],
        bot=r[23],
        bot_kind=r[24],
        ref_host=r[25],
        refused=r[26],
    )


@dataclass(slots=True)
class _Prepared:
    """A batch with its conversions' reporting values and, in bulk mode, its credit rows (whose
    conversion id field holds the conversion's position in ``batch.conversions`` until ids are
    assigned) and its rollups."""

    batch: Batch
    reporting: list[int | None]
    credits: list[tuple[Any, ...]]
    rollups: Partial | None = None
    ready: Ready | None = None  # bulk: the day's scans and beacons as the database takes them
    credit_rollups: list[tuple[Any, ...]] = field(default_factory=list)  # bulk into a fresh workspace


def _prepare(
    workspace_id: int,
    currency: str,
    rates: dict[str, Decimal],
    settings: AttributionSettings | None,
    shape: Shape | None,
    dialect: str | None,
    tz: ZoneInfo | None,
    batch: Batch,
) -> _Prepared:
    reporting = [reporting_value(c, currency, rates) for c in batch.conversions]
    credits = []
    if settings is not None:
        for i, (conv, value) in enumerate(zip(batch.conversions, reporting, strict=True)):
            credits += fallback_credits(
                workspace_id, i, conv, value or 0, settings.lookback, settings.half_life
            )
    rollups = None if shape is None else partial_rollups(batch, shape)
    rows = None if dialect is None else ready(batch, dialect)
    credit_rows = [] if tz is None else credit_rollup_rows(batch.conversions, reporting, credits, tz)
    return _Prepared(batch, reporting, credits, rollups, rows, credit_rows)


def attribute(conn: Connection, workspace_id: int, conversion_ids: Sequence[int]) -> None:
    """(Re)compute credits and ``rollup_credits`` of these conversions the way production does."""
    from scanroute.attribution.engine import attribute as engine_attribute

    engine_attribute(conn, workspace_id, list(conversion_ids))


def _generated(work: Workload, prepare: Callable[[Batch], _Prepared], parallel: bool) -> Iterator[_Prepared]:
    """The workload's batches, generated (and prepared) in a child process while this one loads."""
    if not parallel:
        yield from map(prepare, work.batches())
        return
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited DB connections
    queue: Any = ctx.Queue(maxsize=3)
    child = ctx.Process(target=_produce, args=(work, prepare, queue), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1.0)
            except Empty:
                if child.is_alive():
                    continue
                raise RuntimeError(f"workload generator exited with code {child.exitcode}") from None
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"workload generator failed: {item}")
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(work: Workload, prepare: Callable[[Batch], _Prepared], queue: Any) -> None:
    try:
        for batch in work.batches():
            queue.put(prepare(batch))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        queue.put(f"{type(exc).__name__}: {exc}")
    queue.put(None)


def load(
    db: Database,
    workspace_id: int,
    spec: Spec,
    *,
    mode: str = "bulk",
    parallel: bool | None = None,
    progress: Callable[[int], None] | None = None,
) -> Loaded:
    """Generate ``spec``'s history for the workspace's codes and store it.

    ``bulk``: one transaction (all or nothing); raw rows by COPY/executemany from the generated
    columns — into tables that were empty, with their secondary indexes dropped and rebuilt at
    the end — credits computed here with ``attribution.models`` over the generated journeys (the
    engine's rules, without its per-conversion queries); the rollups grouped from the columns
    (``analytics.bulkrollups``) and written once at the end when the workspace had no scans
    before, else rebuilt in SQL (``analytics.rebuild``). ``writer``: scans through
    ``ScanWriter``, beacons and conversions through the production hooks and the attribution
    engine, one transaction per day. ``parallel`` (default: with ``bulk`` and 100 000 scans or
    more) generates in a child process while this one loads.
    """
    if mode not in ("bulk", "writer"):
        raise ValueError("mode must be bulk or writer")
    with db.write() as conn:
        work = plan(workspace_id, catalog(conn, workspace_id), spec)
        settings = settings_of(conn, workspace_id)
        currency, rates = ensure_fx(conn, workspace_id)
        next_id = int(conn.execute(select(func.coalesce(func.max(conversions.c.id), 0))).scalar_one()) + 1
        fresh = conn.execute(select(scans.c.id).where(scans.c.workspace_id == workspace_id).limit(1)).first()
    out = Loaded(work)
    parallel = mode == "bulk" and spec.scans >= 100_000 if parallel is None else parallel
    tz = zone(settings.timezone)
    shape = Shape.of(work, tz) if mode == "bulk" and fresh is None else None
    totals = Totals(shape) if shape is not None else None
    started = lap = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        out.phases[name] = round(now - lap, 2)
        lap = now

    with ExitStack() as stack:
        # bulk: one transaction; on SQLite its commit is not synced, the checkpoint after it is
        one = stack.enter_context(db.bulk_write(lambda: phase("commit"))) if mode == "bulk" else None
        dropped = _drop_indexes(one) if one is not None else []
        dialect = db.dialect if one is not None else None  # bulk: rows built beside the generator
        # credit rollups straight from the journeys when the workspace's rollups are written anew
        credit_tz = tz if totals is not None else None
        prepare = partial(
            _prepare, workspace_id, currency, rates, settings if one else None, shape, dialect, credit_tz
        )
        for prepared in _generated(work, prepare, parallel):
            if one is not None:
                next_id = _store(one, out, prepared, mode, next_id)
                if totals is not None and prepared.rollups is not None:
                    totals.add(prepared.rollups)
                    visitor_rows(one, prepared.rollups.visitors)
            else:
                rows = prepared.batch.scans
                for i in range(0, len(rows), WRITER_BATCH):
                    ScanWriter(db).write(_event(r) for r in rows[i : i + WRITER_BATCH])
                with db.write() as tx:
                    next_id = _store(tx, out, prepared, mode, next_id)
            if progress is not None:
                progress(out.scans)
        out.load_seconds = time.perf_counter() - started
        if one is not None:
            started = lap = time.perf_counter()
            for index in dropped:
                index.create(one)
            phase("indexes")
            if totals is not None:
                totals.write(one, work)
                phase("scan rollups")
                regroup_credits(one, workspace_id)
                phase("credit rollups")
            else:
                rebuild(one, workspace_id, work.start.astimezone(tz).date(), work.end.astimezone(tz).date())
                phase("rebuild")
            if not db.is_sqlite:
                bulk.analyze(one, (*BULK_TABLES, *ROLLUPS))
                phase("analyze")
    if mode == "bulk":
        if db.is_sqlite:  # the WAL was copied into the database file (and synced) on the way out
            phase("checkpoint")
        out.rebuild_seconds = time.perf_counter() - started  # indexes, rollups, commit, checkpoint
    return out


def _drop_indexes(conn: Connection) -> list[Index]:
    """Drop the secondary indexes of the bulk tables that are still empty (rebuilt after loading)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    else:
        conn.exec_driver_sql("PRAGMA cache_size=-500000")
    dropped = []
    for table in BULK_TABLES:
        if conn.execute(select(literal(1)).select_from(table).limit(1)).first() is None:
            for index in table.indexes:
                index.drop(conn)
                dropped.append(index)
    return dropped


def _store(conn: Connection, out: Loaded, prepared: _Prepared, mode: str, next_id: int) -> int:
    """Write one batch's rows (all but the scans in ``writer`` mode); returns the next conversion id."""
    ws, batch = out.workload.workspace_id, prepared.batch
    if mode == "bulk":
        n_scans, n_beacons = load_day(conn, batch, prepared.ready)
    else:
        beacons = batch.beacons
        n_scans, n_beacons = len(batch.day.ts), bulk.load(conn, beacon_events, beacons)
        add_beacons(conn, [(b[0], b[1]) for b in beacons])
    bulk.load(conn, identities, batch.identities)
    seed = out.workload.spec.seed
    rows = [
        conversion_row(next_id + i, ws, c, v, seed)
        for i, (c, v) in enumerate(zip(batch.conversions, prepared.reporting, strict=True))
    ]
    bulk.load(conn, conversions, rows)
    bulk.reset_sequence(conn, conversions)
    if rows and mode == "bulk":
        bulk.load(conn, attribution_credits, [(next_id + r[0], *r[1:]) for r in prepared.credits])
        credit_rollups = [(*r[:3], next_id + r[3], *r[4:]) for r in prepared.credit_rollups]
        bulk.load(conn, rollup_credits, credit_rollups, ready=True)
    elif rows:
        attribute(conn, ws, [r[0] for r in rows])
    out.first_id = min(out.first_id, next_id)
    out.scans += n_scans
    out.beacons += n_beacons
    out.identities += len(batch.identities)
    out.conversions += len(batch.conversions)
    return next_id + len(rows)
