"""The BI star schema: read-only views over the store, one DDL per dialect.

PostgreSQL: schema ``bi`` with views ``bi.fact_scan`` … ``bi.dim_device``. Each view is a
``security_barrier`` view owned by the migrating role; it shows a caller the rows of the workspace
that ``bi_roles`` maps the caller's role (``current_user``) to, and a role that is not a BI role
only what it could read from the base table anyway (the owner: everything). BI roles get SELECT on
these views and nothing else. Dates (``date`` columns) are in the workspace's time zone.

SQLite has no schemas and no roles: the same views are named ``bi_fact_scan`` …, show every
workspace (whoever can open the file can read it all) and their ``date`` columns are UTC days.

The DDL is versioned (``V1``): a migration uses one frozen version; a later change adds ``V2``.
A migration that drops or retypes a column a view reads must drop the views first and recreate
them afterwards (``drop_sql`` / ``create_sql``).
"""

# ruff: noqa: S608 - the DDL is assembled from constants only, never from input

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

VIEW_NAMES = (
    "fact_scan",
    "fact_conversion",
    "fact_attribution",
    "agg_scan_daily",
    "dim_date",
    "dim_code",
    "dim_campaign",
    "dim_placement",
    "dim_geo",
    "dim_device",
)
"""Every view, in creation order."""

DIM_DATE_FROM = "2020-01-01"
DIM_DATE_DAYS_AHEAD = 730


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one SQL dialect spells the few things that differ."""

    name: str
    prefix: str  # "bi." or "bi_"
    local_date: Callable[[str], str]  # timestamp column → its workspace-local (or UTC) date
    scope: Callable[[str, str], str]  # (alias, base table) → WHERE condition limiting rows


def _pg_scope(alias: str, table: str) -> str:
    column = "id" if table == "workspaces" else "workspace_id"
    return (
        f"({alias}.{column} = (SELECT b.workspace_id FROM bi_roles b WHERE b.role_name = current_user)"
        " OR (NOT EXISTS (SELECT 1 FROM bi_roles b WHERE b.role_name = current_user)"
        f" AND has_table_privilege('{table}'::regclass, 'SELECT')))"
    )


POSTGRES = Dialect(
    name="postgresql",
    prefix="bi.",
    local_date=lambda col: f"(({col}) AT TIME ZONE w.timezone)::date",
    scope=_pg_scope,
)
SQLITE = Dialect(
    name="sqlite",
    prefix="bi_",
    local_date=lambda col: f"date({col})",
    scope=lambda _alias, _table: "1 = 1",
)


def _key(*cols: str) -> str:
    return " || '|' || ".join(f"COALESCE({c}, '')" for c in cols)


def _views_v1(d: Dialect) -> dict[str, str]:
    """SELECT statements of version 1, by view name."""
    pg = d.name == "postgresql"
    months = [
        "January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December",
    ]  # fmt: skip
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    if pg:
        dim_date = (
            "SELECT g.d::date AS date, EXTRACT(YEAR FROM g.d)::int AS year,"
            " EXTRACT(QUARTER FROM g.d)::int AS quarter, EXTRACT(MONTH FROM g.d)::int AS month,"
            " to_char(g.d, 'FMMonth') AS month_name, EXTRACT(DAY FROM g.d)::int AS day,"
            " EXTRACT(ISOYEAR FROM g.d)::int AS iso_year, EXTRACT(WEEK FROM g.d)::int AS iso_week,"
            " EXTRACT(ISODOW FROM g.d)::int AS day_of_week, to_char(g.d, 'FMDay') AS day_name,"
            " EXTRACT(ISODOW FROM g.d) >= 6 AS is_weekend"
            f" FROM generate_series(DATE '{DIM_DATE_FROM}', CURRENT_DATE + {DIM_DATE_DAYS_AHEAD},"
            " INTERVAL '1 day') AS g(d)"
        )
    else:
        month_case = " ".join(f"WHEN {i + 1} THEN '{m}'" for i, m in enumerate(months))
        day_case = " ".join(f"WHEN {i + 1} THEN '{n}'" for i, n in enumerate(days))
        dow = "((CAST(strftime('%w', d.date) AS INTEGER) + 6) % 7 + 1)"
        thursday = "date(d.date, '-3 days', 'weekday 4')"
        dim_date = (
            f"WITH RECURSIVE d(date) AS (SELECT '{DIM_DATE_FROM}' UNION ALL"
            " SELECT date(d.date, '+1 day') FROM d"
            f" WHERE d.date < date('now', '+{DIM_DATE_DAYS_AHEAD} days'))"
            " SELECT d.date AS date, CAST(strftime('%Y', d.date) AS INTEGER) AS year,"
            " (CAST(strftime('%m', d.date) AS INTEGER) + 2) / 3 AS quarter,"
            " CAST(strftime('%m', d.date) AS INTEGER) AS month,"
            f" CASE CAST(strftime('%m', d.date) AS INTEGER) {month_case} END AS month_name,"
            " CAST(strftime('%d', d.date) AS INTEGER) AS day,"
            f" CAST(strftime('%Y', {thursday}) AS INTEGER) AS iso_year,"
            f" (CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1 AS iso_week,"
            f" {dow} AS day_of_week, CASE {dow} {day_case} END AS day_name,"
            f" {dow} >= 6 AS is_weekend FROM d"
        )
    return {
        "fact_scan": (
            "SELECT s.id AS scan_id, s.workspace_id, s.ts, "
            f"{d.local_date('s.ts')} AS date, s.code_id, s.slug, s.campaign_id, s.placement_id,"
            " s.creative, s.outcome, s.rule_index, s.variant, s.device, s.os, s.browser, s.language,"
            " s.country, s.region, s.city,"
            f" {_key('s.country', 's.region', 's.city')} AS geo_key,"
            f" {_key('s.device', 's.os', 's.browser')} AS device_key,"
            " s.visitor, s.is_returning, s.is_bot, s.bot_kind, s.referer_host, s.tracking_refused"
            f" FROM scans s JOIN workspaces w ON w.id = s.workspace_id WHERE {d.scope('s', 'scans')}"
        ),
        "fact_conversion": (
            "SELECT c.id AS conversion_id, c.workspace_id, c.scan_id, c.type, c.occurred_at,"
            f" {d.local_date('c.occurred_at')} AS date, c.value_minor, c.currency,"
            " c.value_reporting_minor, w.currency AS reporting_currency, c.order_id, c.coupon_code,"
            " c.source, c.code_id, c.campaign_id, c.placement_id, c.creative"
            " FROM conversions c JOIN workspaces w ON w.id = c.workspace_id"
            f" WHERE {d.scope('c', 'conversions')}"
        ),
        "fact_attribution": (
            "SELECT a.conversion_id, a.model, a.scan_id, a.workspace_id, a.credit_ppm,"
            " a.credit_ppm / 1000000.0 AS credit, a.value_minor, w.currency AS currency,"
            " a.code_id, a.campaign_id, a.placement_id, a.creative, a.touch_at, a.converted_at,"
            f" {d.local_date('a.converted_at')} AS date"
            " FROM attribution_credits a JOIN workspaces w ON w.id = a.workspace_id"
            f" WHERE {d.scope('a', 'attribution_credits')}"
        ),
        "agg_scan_daily": (
            f"SELECT r.workspace_id, {d.local_date('r.hour')} AS date,"
            " NULLIF(r.code_id, 0) AS code_id, NULLIF(r.campaign_id, 0) AS campaign_id,"
            " NULLIF(r.placement_id, 0) AS placement_id, NULLIF(r.creative, '') AS creative,"
            " NULLIF(r.device, '') AS device, NULLIF(r.os, '') AS os,"
            " NULLIF(r.browser, '') AS browser, NULLIF(r.country, '') AS country,"
            " r.device || '|' || r.os || '|' || r.browser AS device_key, r.is_bot,"
            " SUM(r.scans) AS scans, SUM(r.returning_scans) AS returning_scans"
            " FROM rollup_hourly r JOIN workspaces w ON w.id = r.workspace_id"
            f" WHERE {d.scope('r', 'rollup_hourly')}"
            f" GROUP BY r.workspace_id, {d.local_date('r.hour')}, r.code_id, r.campaign_id,"
            " r.placement_id, r.creative, r.device, r.os, r.browser, r.country, r.is_bot"
        ),
        "dim_date": dim_date,
        "dim_code": (
            "SELECT c.id AS code_id, c.workspace_id, c.slug, c.domain, c.title, c.kind, c.status,"
            " c.campaign_id, c.placement_id, c.creative, c.destination, c.created_at"
            f" FROM codes c WHERE {d.scope('c', 'codes')}"
        ),
        "dim_campaign": (
            "SELECT c.id AS campaign_id, c.workspace_id, c.name, c.goal, c.starts_on, c.ends_on,"
            " c.budget_minor, c.spend_minor, c.currency, c.created_at"
            f" FROM campaigns c WHERE {d.scope('c', 'campaigns')}"
        ),
        "dim_placement": (
            "SELECT p.id AS placement_id, p.workspace_id, p.name, p.medium, p.location_name,"
            " p.address, p.city, p.country, p.latitude, p.longitude, p.print_run,"
            " p.print_cost_minor, p.currency, p.installed_on, p.removed_on"
            f" FROM placements p WHERE {d.scope('p', 'placements')}"
        ),
        "dim_geo": (
            f"SELECT DISTINCT s.workspace_id, {_key('s.country', 's.region', 's.city')} AS geo_key,"
            " s.country, s.region, s.city"
            f" FROM scans s WHERE {d.scope('s', 'scans')}"
        ),
        "dim_device": (
            "SELECT DISTINCT r.workspace_id, r.device || '|' || r.os || '|' || r.browser AS device_key,"
            " NULLIF(r.device, '') AS device, NULLIF(r.os, '') AS os, NULLIF(r.browser, '') AS browser"
            f" FROM rollup_hourly r WHERE {d.scope('r', 'rollup_hourly')}"
        ),
    }


def dialect_for(name: str) -> Dialect:
    """The dialect description for ``sqlite`` or ``postgresql``."""
    return POSTGRES if name == "postgresql" else SQLITE


def create_sql(dialect: str, version: int = 1) -> list[str]:
    """Statements that create the views (and, on PostgreSQL, the ``bi`` schema)."""
    if version != 1:
        raise ValueError(f"unknown bi views version {version}")
    d = dialect_for(dialect)
    views = _views_v1(d)
    out = ["CREATE SCHEMA IF NOT EXISTS bi"] if d.name == "postgresql" else []
    options = " WITH (security_barrier = true)" if d.name == "postgresql" else ""
    for name in VIEW_NAMES:
        out.append(f"CREATE VIEW {d.prefix}{name}{options} AS {views[name]}")
    return out


def drop_sql(dialect: str) -> list[str]:
    """Statements that drop every view (reverse order)."""
    d = dialect_for(dialect)
    return [f"DROP VIEW IF EXISTS {d.prefix}{name}" for name in reversed(VIEW_NAMES)]


def qualified(dialect: str, name: str) -> str:
    """The name to select from: ``bi.fact_scan`` on PostgreSQL, ``bi_fact_scan`` on SQLite."""
    if name not in VIEW_NAMES:
        raise ValueError(f"unknown bi view {name!r}")
    return f"{dialect_for(dialect).prefix}{name}"
