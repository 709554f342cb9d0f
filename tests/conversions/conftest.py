"""Fixtures for conversion and attribution tests: a workspace with codes, and scans stored at
chosen moments through the real ``ScanWriter`` (so journeys can span days)."""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.capture.event import ScanEvent
from scanroute.domain.code import Code
from scanroute.domain.errors import Conflict
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import PlacementCreate
from scanroute.services.codes import CodeCreate
from scanroute.storage.scans import ScanWriter
from tests.conftest import Tenant
from tests.scan.conftest import anyio_backend, scanner

__all__ = ["anyio_backend", "scanner"]  # the scan-path fixtures, shared with these tests


def scan_id_at(at: datetime) -> str:
    """A scan id minted at ``at`` (same shape as ``capture.event.new_scan_id``)."""
    raw = int(at.timestamp() * 1000).to_bytes(6, "big") + os.urandom(9)
    return base64.b32hexencode(raw).decode().lower()


@dataclass
class World:
    """A tenant's workspace seen through the API and the scan writer."""

    ctr: Container
    client: TestClient
    tenant: Tenant

    @property
    def owner(self) -> Principal:
        return Principal(workspace_id=self.tenant.workspace_id, role=Role.OWNER)

    def code(self, campaign: str | None = None, placement: str | None = None, **fields: Any) -> Code:
        """A code of the tenant (campaign created on demand, placement too)."""
        if placement is not None:
            with contextlib.suppress(Conflict):  # already there
                self.ctr.placements.create(self.owner, PlacementCreate(name=placement, medium="poster"))
            fields["placement"] = placement
        if campaign is not None:
            fields["campaign"] = campaign
        fields.setdefault("destination", "https://shop.example/landing")
        return self.ctr.codes.create(self.owner, CodeCreate.model_validate(fields))

    def scan(
        self,
        code: Code,
        at: datetime,
        *,
        visitor: str | None = None,
        bot: bool = False,
        coupon: str | None = None,
        workspace_id: int | None = None,
    ) -> str:
        """Store one scan of ``code`` at ``at`` (through ``ScanWriter``); returns its id."""
        sid = scan_id_at(at)
        event = ScanEvent(
            id=sid,
            ws=workspace_id or code.workspace_id,
            slug=code.slug,
            ts=int(at.timestamp() * 1_000_000),
            outcome="redirect",
            code=code.id,
            campaign=code.campaign_id,
            placement=code.placement_id,
            creative=code.creative,
            device="mobile",
            os="iOS",
            browser="Mobile Safari",
            country="DE",
            visitor=visitor or os.urandom(16).hex(),
            bot=bot,
            coupon=coupon,
        )
        assert ScanWriter(self.ctr.db).write([event]) == 1
        return sid

    def post(self, body: dict[str, Any], role: Role = Role.OWNER, **headers: str) -> Any:
        """POST /api/v1/conversions."""
        return self.client.post(
            "/api/v1/conversions", json=body, headers={**self.tenant.auth(role), **headers}
        )

    def conversion(self, ident: int) -> dict[str, Any]:
        """GET /api/v1/conversions/{ident} (asserting 200)."""
        r = self.client.get(f"/api/v1/conversions/{ident}", headers=self.tenant.auth())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def world(ctr: Container, client: TestClient, tenant: Tenant) -> World:
    """The tenant's world; pending-scan waits are short so tests stay fast."""
    ctr.conversions.scan_wait = 0.3
    return World(ctr, client, tenant)


def now() -> datetime:
    """The current time (aware UTC), truncated to milliseconds like scan ids."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def ago(**delta: float) -> datetime:
    """A moment in the past."""
    return now() - timedelta(**delta)


def credits(body: dict[str, Any], model: str) -> dict[str, int]:
    """``scan id -> credit_ppm`` of one model in a conversion body."""
    return {c["scan_id"]: c["credit_ppm"] for c in body["credits"][model]}
