"""REST endpoints of the insights work: anomalies (+ back-test), forecast, lead score, exports and
the live feed (server-sent events). Thin: the services answer."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from scanroute.domain.workspace import Principal, Role
from scanroute.exports import stream as exports
from scanroute.live import hub_for
from scanroute.services.anomalies import AnomalyService, DetectorParams
from scanroute.services.common import require, utcnow
from scanroute.services.forecasts import ForecastService
from scanroute.services.leadscore import LeadScoreService
from scanroute.services.timerange import resolve
from scanroute.storage.insights import workspace_clock
from scanroute.web.api.deps import Auth, Ctr

router = APIRouter()
FromQ = Annotated[
    str | None, Query(alias="from", max_length=40, description="Date (local day) or ISO date-time.")
]
ToQ = Annotated[str | None, Query(alias="to", max_length=40, description="Date (included) or ISO date-time.")]
CodeQ = Annotated[str | None, Query(max_length=64, description="Code slug.")]
CampaignQ = Annotated[str | None, Query(max_length=200, description="Campaign id or name.")]


class AnomalyOut(BaseModel):
    """A recorded anomaly."""

    id: int
    scope: Literal["code", "campaign"]
    scope_id: int
    code: str | None
    campaign: str | None
    day: date
    direction: Literal["spike", "drop"]
    method: str
    observed: int
    expected: float
    expected_low: float
    expected_high: float
    score: float
    detected_at: Any


class AnomalyPage(BaseModel):
    """A page of anomalies."""

    items: list[AnomalyOut]
    next: str | None


@router.get("/insights/anomalies", response_model=AnomalyPage, tags=["insights"])
def list_anomalies(
    who: Auth,
    ctr: Ctr,
    first: Annotated[date | None, Query(alias="from", description="First local day.")] = None,
    last: Annotated[date | None, Query(alias="to", description="Last local day (included).")] = None,
    scope: Annotated[Literal["code", "campaign"] | None, Query()] = None,
    direction: Annotated[Literal["spike", "drop"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> AnomalyPage:
    """Anomalies found by the daily scan, newest day first."""
    items, nxt = AnomalyService(ctr.db).list(
        who, first=first, last=last, scope=scope, direction=direction, limit=limit, cursor=cursor
    )
    out = [AnomalyOut(**{**i, "code": i.get("slug"), "campaign": i.get("campaign_name")}) for i in items]
    return AnomalyPage(items=out, next=nxt)


def detector_params(
    spike_z: Annotated[float | None, Query(gt=0, le=50, description="Robust z that makes a spike.")] = None,
    drop_z: Annotated[
        float | None, Query(gt=0, le=50, description="Robust z (negated) that makes a drop.")
    ] = None,
    rolling_sigma: Annotated[
        float | None, Query(gt=0, le=50, description="σ band with short history.")
    ] = None,
    poisson_alpha: Annotated[
        float | None, Query(gt=0, lt=0.5, description="Tail probability, low volume.")
    ] = None,
    poisson_below: Annotated[
        float | None, Query(ge=0, le=1e6, description="Volume below which it applies.")
    ] = None,
    min_volume: Annotated[
        float | None, Query(ge=0, le=1e9, description="Scans the day or baseline must reach.")
    ] = None,
    min_change: Annotated[float | None, Query(ge=0, le=100, description="Smallest relative change.")] = None,
    cooldown_days: Annotated[int | None, Query(ge=0, le=60, description="Silence after firing.")] = None,
) -> DetectorParams:
    """Detector parameters to try instead of the defaults."""
    return DetectorParams(
        spike_z=spike_z,
        drop_z=drop_z,
        rolling_sigma=rolling_sigma,
        poisson_alpha=poisson_alpha,
        poisson_below=poisson_below,
        min_volume=min_volume,
        min_change=min_change,
        cooldown_days=cooldown_days,
    )


@router.get("/insights/anomalies/backtest", tags=["insights"])
def backtest_anomalies(
    who: Auth,
    ctr: Ctr,
    params: Annotated[DetectorParams, Depends(detector_params)],
    days: Annotated[int, Query(ge=7, le=365, description="Complete days to look back over.")] = 90,
    scope: Annotated[Literal["code", "campaign"] | None, Query()] = None,
    code: CodeQ = None,
    campaign: CampaignQ = None,
) -> dict[str, Any]:
    """How often the detector (optionally with other parameters) would have fired."""
    return AnomalyService(ctr.db).backtest(
        who, days=days, scope=scope, code=code, campaign=campaign, params=params
    )


@router.post("/insights/anomalies/scan", tags=["insights"])
def scan_anomalies(
    who: Auth,
    ctr: Ctr,
    days: Annotated[int, Query(ge=1, le=90, description="Last complete days to judge.")] = 3,
) -> dict[str, Any]:
    """Run the anomaly scan for this workspace now (editors and above)."""
    require(who, Role.EDITOR, "running the anomaly scan")
    service = AnomalyService(ctr.db)
    return {
        "found": service.scan(who.workspace_id, days=days),
        "through": service.last_complete_day(who.workspace_id),
    }


@router.get("/insights/forecast", tags=["insights"])
def forecast(
    who: Auth,
    ctr: Ctr,
    code: CodeQ = None,
    campaign: CampaignQ = None,
    horizon: Annotated[int, Query(ge=1, le=90, description="Days to forecast.")] = 28,
    history: Annotated[int, Query(ge=14, le=730, description="Days of history to learn from.")] = 112,
    level: Annotated[Literal["0.5", "0.8", "0.9", "0.95"], Query(description="Band coverage.")] = "0.8",
) -> dict[str, Any]:
    """Daily non-bot scans (workspace time zone) and a weekly-seasonal forecast with a band."""
    return ForecastService(ctr.db).forecast(
        who, code=code, campaign=campaign, horizon=horizon, history=history, level=float(level)
    )


@router.get("/insights/leadscore/model", tags=["insights"])
def leadscore_model(who: Auth, ctr: Ctr) -> dict[str, Any]:
    """The newest model card: held-out AUC, thresholds, or why the data is too thin."""
    return LeadScoreService(ctr.db).card(who)


@router.post("/insights/leadscore/train", tags=["insights"])
def leadscore_train(who: Auth, ctr: Ctr) -> dict[str, Any]:
    """Retrain the workspace's model now (editors and above); returns its card."""
    return LeadScoreService(ctr.db).train_as(who)


@router.get("/insights/leadscore/scores", tags=["insights"])
def leadscore_scores(
    who: Auth,
    ctr: Ctr,
    start: FromQ = None,
    end: ToQ = None,
    min_score: Annotated[int, Query(ge=0, le=100)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=40, pattern=r"^[0-9a-v]{1,32}$")] = None,
) -> dict[str, Any]:
    """Scores (0–100) of the workspace's scans, newest first; 409 when the data is too thin."""
    since, until = _range(ctr, who, start, end, default_days=7)
    items, nxt = LeadScoreService(ctr.db).scores(
        who, since=since, until=until, limit=limit, cursor=cursor, min_score=min_score
    )
    return {"items": items, "next": nxt}


@router.get("/insights/leadscore/scans/{scan_id}", tags=["insights"])
def leadscore_scan(
    who: Auth, ctr: Ctr, scan_id: Annotated[str, Path(max_length=32, pattern=r"^[0-9a-v]{1,32}$")]
) -> dict[str, Any]:
    """One scan's score."""
    return LeadScoreService(ctr.db).score_scan(who, scan_id)


def _range(ctr: Any, who: Principal, start: str | None, end: str | None, *, default_days: int) -> Any:
    with ctr.db.read() as conn:
        zone = workspace_clock(conn, who.workspace_id).zone
    return resolve(start, end, zone, utcnow(), default_days=default_days)


@router.get(
    "/exports/{kind}",
    tags=["exports"],
    response_class=StreamingResponse,
    responses={200: {"content": {exports.MEDIA["csv"]: {}, exports.MEDIA["parquet"]: {}}}},
)
def export(
    who: Auth,
    ctr: Ctr,
    kind: Annotated[Literal["scans", "conversions", "attribution", "rollups"], Path()],
    start: FromQ = None,
    end: ToQ = None,
    fmt: Annotated[Literal["csv", "parquet"], Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Stream a time range (default: the last 30 days) as CSV or Parquet, in constant memory."""
    require(who, Role.VIEWER, "exporting")
    since, until = _range(ctr, who, start, end, default_days=30)
    name = f"{kind}-{since:%Y%m%dT%H%M%SZ}-{until:%Y%m%dT%H%M%SZ}.{fmt}"
    return StreamingResponse(
        exports.chunks(ctr.db, kind, fmt, who.workspace_id, since, until),
        media_type=exports.MEDIA[fmt],
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


HEARTBEAT = 15.0


@router.get(
    "/live",
    tags=["live"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    who: Auth,
    ctr: Ctr,
    bots: Annotated[
        Literal["include", "exclude", "only"], Query(description="Bot and preview scans.")
    ] = "include",
    events: Annotated[Literal["all", "scans", "conversions"], Query()] = "all",
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="Close after this many.")] = None,
    timeout: Annotated[
        float | None, Query(gt=0, le=86_400, description="Close after this many seconds.")
    ] = None,
) -> StreamingResponse:
    """Server-sent events of the workspace's new scans (``event: scan``, bots flagged with
    ``bot: true``) and conversions (``event: conversion``) as they are stored."""
    require(who, Role.VIEWER, "reading the live feed")
    sub = hub_for(ctr).subscribe(who.workspace_id)
    deadline = None if timeout is None else time.monotonic() + timeout

    def wanted(message: dict[str, Any]) -> bool:
        kind = message.get("event")
        if events != "all" and f"{kind}s" != events:
            return False
        if kind == "scan" and bots != "include":
            return bool(message["data"].get("bot")) == (bots == "only")
        return True

    async def frames() -> Any:
        sent = 0
        try:
            yield b"retry: 3000\n: connected\n\n"
            while max_events is None or sent < max_events:
                left = HEARTBEAT if deadline is None else min(HEARTBEAT, deadline - time.monotonic())
                if left <= 0:
                    return
                message = await sub.get(left)
                if message is None:
                    yield b": keep-alive\n\n"
                    continue
                if sub.dropped:
                    yield f": {sub.dropped} events dropped (client too slow)\n\n".encode()
                    sub.dropped = 0
                if wanted(message):
                    data = orjson.dumps(message["data"])
                    yield b"event: %s\nid: %s\ndata: %s\n\n" % (
                        message["event"].encode(),
                        message["id"].encode(),
                        data,
                    )
                    sent += 1
        except asyncio.CancelledError:
            raise
        finally:
            sub.close()

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
