"""Request dependencies: the container and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from scanroute.bootstrap import Container
from scanroute.domain.ids import MAX_ROW_ID
from scanroute.domain.workspace import Principal
from scanroute.storage.paging import ListQuery


def container(request: Request) -> Container:
    """The process's container (set on app state by ``build_api``)."""
    c: Container = request.app.state.container
    return c


def principal(request: Request) -> Principal:
    """Authenticate ``Authorization: Bearer <key>`` (raises 401 problem+json); without that
    header, a dashboard session cookie (unsafe methods also need its ``X-CSRF-Token``)."""
    header = request.headers.get("authorization", "")
    if not header:
        from scanroute.web.dashboard.auth import api_principal

        found = api_principal(request)
        if found is not None:
            return found
    scheme, _, key = header.partition(" ")
    c = container(request)
    return c.auth.authenticate(key.strip() if scheme.lower() == "bearer" else None)


def page_query(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="`next` of the previous page.")] = None,
    sort: Annotated[str, Query(max_length=40, description="Column, `-` prefix for descending.")] = "id",
    q: Annotated[str | None, Query(max_length=200, description="Free-text search.")] = None,
) -> ListQuery:
    """Common list parameters."""
    return ListQuery(filters={}, search=q, sort=sort, limit=limit, cursor=cursor)


Auth = Annotated[Principal, Depends(principal)]
Ctr = Annotated[Container, Depends(container)]
Paging = Annotated[ListQuery, Depends(page_query)]


Ident = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Numeric id.")]
"""An object id in a path: positive and inside the database's integer range."""
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
"""An optional id filter in a query string."""
