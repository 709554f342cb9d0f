"""The rule simulator: where would this kind of visitor go, at this time? (No scan is recorded.)"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from scanroute.domain.code import CodeKind
from scanroute.domain.errors import Invalid
from scanroute.domain.visit import DeviceType, Visit
from scanroute.domain.workspace import Principal
from scanroute.routing import RoutingState, build_destination, compile_code, merge_utm, resolve
from scanroute.services.codes import CodeService
from scanroute.services.common import Input
from scanroute.storage.catalog import campaign_table
from scanroute.storage.tenants import WorkspaceStore

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)]


class SimulateRequest(Input):
    """A described visit: every field optional."""

    device: DeviceType = DeviceType.MOBILE
    os: Short | None = Field(None, description="iOS, Android, Windows, macOS, Linux, ChromeOS …")
    browser: Short | None = None
    language: Short | None = Field(None, description="Preferred language tag, e.g. de-DE.")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)] | None = None
    region: Short | None = None
    city: Short | None = None
    ip: Short | None = None
    query: dict[Short, Short] = Field(default_factory=dict, max_length=20)
    at: datetime | None = Field(None, description="When (with offset); default now.")
    visitor: Literal["first", "returning"] = "first"
    prior_scans: int = Field(0, ge=0, le=10_000, description="Earlier scans by this visitor.")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone offset")
        return value


class SimulateResult(Input):
    """Where the visit goes and why."""

    destination: str
    kind: str
    rule_index: int | None
    rule_name: str | None
    variant: str | None
    local_time: str
    broken_rules: list[int]


def simulate(codes: CodeService, principal: Principal, slug: str, req: SimulateRequest) -> SimulateResult:
    """Resolve the code's rules for a described visit (caps are treated as unused)."""
    code = codes.get(principal, slug)
    if code.kind is CodeKind.STATIC or not code.destination:
        raise Invalid("static codes carry their content and do not route", field="slug")
    with codes.db.read() as conn:
        ws = WorkspaceStore().get(conn, principal.workspace_id)
        campaign = (
            campaign_table.get(conn, principal.workspace_id, code.campaign_id) if code.campaign_id else None
        )
    try:
        ip = ip_address(req.ip) if req.ip else None
    except ValueError as exc:
        raise Invalid("is not an IP address", field="ip") from exc
    routable = compile_code(str(code.id), code.destination, code.timezone or ws.timezone, code.rules)
    prior = max(req.prior_scans, 1 if req.visitor == "returning" else 0)
    visit = Visit(
        device=req.device,
        os=req.os,
        browser=req.browser,
        languages=(req.language.lower(),) if req.language else (),
        country=req.country,
        region=req.region,
        city=req.city,
        ip=ip,
        query=req.query,
        visitor="simulated",
    )
    now = req.at or datetime.now(UTC)
    decision = resolve(routable, visit, now, RoutingState(prior_scans=prior, seed="simulated"))
    utm = merge_utm(campaign.utm if campaign else {}, code.utm)
    return SimulateResult(
        destination=build_destination(decision.destination, utm=utm, scan_id=None),
        kind=decision.kind.value,
        rule_index=decision.rule_index,
        rule_name=decision.rule_name,
        variant=decision.variant_label,
        local_time=now.astimezone(routable.timezone).isoformat(),
        broken_rules=sorted({i for i, _ in routable.broken} | set(decision.errors)),
    )
