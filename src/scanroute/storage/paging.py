"""Workspace-scoped CRUD and keyset (cursor) pagination over one table.

Cursors are opaque base64url JSON of ``[sort value, id]``; ordering is always
``(sort column, id)`` so pages never skip or repeat rows when values tie.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from scanroute.domain.errors import Invalid, NotFound

T = TypeVar("T")
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the cursor of the next (``None`` at the end)."""

    items: list[T]
    next: str | None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a caller asks of a list: equality filters, free-text search, sort, page."""

    filters: Mapping[str, Any]
    search: str | None = None
    sort: str = "id"
    limit: int = 50
    cursor: str | None = None


def encode_cursor(value: Any, ident: int) -> str:
    """Opaque cursor for the row after (value, ident)."""
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return base64.urlsafe_b64encode(orjson.dumps([value, ident])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int]:
    """Inverse of ``encode_cursor``; raises ``Invalid`` on anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, ident = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Invalid("is not a cursor this API issued", field="cursor") from exc
    if not isinstance(ident, int):
        raise Invalid("is not a cursor this API issued", field="cursor")
    return value, ident


class ScopedTable(Generic[T]):
    """CRUD over a table with ``id`` and ``workspace_id`` columns, hydrating rows with ``load``."""

    def __init__(
        self,
        table: Table,
        load: Callable[[Row[Any]], T],
        *,
        sortable: Sequence[str],
        searchable: Sequence[str] = (),
        noun: str,
    ) -> None:
        self.table = table
        self.load = load
        self.sortable = tuple(sortable)
        self.searchable = tuple(searchable)
        self.noun = noun

    def _scope(self, workspace_id: int) -> ColumnElement[bool]:
        return self.table.c.workspace_id == workspace_id

    def insert(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Insert a row and return its id."""
        result = conn.execute(insert(self.table).values(**values).returning(self.table.c.id))
        return int(result.scalar_one())

    def get(self, conn: Connection, workspace_id: int, ident: int) -> T:
        """The row with this id in this workspace, or ``NotFound``."""
        row = conn.execute(
            select(self.table).where(self._scope(workspace_id), self.table.c.id == ident)
        ).first()
        if row is None:
            raise NotFound(f"{self.noun} {ident} does not exist")
        return self.load(row)

    def find(self, conn: Connection, workspace_id: int, **where: Any) -> T | None:
        """The first row matching equality conditions in this workspace, or ``None``."""
        conds = [self.table.c[k] == v for k, v in where.items()]
        row = conn.execute(select(self.table).where(self._scope(workspace_id), *conds)).first()
        return None if row is None else self.load(row)

    def update(self, conn: Connection, workspace_id: int, ident: int, values: Mapping[str, Any]) -> T:
        """Update columns of one row; ``NotFound`` when it is not in this workspace."""
        if values:
            result = conn.execute(
                update(self.table).where(self._scope(workspace_id), self.table.c.id == ident).values(**values)
            )
            if result.rowcount == 0:
                raise NotFound(f"{self.noun} {ident} does not exist")
        return self.get(conn, workspace_id, ident)

    def delete(self, conn: Connection, workspace_id: int, ident: int) -> None:
        """Delete one row; ``NotFound`` when it is not in this workspace."""
        result = conn.execute(delete(self.table).where(self._scope(workspace_id), self.table.c.id == ident))
        if result.rowcount == 0:
            raise NotFound(f"{self.noun} {ident} does not exist")

    def count(self, conn: Connection, workspace_id: int) -> int:
        """Number of rows in the workspace."""
        stmt = select(func.count()).select_from(self.table).where(self._scope(workspace_id))
        return int(conn.execute(stmt).scalar_one())

    def list(self, conn: Connection, workspace_id: int, query: ListQuery) -> Page[T]:
        """A page of rows matching the query, ordered by (sort column, id)."""
        descending = query.sort.startswith("-")
        key = query.sort.lstrip("-")
        if key not in self.sortable:
            raise Invalid(
                f"must be one of {', '.join(self.sortable)} (prefix - for descending)", field="sort"
            )
        limit = max(1, min(query.limit, MAX_PAGE))
        col, ident = self.table.c[key], self.table.c.id
        stmt = select(self.table).where(self._scope(workspace_id))
        for name, value in query.filters.items():
            if value is None:
                continue
            column = self.table.c[name]
            stmt = stmt.where(column.is_(None) if value == "" else column == value)
        if query.search and self.searchable:
            term = f"%{query.search.lower()}%"
            stmt = stmt.where(or_(*(func.lower(self.table.c[c]).like(term) for c in self.searchable)))
        if query.cursor:
            value, last_id = decode_cursor(query.cursor)
            value = _coerce(col.type.python_type if key != "id" else int, value)
            if descending:
                stmt = stmt.where(or_(col < value, and_(col == value, ident < last_id)))
            else:
                stmt = stmt.where(or_(col > value, and_(col == value, ident > last_id)))
        order = (col.desc(), ident.desc()) if descending else (col.asc(), ident.asc())
        rows = conn.execute(stmt.order_by(*order).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1]._mapping[key], rows[-1].id) if more and rows else None
        return Page([self.load(r) for r in rows], nxt)


def _coerce(kind: Any, value: Any) -> Any:
    try:
        if kind is datetime and isinstance(value, str):
            return datetime.fromisoformat(value)
        if kind is date and isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid("is not a cursor this API issued", field="cursor") from exc
    return value
