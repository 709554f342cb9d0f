"""Row-level security on PostgreSQL: the second wall between workspaces.

Every tenant table gets RLS enabled (not forced) and one permissive policy ``bi_workspace``:
a role that ``bi_roles`` maps to a workspace sees (and could touch) only that workspace's rows;
any other role is not limited by the policy. The application connects as the owner of the tables,
which RLS does not apply to unless forced, so the scan path (``COPY`` included) is unaffected.

BI roles are never granted the base tables (they read the ``bi`` views only); the policy is what
still holds if somebody grants them a table by mistake. The mapping is read through the
``SECURITY DEFINER`` function ``bi_workspace_of(role)`` so that callers need no access to
``bi_roles`` itself.
"""

# ruff: noqa: S608 - the DDL is assembled from constants only, never from input

from __future__ import annotations

RLS_TABLES = (
    "workspaces",
    "campaigns",
    "placements",
    "codes",
    "scans",
    "rollup_hourly",
    "daily_visitors",
    "conversions",
    "identities",
    "attribution_credits",
    "coupons",
    "beacon_events",
    "anomalies",
    "lead_models",
)
"""Tables with row-level security (``workspaces`` is keyed by ``id``, the others by ``workspace_id``)."""

POLICY = "bi_workspace"
FUNCTION = "bi_workspace_of"


def create_sql(version: int = 1) -> list[str]:
    """Statements of ``version`` (1, frozen: migration 0006 uses it): the mapping function, RLS
    and one policy per table."""
    if version != 1:
        raise ValueError(f"unknown row-level security version {version}")
    out = [
        f"CREATE OR REPLACE FUNCTION {FUNCTION}(role_name name) RETURNS integer"
        " LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT"
        " AS $$ SELECT b.workspace_id FROM bi_roles b WHERE b.role_name = $1 $$"
    ]
    for table in RLS_TABLES:
        column = "id" if table == "workspaces" else "workspace_id"
        mapped = f"(SELECT {FUNCTION}(current_user))"
        out.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        out.append(f"CREATE POLICY {POLICY} ON {table} USING ({mapped} IS NULL OR {column} = {mapped})")
    return out


def drop_sql() -> list[str]:
    """Statements that undo ``create_sql``."""
    out: list[str] = []
    for table in reversed(RLS_TABLES):
        out.append(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        out.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    out.append(f"DROP FUNCTION IF EXISTS {FUNCTION}(name)")
    return out
