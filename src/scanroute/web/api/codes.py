"""REST endpoints for codes (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from scanroute.domain.code import CodeKind, CodeStatus
from scanroute.routing.schema import RULES_SCHEMA
from scanroute.services.codes import CodeCreate, CodePatch
from scanroute.services.simulate import SimulateRequest, SimulateResult, simulate
from scanroute.web.api.deps import Auth, Ctr, OptionalId, Paging
from scanroute.web.api.views import CodeOut, ListOut

router = APIRouter(tags=["codes"])


@router.post("/codes", status_code=201, response_model=CodeOut)
def create_code(body: CodeCreate, who: Auth, ctr: Ctr, response: Response) -> CodeOut:
    """Create a code; the slug is random unless given."""
    code = ctr.codes.create(who, body)
    response.headers["Location"] = f"/api/v1/codes/{code.slug}"
    return CodeOut.of(code, ctr)


@router.get("/codes", response_model=ListOut[CodeOut])
def list_codes(
    who: Auth,
    ctr: Ctr,
    page: Paging,
    status: Annotated[CodeStatus | None, Query()] = None,
    kind: Annotated[CodeKind | None, Query()] = None,
    campaign_id: OptionalId = None,
    placement_id: OptionalId = None,
    creative: Annotated[str | None, Query(max_length=100)] = None,
) -> ListOut[CodeOut]:
    """List codes with filters, search (`q`), sorting and cursor paging."""
    filters = {
        "status": status.value if status else None,
        "kind": kind.value if kind else None,
        "campaign_id": campaign_id,
        "placement_id": placement_id,
        "creative": creative,
    }
    result = ctr.codes.list(who, replace(page, filters=filters))
    return ListOut[CodeOut](items=[CodeOut.of(c, ctr) for c in result.items], next=result.next)


@router.get("/codes/{slug}", response_model=CodeOut)
def get_code(slug: str, who: Auth, ctr: Ctr) -> CodeOut:
    """One code."""
    return CodeOut.of(ctr.codes.get(who, slug), ctr)


@router.patch("/codes/{slug}", response_model=CodeOut)
def update_code(slug: str, body: CodePatch, who: Auth, ctr: Ctr) -> CodeOut:
    """Change the fields given; the printed image never changes."""
    return CodeOut.of(ctr.codes.update(who, slug, body), ctr)


@router.delete("/codes/{slug}", status_code=204)
def delete_code(slug: str, who: Auth, ctr: Ctr) -> Response:
    """Delete a code; its recorded scans stay."""
    ctr.codes.delete(who, slug)
    return Response(status_code=204)


@router.post("/codes/{slug}/simulate", response_model=SimulateResult)
def simulate_code(slug: str, body: SimulateRequest, who: Auth, ctr: Ctr) -> SimulateResult:
    """Where a described visitor would go now (or at `at`); records nothing."""
    return simulate(ctr.codes, who, slug, body)


@router.get("/schemas/rules", tags=["schemas"])
def rules_schema() -> dict[str, Any]:
    """The JSON Schema of the routing-rules document."""
    return RULES_SCHEMA
