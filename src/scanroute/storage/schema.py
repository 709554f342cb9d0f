"""The declared database schema (SQLAlchemy Core). Alembic migrations must produce exactly this.

Money is stored in integer minor units with its ISO 4217 currency. Every tenant-owned table
carries ``workspace_id``; stores always filter on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from scanroute.storage.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ROLES = ("owner", "admin", "editor", "viewer")

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attribution_model", String(12), nullable=False, server_default="last"),
    Column("lookback_days", SmallInteger, nullable=False, server_default="30"),
    Column("pixel_secret", String(64), nullable=False, server_default=""),
    Column("half_life_hours", SmallInteger, nullable=False, server_default="168"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("role IN ('owner','admin','editor','viewer')", name="role"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    CheckConstraint("role IN ('owner','admin','editor','viewer')", name="role"),
    Index(None, "workspace_id"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("goal", String(500), nullable=False, server_default=""),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("budget_minor", BigInteger),
    Column("spend_minor", BigInteger, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("utm", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

placements = Table(
    "placements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("medium", String(40), nullable=False),
    Column("location_name", String(200), nullable=False, server_default=""),
    Column("address", String(500), nullable=False, server_default=""),
    Column("city", String(120), nullable=False, server_default=""),
    Column("country", String(2)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("print_run", Integer),
    Column("print_cost_minor", BigInteger, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("installed_on", Date),
    Column("removed_on", Date),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

codes = Table(
    "codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("domain", String(253), nullable=False, server_default=""),
    Column("slug", String(64), nullable=False),
    Column("kind", String(10), nullable=False, server_default="dynamic"),
    Column("destination", Text),
    Column("payload", Text),
    Column("status", String(10), nullable=False, server_default="active"),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="SET NULL")),
    Column("placement_id", Integer, ForeignKey("placements.id", ondelete="SET NULL")),
    Column("creative", String(100)),
    Column("title", String(200), nullable=False, server_default=""),
    Column("tags", JSON, nullable=False),
    Column("utm", JSON, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("scan_limit", Integer),
    Column("fallback_url", Text),
    Column("timezone", String(64)),
    Column("rules", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("payload_type", String(16)),
    Column("design", JSON),
    Column("template_id", Integer),
    Column("qa", JSON),
    UniqueConstraint("domain", "slug"),
    CheckConstraint("status IN ('active','paused','archived')", name="status"),
    CheckConstraint("kind IN ('dynamic','static')", name="kind"),
    Index(None, "workspace_id", "id"),
    Index(None, "updated_at"),
)

# Raw scan events: one row per request to a code (bots and orphans included, flagged).
# No raw IP ever: only the /24 or /48 network. Dimensions are copied at scan time.
scans = Table(
    "scans",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workspace_id", Integer, nullable=False),
    Column("code_id", Integer),
    Column("slug", String(64), nullable=False),
    Column("ts", UtcDateTime, nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("destination", Text),
    Column("rule_index", SmallInteger),
    Column("variant", String(100)),
    Column("campaign_id", Integer),
    Column("placement_id", Integer),
    Column("creative", String(100)),
    Column("device", String(10)),
    Column("os", String(40)),
    Column("browser", String(60)),
    Column("language", String(20)),
    Column("country", String(2)),
    Column("region", String(120)),
    Column("city", String(120)),
    Column("asn", Integer),
    Column("ip_net", String(45)),
    Column("visitor", String(32)),
    Column("is_returning", Boolean, nullable=False, server_default="0"),
    Column("is_bot", Boolean, nullable=False, server_default="0"),
    Column("bot_kind", String(10)),
    Column("referer_host", String(253)),
    Column("tracking_refused", Boolean, nullable=False, server_default="0"),
    Index(None, "workspace_id", "ts"),
    Index(None, "code_id", "ts"),
    Index(None, "workspace_id", "visitor", "code_id", "ts"),
)

# Hourly rollup maintained by the drainer in the same transaction as the raw rows.
rollup_hourly = Table(
    "rollup_hourly",
    metadata,
    Column("workspace_id", Integer, primary_key=True),
    Column("hour", UtcDateTime, primary_key=True),
    Column("code_id", Integer, primary_key=True),
    Column("campaign_id", Integer, primary_key=True),
    Column("placement_id", Integer, primary_key=True),
    Column("creative", String(100), primary_key=True),
    Column("device", String(10), primary_key=True),
    Column("os", String(40), primary_key=True),
    Column("browser", String(60), primary_key=True),
    Column("country", String(2), primary_key=True),
    Column("is_bot", Boolean, primary_key=True),
    Column("scans", BigInteger, nullable=False),
    Column("returning_scans", BigInteger, nullable=False),
    Index(None, "workspace_id", "hour"),
)

# Exact daily unique visitors: one row per (workspace, UTC day, code, visitor hash).
daily_visitors = Table(
    "daily_visitors",
    metadata,
    Column("workspace_id", Integer, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("code_id", Integer, primary_key=True),
    Column("visitor", String(32), primary_key=True),
    Column("scans", Integer, nullable=False),
)

# Routing state shared by workers: a visitor's scans of a code (while the hash lasts) and
# how many uses each offer cap has taken.
visitor_history = Table(
    "visitor_history",
    metadata,
    Column("code_id", Integer, primary_key=True),
    Column("visitor", String(32), primary_key=True),
    Column("scans", Integer, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
)

cap_usage = Table(
    "cap_usage",
    metadata,
    Column("code_id", Integer, primary_key=True),
    Column("cap_key", String(20), primary_key=True),
    Column("used", BigInteger, nullable=False),
)

# Daily visitor-hash salts: today's and yesterday's kept, older ones destroyed.
salts = Table(
    "salts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("salt", LargeBinary(32), nullable=False),
)

# Append-only log of code changes (including deletes): workers poll its max id to invalidate
# their route caches; Redis pub/sub or PostgreSQL NOTIFY only make that faster.
code_changes = Table(
    "code_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain", String(253), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)


# -- QR studio ------------------------------------------------------------------------------------

qr_templates = Table(
    "qr_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("design", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

logos = Table(
    "logos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("mime", String(40), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "sha256"),
)

# Long-running work (bulk print runs, exports …) that the API starts and clients poll.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("progress", Integer, nullable=False, server_default="0"),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("params", JSON, nullable=False),
    Column("result", JSON),
    Column("error", Text),
    Column("file_path", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "workspace_id", "created_at"),
)

# -- conversions and attribution -------------------------------------------------------------------

conversions = Table(
    "conversions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("scan_id", String(32)),
    Column("type", String(40), nullable=False),
    Column("value_minor", BigInteger),
    Column("currency", String(3)),
    Column("value_reporting_minor", BigInteger),
    Column("external_id", String(200)),
    Column("order_id", String(200)),
    Column("coupon_code", String(40)),
    Column("metadata", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(255)),
    Column("request_hash", String(64), nullable=False),
    Column("source", String(12), nullable=False),
    Column("code_id", Integer),
    Column("campaign_id", Integer),
    Column("placement_id", Integer),
    Column("creative", String(100)),
    UniqueConstraint("workspace_id", "idempotency_key"),
    Index(None, "workspace_id", "occurred_at"),
    Index(None, "workspace_id", "external_id"),
    Index(None, "scan_id"),
)

# A scan (and the visitor hash behind it) linked to a customer id of the user's own systems.
identities = Table(
    "identities",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("scan_id", String(32), primary_key=True),
    Column("external_id", String(200), nullable=False),
    Column("visitor", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "workspace_id", "external_id"),
)

# One row per (conversion, model, touch): credit in parts per million and value in the
# workspace's reporting currency, both summing exactly to the conversion.
attribution_credits = Table(
    "attribution_credits",
    metadata,
    Column("conversion_id", Integer, ForeignKey("conversions.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(12), primary_key=True),
    Column("scan_id", String(32), primary_key=True),
    Column("workspace_id", Integer, nullable=False),
    Column("credit_ppm", Integer, nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("code_id", Integer),
    Column("campaign_id", Integer),
    Column("placement_id", Integer),
    Column("creative", String(100)),
    Column("touch_at", UtcDateTime, nullable=False),
    Column("converted_at", UtcDateTime, nullable=False),
    Index(None, "workspace_id", "model", "converted_at"),
)

coupons = Table(
    "coupons",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("scan_id", String(32), nullable=False),
    Column("code_id", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("redeemed_at", UtcDateTime),
    Column("conversion_id", Integer),
    Index(None, "workspace_id", "scan_id"),
)

# Landing-page beacon: "arrived" and engagement steps per scan (first time kept, max value).
beacon_events = Table(
    "beacon_events",
    metadata,
    Column("scan_id", String(32), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("workspace_id", Integer, nullable=False),
    Column("value", Float),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "workspace_id", "at"),
)

# Exchange rates the user maintains: units of the reporting currency per one unit of `currency`.
fx_rates = Table(
    "fx_rates",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("rate", Numeric(24, 12), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Scan ids that conversions or identify links named before the drainer had stored the scan: when
# ``ScanWriter`` stores one, the conversions that depend on it are attributed (migration 0004).
attribution_pending = Table(
    "attribution_pending",
    metadata,
    Column("scan_id", String(32), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)


# -- insights: anomalies, lead-score models, scheduled jobs, BI roles -------------------------------

# Unusual days of a code's or campaign's daily (non-bot) scans, found by the anomaly scan job.
anomalies = Table(
    "anomalies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("scope_id", Integer, nullable=False),
    Column("day", Date, nullable=False),
    Column("direction", String(5), nullable=False),
    Column("method", String(10), nullable=False),
    Column("observed", BigInteger, nullable=False),
    Column("expected", Float, nullable=False),
    Column("expected_low", Float, nullable=False),
    Column("expected_high", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "scope", "scope_id", "day"),
    CheckConstraint("scope IN ('code','campaign')", name="scope"),
    CheckConstraint("direction IN ('spike','drop')", name="direction"),
    Index(None, "workspace_id", "day"),
)

# Lead-score models per workspace: the newest row is current; ``model`` holds plain JSON weights.
lead_models = Table(
    "lead_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("card", JSON, nullable=False),
    Column("model", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "workspace_id", "created_at"),
)

# Scheduled job runs (history) and leases that make one process run a job at a time.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("trigger", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("holder", String(120), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("result", JSON),
    Column("error", Text),
    Index(None, "name", "started_at"),
)

job_locks = Table(
    "job_locks",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("holder", String(120), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# PostgreSQL login roles made by ``scanroute bi grant``: each sees one workspace through the bi views.
bi_roles = Table(
    "bi_roles",
    metadata,
    Column("role_name", String(63), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


# -- analytics rollups (local time of the workspace) ----------------------------------------------
# Time keys are integers in the workspace's time zone: ``day`` = local days since 1970-01-01 and
# ``hour`` = local hours since 1970-01-01 00:00 (wall clock; a repeated DST hour shares one
# bucket). "None" dimension values are stored as 0 (ids) or '' (text) so they can be keys.
# A unique visitor is a (UTC day, code, visitor hash) of ``daily_visitors``, counted on the row
# of its first scan; it is "returning" from its second scan that day, counted on that scan's row.

ROLLUP_METRICS = ("scans", "bot_scans", "visitors", "returning_visitors", "arrived", "engaged")
_CODE_KEYS = ("code_id", "campaign_id", "placement_id", "creative")
_TEXT_KEYS = {
    "creative": 100,
    "device": 10,
    "os": 40,
    "browser": 60,
    "country": 2,
    "region": 120,
    "city": 120,
}


def _rollup_table(name: str, time_key: str, *dims: str, codes: bool = True) -> Table:
    keys: list[Column[Any]] = [Column(k, Integer, primary_key=True) for k in ("workspace_id", time_key)]
    for key in (*(_CODE_KEYS if codes else ()), *dims):
        if key in _TEXT_KEYS:
            keys.append(Column(key, String(_TEXT_KEYS[key]), primary_key=True))
        else:
            keys.append(Column(key, Integer, primary_key=True))
    metrics = [Column(m, BigInteger, nullable=False) for m in ROLLUP_METRICS]
    return Table(name, metadata, *keys, *metrics, sqlite_with_rowid=False)


rollup_day_codes = _rollup_table("rollup_day_codes", "day")
rollup_hour_codes = _rollup_table("rollup_hour_codes", "hour")
rollup_day_dims = _rollup_table("rollup_day_dims", "day", "device", "os", "browser", "country")
rollup_hour_dims = _rollup_table("rollup_hour_dims", "hour", "device", "country")
rollup_day_geo = _rollup_table("rollup_day_geo", "day", "country", "region", "city")
# Workspace-wide: device, OS, browser and country per day without the code keys (a breakdown
# over every code reads a few rows per day here instead of one per code and combination).
rollup_day_devices = _rollup_table(
    "rollup_day_devices", "day", "device", "os", "browser", "country", codes=False
)
# Code keys × country per day: a breakdown by campaign, placement, code or creative with a
# country filter (or by country within one campaign) reads ~a row per code and country a day
# here instead of every device/OS/browser combination of ``rollup_day_dims``.
rollup_day_countries = _rollup_table("rollup_day_countries", "day", "country")
# Workspace-wide per local hour: an hourly series or hour-of-day breakdown over every code reads
# one row per hour here instead of one per code and hour.
rollup_hours = _rollup_table("rollup_hours", "hour", codes=False)
# Every scan rollup in local time, smallest first: a query reads the first one that holds every
# column it needs; the drainer, the bulk loader and ``analytics rebuild`` keep all of them.
SCAN_ROLLUPS = (
    rollup_day_codes,
    rollup_hours,
    rollup_hour_codes,
    rollup_day_devices,
    rollup_day_countries,
    rollup_day_dims,
    rollup_hour_dims,
    rollup_day_geo,
)

# Attribution credit with the touch's scan dimensions and the conversion's local day and hour:
# one row per ``attribution_credits`` row, kept in step by ``storage.rollups.sync_credits``.
rollup_credits = Table(
    "rollup_credits",
    metadata,
    Column("workspace_id", Integer, primary_key=True),
    Column("model", String(12), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("conversion_id", Integer, primary_key=True),
    Column("scan_id", String(32), primary_key=True),
    Column("hour", Integer, nullable=False),
    Column("code_id", Integer, nullable=False),
    Column("campaign_id", Integer, nullable=False),
    Column("placement_id", Integer, nullable=False),
    Column("creative", String(100), nullable=False),
    Column("device", String(10), nullable=False),
    Column("os", String(40), nullable=False),
    Column("browser", String(60), nullable=False),
    Column("country", String(2), nullable=False),
    Column("region", String(120), nullable=False),
    Column("city", String(120), nullable=False),
    Column("credit_ppm", Integer, nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("is_order", Boolean, nullable=False),
    Index(None, "conversion_id"),
    sqlite_with_rowid=False,
)

# ``rollup_credits`` summed per model and local day or hour over fewer dimensions: what credit
# totals, groups and series read instead of one row per credit (``analytics.query`` takes the
# smallest that holds the columns a question needs). Kept by ``storage.rollups.regroup_credits``.
CREDIT_METRICS = ("credit_ppm", "order_ppm", "value_minor")


def _credit_table(name: str, *keys: str) -> Table:
    return Table(
        name,
        metadata,
        *[Column(k, rollup_credits.c[k].type, primary_key=True) for k in ("workspace_id", "model", *keys)],
        *[Column(m, BigInteger, nullable=False) for m in CREDIT_METRICS],
        sqlite_with_rowid=False,
    )


rollup_credit_days = _credit_table(
    "rollup_credit_days", "day", "code_id", "campaign_id", "placement_id", "creative", "device", "country"
)
rollup_credit_hours = _credit_table(
    "rollup_credit_hours", "hour", "code_id", "campaign_id", "placement_id", "creative"
)
rollup_credit_devices = _credit_table("rollup_credit_devices", "day", "device", "os", "browser", "country")
rollup_credit_geo = _credit_table("rollup_credit_geo", "day", "country", "region", "city")
CREDIT_AGGREGATES = (rollup_credit_days, rollup_credit_hours, rollup_credit_devices, rollup_credit_geo)


# -- dashboard: server-side user sessions and failed-login throttling -----------------------------

# A signed-in browser: the cookie carries a random token, only its keyed hash is stored here.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="SET NULL")),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
)

# Failed dashboard logins per client address (rows older than the window are deleted).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "address", "at"),
)
