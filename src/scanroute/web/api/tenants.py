"""REST endpoints for workspaces, members and API keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from scanroute.services.tenants import (
    KeyCreate,
    MemberCreate,
    MemberPatch,
    WorkspaceCreate,
    WorkspacePatch,
)
from scanroute.web.api.deps import Auth, Ctr, Ident, Paging
from scanroute.web.api.views import (
    KeyCreated,
    KeyOut,
    ListOut,
    MemberOut,
    WorkspaceCreated,
    WorkspaceOut,
)

router = APIRouter()


@router.get("/workspaces", response_model=ListOut[WorkspaceOut], tags=["workspaces"])
def list_workspaces(who: Auth, ctr: Ctr) -> ListOut[WorkspaceOut]:
    """The workspaces this key can see (its own)."""
    return ListOut[WorkspaceOut](items=[WorkspaceOut.of(ctr.workspaces.current(who))], next=None)


@router.post("/workspaces", status_code=201, response_model=WorkspaceCreated, tags=["workspaces"])
def create_workspace(body: WorkspaceCreate, who: Auth, ctr: Ctr) -> WorkspaceCreated:
    """Create another workspace (owner); answers an owner key for it, shown once."""
    ws, key = ctr.workspaces.create_as(who, body)
    return WorkspaceCreated(**WorkspaceOut.of(ws).model_dump(), owner_key=key)


@router.get("/workspaces/{slug}", response_model=WorkspaceOut, tags=["workspaces"])
def get_workspace(slug: str, who: Auth, ctr: Ctr) -> WorkspaceOut:
    """The caller's workspace."""
    return WorkspaceOut.of(ctr.workspaces.get(who, slug))


@router.patch("/workspaces/{slug}", response_model=WorkspaceOut, tags=["workspaces"])
def update_workspace(slug: str, body: WorkspacePatch, who: Auth, ctr: Ctr) -> WorkspaceOut:
    """Rename the workspace or change its currency or time zone (admin)."""
    return WorkspaceOut.of(ctr.workspaces.update(who, slug, body))


@router.delete("/workspaces/{slug}", status_code=204, tags=["workspaces"])
def delete_workspace(slug: str, who: Auth, ctr: Ctr) -> Response:
    """Delete the workspace and everything in it (owner)."""
    ctr.workspaces.delete(who, slug)
    return Response(status_code=204)


@router.get("/members", response_model=ListOut[MemberOut], tags=["members"])
def list_members(who: Auth, ctr: Ctr) -> ListOut[MemberOut]:
    """Members of the workspace."""
    return ListOut[MemberOut](items=[MemberOut.of(m) for m in ctr.members.list(who)], next=None)


@router.post("/members", status_code=201, response_model=MemberOut, tags=["members"])
def add_member(body: MemberCreate, who: Auth, ctr: Ctr) -> MemberOut:
    """Add a member (admin; never with a role above the caller's)."""
    return MemberOut.of(ctr.members.add(who, body))


@router.patch("/members/{user_id}", response_model=MemberOut, tags=["members"])
def update_member(user_id: Ident, body: MemberPatch, who: Auth, ctr: Ctr) -> MemberOut:
    """Change a member's role."""
    return MemberOut.of(ctr.members.set_role(who, user_id, body.role))


@router.delete("/members/{user_id}", status_code=204, tags=["members"])
def remove_member(user_id: Ident, who: Auth, ctr: Ctr) -> Response:
    """Remove a member."""
    ctr.members.remove(who, user_id)
    return Response(status_code=204)


@router.get("/keys", response_model=ListOut[KeyOut], tags=["keys"])
def list_keys(who: Auth, ctr: Ctr, page: Paging) -> ListOut[KeyOut]:
    """API keys of the workspace (admin; secrets are never shown again)."""
    result = ctr.keys.list(who, page)
    return ListOut[KeyOut](items=[KeyOut.of(k) for k in result.items], next=result.next)


@router.post("/keys", status_code=201, response_model=KeyCreated, tags=["keys"])
def create_key(body: KeyCreate, who: Auth, ctr: Ctr) -> KeyCreated:
    """Create a key; `key` is in this answer only."""
    key, record = ctr.keys.create(who, body)
    return KeyCreated(**KeyOut.of(record).model_dump(), key=key)


@router.delete("/keys/{ident}", status_code=204, tags=["keys"])
def revoke_key(ident: Ident, who: Auth, ctr: Ctr) -> Response:
    """Revoke a key."""
    ctr.keys.delete(who, ident)
    return Response(status_code=204)
