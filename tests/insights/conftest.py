"""Helpers for the insights tests: codes, stored scans (through the real writer) and daily rollups."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, update

from scanroute.bootstrap import Container
from scanroute.capture.event import ScanEvent
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import conversions, rollup_hourly, workspaces

_ids = itertools.count(1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def owner(workspace_id: int) -> Principal:
    return Principal(workspace_id=workspace_id, role=Role.OWNER)


def make_code(ctr: Container, workspace_id: int, slug: str, **fields: Any) -> int:
    code = ctr.codes.create(
        owner(workspace_id), CodeCreate(destination="https://example.com/", slug=slug, **fields)
    )
    return int(code.id)


def set_timezone(ctr: Container, workspace_id: int, tz: str) -> None:
    with ctr.db.write() as conn:
        conn.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(timezone=tz))


def scan_id(ts: datetime) -> str:
    """A time-ordered scan id like the real ones (ms clock + counter instead of random bits)."""
    import base64

    raw = (int(ts.timestamp() * 1000)).to_bytes(6, "big") + next(_ids).to_bytes(9, "big")
    return base64.b32hexencode(raw).decode().lower()


def event(ws: int, code: int | None, ts: datetime, **fields: Any) -> ScanEvent:
    values: dict[str, Any] = {
        "id": scan_id(ts),
        "ws": ws,
        "slug": "s",
        "ts": int(ts.timestamp() * 1_000_000),
        "outcome": "redirect",
        "code": code,
        "device": "mobile",
        "os": "iOS",
        "browser": "Safari",
        "country": "DE",
        "ip_net": "203.0.113.0",
        "visitor": "v" * 32,
    }
    values.update(fields)
    return ScanEvent(**values)


def store(ctr: Container, events: Sequence[ScanEvent]) -> int:
    return ScanWriter(ctr.db).write(list(events))


def seed_daily(
    ctr: Container,
    workspace_id: int,
    counts: Sequence[float],
    first: date,
    *,
    code_id: int = 0,
    campaign_id: int = 0,
    zone: str = "UTC",
    bots: int = 0,
) -> None:
    """Put each day's count into rollup_hourly at local noon (plus ``bots`` bot scans a day)."""
    tz = ZoneInfo(zone)
    rows = []
    for i, n in enumerate(counts):
        noon = datetime.combine(first + timedelta(days=i), time(12), tz).astimezone(UTC)
        for is_bot, value in ((False, int(n)), (True, bots)):
            if value:
                rows.append(
                    {
                        "workspace_id": workspace_id, "hour": noon, "code_id": code_id,
                        "campaign_id": campaign_id, "placement_id": 0, "creative": "", "device": "",
                        "os": "", "browser": "", "country": "", "is_bot": is_bot, "scans": value,
                        "returning_scans": 0,
                    }
                )  # fmt: skip
    with ctr.db.write() as conn:
        conn.execute(insert(rollup_hourly), rows)


def add_conversion(ctr: Container, workspace_id: int, scan: str | None, at: datetime, **fields: Any) -> int:
    values: dict[str, Any] = {
        "workspace_id": workspace_id,
        "scan_id": scan,
        "type": "purchase",
        "metadata": {},
        "occurred_at": at,
        "created_at": at,
        "request_hash": "h" * 64,
        "source": "api",
    }
    values.update(fields)
    with ctr.db.write() as conn:
        return int(
            conn.execute(insert(conversions).values(**values).returning(conversions.c.id)).scalar_one()
        )
