"""Forecast use case: a code's, a campaign's or the workspace's daily scans, and what comes next."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scanroute.analytics.forecast import MIN_HISTORY, TooShort, forecast
from scanroute.domain.errors import Conflict, Invalid, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import require, utcnow
from scanroute.storage import insights as store
from scanroute.storage.db import Database


class ForecastService:
    """Forecasts daily non-bot scans in the workspace's time zone."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def forecast(
        self,
        principal: Principal,
        *,
        code: str | None = None,
        campaign: str | None = None,
        horizon: int = 28,
        history: int = 112,
        level: float = 0.8,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """History (``history`` complete local days up to yesterday) and ``horizon`` days ahead."""
        require(principal, Role.VIEWER, "forecasting")
        if code is not None and campaign is not None:
            raise Invalid("give code or campaign, not both", field="campaign")
        if history < MIN_HISTORY:
            raise Invalid(f"must be at least {MIN_HISTORY} days", field="history")
        with self.db.read() as conn:
            clock = store.workspace_clock(conn, principal.workspace_id)
            by: store.Scope | None = None
            key: int | None = None
            if code is not None:
                by, key = "code", store.code_id_by_slug(conn, principal.workspace_id, code)
                if key is None:
                    raise NotFound(f"code {code!r} does not exist", field="code")
            elif campaign is not None:
                by, key = "campaign", store.campaign_id_by_ref(conn, principal.workspace_id, campaign)
                if key is None:
                    raise NotFound(f"campaign {campaign!r} does not exist", field="campaign")
            last = (now or utcnow()).astimezone(clock.zone).date() - timedelta(days=1)
            first = last - timedelta(days=history - 1)
            series = store.daily_series(conn, clock, first, last, by, 0 if by is None else key)
        values = series[0 if key is None else key]
        active = next((i for i, v in enumerate(values) if v > 0), len(values))
        values, first = values[active:], first + timedelta(days=active)  # from the first scan on
        try:
            result = forecast(values, first, horizon=horizon, level=level)
        except TooShort as exc:
            raise Conflict(f"not enough history to forecast: {exc}", field="history") from exc
        except ValueError as exc:
            raise Invalid(str(exc), field="horizon" if "horizon" in str(exc) else "level") from exc
        return {
            "timezone": clock.zone.key,
            "code": code,
            "campaign": campaign,
            "method": result.method,
            "level": result.level,
            "history": [{"date": first + timedelta(days=i), "scans": int(v)} for i, v in enumerate(values)],
            "forecast": [
                {
                    "date": p.day,
                    "expected": round(p.expected, 2),
                    "low": round(p.low, 2),
                    "high": round(p.high, 2),
                }
                for p in result.points
            ],
        }
