"""What the pages ask the analytics and insights services, in JSON-ready form.

Pages call the same services as ``/api/v1/analytics`` (no second path to the data). A widget
whose question fails — a service error, or too little history for a forecast — answers ``None``
(with the reason logged) so that the rest of the page still renders and the widget shows why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from scanroute.bootstrap import Container
from scanroute.domain.errors import DomainError
from scanroute.domain.workspace import Principal, Workspace
from scanroute.services.analytics import AnalyticsService, Ask

log = logging.getLogger("scanroute.dashboard")
T = TypeVar("T")
PERIODS = (7, 30, 90)
BREAKDOWN_LIMIT = 6


@dataclass(frozen=True, slots=True)
class Period:
    """A window of local days of the workspace, ending today."""

    days: int
    first: date
    last: date

    @classmethod
    def ending_today(cls, ws: Workspace, days: int | None) -> Period:
        """The last ``days`` days (one of ``PERIODS``; 30 otherwise) in the workspace's time zone."""
        n = days if days in PERIODS else 30
        today = datetime.now(ZoneInfo(ws.timezone)).date()
        return cls(n, today - timedelta(days=n - 1), today)


def attempt(what: str, call: Callable[[], T]) -> T | None:
    """``call()``, or ``None`` when it raises (logged; domain errors at INFO, others with a trace)."""
    try:
        return call()
    except DomainError as exc:
        log.info("dashboard: %s unavailable: %s", what, exc.detail)
    except Exception:
        log.exception("dashboard: %s failed", what)
    return None


def dump(model: BaseModel | None) -> dict[str, Any] | None:
    """A result as plain JSON data (aliases applied: ``from`` …)."""
    return None if model is None else model.model_dump(mode="json", by_alias=True)


class Insights:
    """The analytics questions of one request: the caller, the window and optional filters."""

    def __init__(self, ctr: Container, principal: Principal, period: Period, **filters: str) -> None:
        self.svc = AnalyticsService(ctr.db)
        self.ctr = ctr
        self.who = principal
        self.ask = Ask(first=period.first, last=period.last, compare="previous", **filters)

    def summary(self) -> dict[str, Any] | None:
        """KPIs with the previous period and the relative change."""
        return dump(attempt("summary", lambda: self.svc.summary(self.who, self.ask)))

    def series(self) -> dict[str, Any] | None:
        """Daily KPIs of the window and of the previous one."""
        return dump(attempt("timeseries", lambda: self.svc.timeseries(self.who, self.ask, "day")))

    def breakdown(self, by: str, limit: int = BREAKDOWN_LIMIT) -> dict[str, Any] | None:
        """KPIs per group (the rest summed into one row)."""
        return dump(attempt(f"breakdown by {by}", lambda: self.svc.breakdown(self.who, self.ask, by, limit)))

    def by_key(self, by: str) -> dict[str, dict[str, Any]] | None:
        """Every group's KPIs by its key (campaign/placement id as text, code slug …)."""
        table = self.breakdown(by, limit=1000)
        return None if table is None else {row["key"]: row for row in table["rows"]}

    def funnel(self) -> dict[str, Any] | None:
        """scan → arrived → engaged → lead → customer."""
        return dump(attempt("funnel", lambda: self.svc.funnel(self.who, self.ask)))

    def attribution(self, model: str | None, by: str = "campaign") -> dict[str, Any] | None:
        """Credit per group under one model, with every model's totals."""
        return dump(
            attempt(f"attribution {model}", lambda: self.svc.attribution(self.who, self.ask, model, by))
        )

    def forecast(self, *, code: str | None = None, campaign: str | None = None) -> dict[str, Any] | None:
        """Daily scans ahead with an uncertainty band (``None`` with too little history)."""
        from scanroute.services.forecasts import ForecastService

        def run() -> dict[str, Any]:
            return ForecastService(self.ctr.db).forecast(self.who, code=code, campaign=campaign, horizon=14)

        result = attempt("forecast", run)
        return _jsonable(result) if result is not None else None

    def anomalies(self) -> list[dict[str, Any]]:
        """Unusual days of codes and campaigns inside the window."""
        from scanroute.services.anomalies import AnomalyService

        def run() -> list[dict[str, Any]]:
            items, _ = AnomalyService(self.ctr.db).list(
                self.who, first=self.ask.first, last=self.ask.last, limit=100
            )
            return items

        return [_jsonable(a) for a in attempt("anomalies", run) or []]


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, date | datetime):
            out[key] = value.isoformat()
        elif isinstance(value, list):
            out[key] = [_jsonable(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, dict):
            out[key] = _jsonable(value)
        else:
            out[key] = value
    return out
