"""Stores of the QR studio: brand templates, logos, print-run jobs and the QR columns of codes.

Every function is scoped to a workspace. Logo bytes are only read by :func:`logo_data`; listings
never load them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from scanroute.domain.code import Code
from scanroute.storage.catalog import load_code
from scanroute.storage.paging import ListQuery, Page, ScopedTable, decode_cursor, encode_cursor
from scanroute.storage.schema import codes, jobs, logos, qr_templates

__all__ = [
    "JobRecord",
    "LogoRecord",
    "Template",
    "code_designs",
    "codes_using_template",
    "codes_with_template",
    "job_table",
    "list_logos",
    "logo_by_sha",
    "logo_data",
    "logo_record",
    "set_code_qa",
    "template_designs",
    "template_table",
]


@dataclass(frozen=True, slots=True)
class Template:
    """A named design preset of a workspace (``design`` as given, logo by reference)."""

    id: int
    workspace_id: int
    name: str
    design: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LogoRecord:
    """A stored logo's metadata (the bytes stay in the database)."""

    id: int
    workspace_id: int
    name: str
    mime: str
    sha256: str
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A long-running piece of work a client polls (``file_path`` is its output folder)."""

    id: int
    workspace_id: int
    kind: str
    status: str
    progress: int
    total: int
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    file_path: str | None
    created_at: datetime
    updated_at: datetime


def _template(row: Row[Any]) -> Template:
    m = row._mapping
    return Template(
        id=m["id"],
        workspace_id=m["workspace_id"],
        name=m["name"],
        design=dict(m["design"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _job(row: Row[Any]) -> JobRecord:
    m = row._mapping
    return JobRecord(**{k: m[k] for k in JobRecord.__dataclass_fields__})


template_table = ScopedTable(
    qr_templates,
    _template,
    sortable=("id", "name", "created_at", "updated_at"),
    searchable=("name",),
    noun="template",
)
job_table = ScopedTable(jobs, _job, sortable=("id", "created_at", "updated_at"), noun="job")

_LOGO_COLUMNS = (
    logos.c.id,
    logos.c.workspace_id,
    logos.c.name,
    logos.c.mime,
    logos.c.sha256,
    func.length(logos.c.data).label("size"),
    logos.c.created_at,
)


def _logo(row: Any) -> LogoRecord:
    m = row._mapping
    return LogoRecord(**{k: m[k] for k in LogoRecord.__dataclass_fields__})


def logo_record(conn: Connection, workspace_id: int, ident: int) -> LogoRecord | None:
    """A logo's metadata, or ``None`` when it is not in this workspace."""
    row = conn.execute(
        select(*_LOGO_COLUMNS).where(logos.c.workspace_id == workspace_id, logos.c.id == ident)
    ).first()
    return None if row is None else _logo(row)


def logo_by_sha(conn: Connection, workspace_id: int, sha256: str) -> LogoRecord | None:
    """The workspace's logo with these bytes (logos are de-duplicated by digest)."""
    row = conn.execute(
        select(*_LOGO_COLUMNS).where(logos.c.workspace_id == workspace_id, logos.c.sha256 == sha256)
    ).first()
    return None if row is None else _logo(row)


def logo_data(conn: Connection, workspace_id: int, ident: int) -> tuple[bytes, str] | None:
    """A logo's bytes and MIME type, or ``None``."""
    row = conn.execute(
        select(logos.c.data, logos.c.mime).where(logos.c.workspace_id == workspace_id, logos.c.id == ident)
    ).first()
    return None if row is None else (bytes(row.data), str(row.mime))


def list_logos(conn: Connection, workspace_id: int, query: ListQuery) -> Page[LogoRecord]:
    """A page of the workspace's logos, newest id last (keyset on id; bytes not loaded)."""
    limit = max(1, min(query.limit, 200))
    stmt = select(*_LOGO_COLUMNS).where(logos.c.workspace_id == workspace_id)
    if query.cursor:
        _, last = decode_cursor(query.cursor)
        stmt = stmt.where(logos.c.id > last)
    if query.search:
        stmt = stmt.where(func.lower(logos.c.name).like(f"%{query.search.lower()}%"))
    rows = conn.execute(stmt.order_by(logos.c.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([_logo(r) for r in rows], encode_cursor(rows[-1].id, rows[-1].id) if more else None)


def codes_using_template(conn: Connection, workspace_id: int, template_id: int) -> int:
    """How many of the workspace's codes use a template."""
    stmt = select(func.count()).where(
        codes.c.workspace_id == workspace_id, codes.c.template_id == template_id
    )
    return int(conn.execute(stmt).scalar_one())


def codes_with_template(conn: Connection, workspace_id: int, template_id: int) -> list[Code]:
    """The workspace's codes that use a template."""
    rows = conn.execute(
        select(codes)
        .where(codes.c.workspace_id == workspace_id, codes.c.template_id == template_id)
        .order_by(codes.c.id)
    )
    return [load_code(r) for r in rows]


def code_designs(conn: Connection, workspace_id: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(slug, design) of every code of the workspace that has its own design."""
    rows = conn.execute(
        select(codes.c.slug, codes.c.design).where(
            codes.c.workspace_id == workspace_id, codes.c.design.isnot(None)
        )
    )
    for row in rows:
        if isinstance(row.design, Mapping):
            yield str(row.slug), dict(row.design)


def template_designs(conn: Connection, workspace_id: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, design) of every template of the workspace."""
    rows = conn.execute(
        select(qr_templates.c.name, qr_templates.c.design).where(qr_templates.c.workspace_id == workspace_id)
    )
    for row in rows:
        yield str(row.name), dict(row.design or {})


def set_code_qa(
    conn: Connection,
    workspace_id: int,
    reports: Sequence[tuple[int, dict[str, Any]]],
    *,
    template_id: int | None = None,
    clear_design: bool = False,
    now: datetime | None = None,
) -> None:
    """Store QA reports on codes (``(code id, report)`` pairs) in one batched statement.

    With ``template_id`` the codes also get that template (and lose their own design with
    ``clear_design``). The code's ``version`` is not bumped: none of this changes where a scan goes.
    """
    if not reports:
        return
    values: dict[str, Any] = {"qa": bindparam("b_qa")}
    if template_id is not None:
        values["template_id"] = template_id
        if clear_design:
            values["design"] = None
    if now is not None:
        values["updated_at"] = now
    stmt = (
        update(codes)
        .where(codes.c.workspace_id == workspace_id, codes.c.id == bindparam("b_id"))
        .values(**values)
    )
    conn.execute(stmt, [{"b_id": ident, "b_qa": qa} for ident, qa in reports])
