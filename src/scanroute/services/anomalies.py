"""Anomaly use cases: the daily scan over every code and campaign, listing, and the back-test.

Series are a workspace's non-bot scans per local day. The scan judges the last complete local
days (``CATCH_UP_DAYS``, so a missed run is made up) with ``SEASONAL_WEEKS`` weeks of history
before them; anomalies are stored once per (scope, id, day).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import Field

from scanroute.analytics.anomaly import Anomaly, DetectorConfig, detect
from scanroute.domain.errors import Invalid, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import Input, require, utcnow
from scanroute.storage import insights as store
from scanroute.storage.db import Database

CATCH_UP_DAYS = 3
SCOPES: tuple[store.Scope, ...] = ("code", "campaign")


class DetectorParams(Input):
    """Detector parameters a back-test may override (unset: the product's defaults)."""

    spike_z: float | None = Field(
        None, gt=0, le=50, description="Robust z at or above which a day is a spike."
    )
    drop_z: float | None = Field(None, gt=0, le=50, description="Robust z at or below minus this is a drop.")
    rolling_sigma: float | None = Field(None, gt=0, le=50, description="σ band of the short-history rule.")
    poisson_alpha: float | None = Field(None, gt=0, lt=0.5, description="Tail probability of the count test.")
    poisson_below: float | None = Field(
        None, ge=0, le=1e6, description="Expected scans under which the count test applies."
    )
    min_volume: float | None = Field(None, ge=0, le=1e9, description="Scans the day or baseline must reach.")
    min_change: float | None = Field(
        None, ge=0, le=100, description="Smallest relative change that may fire."
    )
    cooldown_days: int | None = Field(
        None, ge=0, le=60, description="Days a direction stays silent after firing."
    )

    def config(self) -> DetectorConfig:
        """The detector configuration: defaults overridden by the fields given."""
        return DetectorConfig(**{k: v for k, v in self.model_dump().items() if v is not None})


def _history_days(cfg: DetectorConfig) -> int:
    return 7 * cfg.seasonal_max_weeks


def _row(workspace_id: int, scope: str, key: int, a: Anomaly, now: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "scope": scope,
        "scope_id": key,
        "day": a.day,
        "direction": a.direction,
        "method": a.method,
        "observed": int(a.observed),
        "expected": round(a.expected, 4),
        "expected_low": round(a.low, 4),
        "expected_high": round(a.high, 4),
        "score": round(a.score, 4),
        "detected_at": now,
    }


class AnomalyService:
    """Finds, stores and lists anomalies."""

    def __init__(self, db: Database, config: DetectorConfig | None = None) -> None:
        self.db = db
        self.config = config or DetectorConfig()

    def _find(
        self,
        workspace_id: int,
        first: date,
        last: date,
        cfg: DetectorConfig,
        scope: store.Scope | None = None,
        only: int | None = None,
    ) -> tuple[list[tuple[str, int, Anomaly]], int]:
        """Anomalies from ``first`` to ``last`` (local days), judged with history before them, and
        how many series were judged."""
        start = first - timedelta(days=_history_days(cfg))
        found: list[tuple[str, int, Anomaly]] = []
        series = 0
        with self.db.read() as conn:
            clock = store.workspace_clock(conn, workspace_id)
            for by in (scope,) if scope else SCOPES:
                for key, values in sorted(store.daily_series(conn, clock, start, last, by, only).items()):
                    series += 1
                    # a series begins with its first scan: the days before are not history
                    lead = int(np.argmax(values > 0)) if values.any() else len(values)
                    begins = start + timedelta(days=lead)
                    judged_from = max((first - begins).days, 0)
                    for a in detect(values[lead:], begins, cfg, evaluate_from=judged_from):
                        found.append((by, key, a))
        return found, series

    def last_complete_day(self, workspace_id: int, now: datetime | None = None) -> date:
        """Yesterday in the workspace's time zone."""
        with self.db.read() as conn:
            zone = store.workspace_clock(conn, workspace_id).zone
        return (now or utcnow()).astimezone(zone).date() - timedelta(days=1)

    def scan(self, workspace_id: int, *, now: datetime | None = None, days: int = CATCH_UP_DAYS) -> int:
        """Judge the last ``days`` complete local days of every code and campaign; store what fires.
        Returns the number of new anomalies."""
        now = now or utcnow()
        last = self.last_complete_day(workspace_id, now)
        first = last - timedelta(days=days - 1)
        # the cooldown must see the days just before the judged ones
        found, _ = self._find(
            workspace_id, first - timedelta(days=self.config.cooldown_days), last, self.config
        )
        rows = [_row(workspace_id, by, key, a, now) for by, key, a in found if a.day >= first]
        with self.db.write() as conn:
            return store.insert_anomalies(conn, rows)

    def scan_all(self, *, now: datetime | None = None) -> dict[str, int]:
        """The scheduled job: every workspace; returns totals."""
        with self.db.read() as conn:
            ids = store.all_workspace_ids(conn)
        new = sum(self.scan(ws, now=now) for ws in ids)
        return {"workspaces": len(ids), "anomalies": new}

    def list(
        self,
        principal: Principal,
        *,
        first: date | None = None,
        last: date | None = None,
        scope: store.Scope | None = None,
        direction: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the workspace's anomalies, newest first."""
        require(principal, Role.VIEWER, "listing anomalies")
        if first and last and last < first:
            raise Invalid("must not be before from", field="to")
        with self.db.read() as conn:
            return store.list_anomalies(
                conn, principal.workspace_id, first=first, last=last, scope=scope, direction=direction,
                limit=limit, cursor=cursor,
            )  # fmt: skip

    def backtest(
        self,
        principal: Principal,
        *,
        days: int = 90,
        scope: store.Scope | None = None,
        code: str | None = None,
        campaign: str | None = None,
        params: DetectorParams | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """How often the detector would have fired over the last ``days`` complete days."""
        require(principal, Role.VIEWER, "back-testing anomaly detection")
        try:
            cfg = (params or DetectorParams()).config()
        except ValueError as exc:
            raise Invalid(str(exc), field="params") from exc
        only: int | None = None
        with self.db.read() as conn:
            if code is not None:
                only = store.code_id_by_slug(conn, principal.workspace_id, code)
                if only is None:
                    raise NotFound(f"code {code!r} does not exist", field="code")
                scope = "code"
            elif campaign is not None:
                only = store.campaign_id_by_ref(conn, principal.workspace_id, campaign)
                if only is None:
                    raise NotFound(f"campaign {campaign!r} does not exist", field="campaign")
                scope = "campaign"
        last = self.last_complete_day(principal.workspace_id, now)
        first = last - timedelta(days=days - 1)
        found, judged = self._find(principal.workspace_id, first, last, cfg, scope, only)
        items = [
            {"scope": by, "scope_id": key, "day": a.day, "direction": a.direction, "method": a.method,
             "observed": int(a.observed), "expected": round(a.expected, 2), "expected_low": round(a.low, 2),
             "expected_high": round(a.high, 2), "score": round(a.score, 2)}
            for by, key, a in found
        ]  # fmt: skip
        items.sort(key=lambda i: (i["day"], i["scope"], i["scope_id"]), reverse=True)
        return {
            "from": first,
            "to": last,
            "days": days,
            "fired": len(items),
            "spikes": sum(i["direction"] == "spike" for i in items),
            "drops": sum(i["direction"] == "drop" for i in items),
            "series": judged,
            "series_fired": len({(i["scope"], i["scope_id"]) for i in items}),
            "params": asdict(cfg),
            "items": items[:500],
        }
