"""Brand templates: named design presets of a workspace, applied to many codes.

A code with a template looks like the template's design updated with the code's own ``design``.
Creating or changing a template validates its design and runs print QA on a sample short URL; a
design that does not decode is refused unless ``force``. Changing a template re-validates and
re-checks every code that uses it (in the same transaction, refused as a whole if one of them
breaks) and stores their new QA reports. :meth:`TemplateService.apply` puts a template on many
codes at once (by slugs or by campaign). A template in use cannot be deleted.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scanroute.domain.code import Code
from scanroute.domain.errors import Conflict, DomainError, Invalid
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import Input, Ref, require, utcnow
from scanroute.services.qr import merge_designs
from scanroute.services.qr_qa import QaRefused, QaRun
from scanroute.storage.catalog import campaign_table, code_by_slug, load_code
from scanroute.storage.db import Database
from scanroute.storage.paging import ListQuery, Page
from scanroute.storage.qr import (
    Template,
    codes_using_template,
    codes_with_template,
    set_code_qa,
    template_table,
)
from scanroute.storage.schema import codes

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from scanroute.services.qr import QrService

__all__ = ["TemplateApply", "TemplateCreate", "TemplatePatch", "TemplateService"]

TemplateName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_APPLY = 5000


class TemplateCreate(Input):
    """Body of ``POST /api/v1/qr/templates``."""

    name: TemplateName
    design: dict[str, Any] = Field(description="Design options (see docs/qr.md); logos by {ref: id}.")
    force: bool = Field(False, description="Save even if the design does not decode.")


class TemplatePatch(Input):
    """Body of ``PATCH /api/v1/qr/templates/{id}``."""

    name: TemplateName | None = None
    design: dict[str, Any] | None = None
    force: bool = False


class TemplateApply(Input):
    """Body of ``POST /api/v1/qr/templates/{id}/apply``: which codes get the template."""

    slugs: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(None, max_length=MAX_APPLY)
    campaign: Ref | None = None
    keep_design: bool = Field(True, description="Keep each code's own design options on top of the template.")
    force: bool = False

    @model_validator(mode="after")
    def _one(self) -> TemplateApply:
        if (self.slugs is None) == (self.campaign is None):
            raise ValueError("give either slugs or campaign")
        return self


class TemplateService:
    """CRUD and bulk application of brand templates."""

    def __init__(self, db: Database, qr: QrService) -> None:
        self.db = db
        self.qr = qr

    def list(self, principal: Principal, query: ListQuery) -> Page[Template]:
        """A page of templates."""
        with self.db.read() as conn:
            return template_table.list(conn, principal.workspace_id, query)

    def get(self, principal: Principal, ident: int) -> Template:
        """One template."""
        with self.db.read() as conn:
            return template_table.get(conn, principal.workspace_id, ident)

    def create(self, principal: Principal, body: TemplateCreate) -> Template:
        """Validate, QA-check and store a template."""
        require(principal, Role.EDITOR, "creating templates")
        ws, now = principal.workspace_id, utcnow()
        try:
            with self.db.write() as conn:
                if template_table.find(conn, ws, name=body.name) is not None:
                    raise Conflict(f"template '{body.name}' already exists", field="name")
                design = self._checked(conn, ws, body.design, body.force)
                ident = template_table.insert(
                    conn,
                    {
                        "workspace_id": ws,
                        "name": body.name,
                        "design": design,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
                return template_table.get(conn, ws, ident)
        except IntegrityError as exc:
            raise Conflict(f"template '{body.name}' already exists", field="name") from exc

    def update(self, principal: Principal, ident: int, body: TemplatePatch) -> Template:
        """Rename or redesign a template; codes using it are re-validated and re-checked."""
        require(principal, Role.EDITOR, "changing templates")
        ws, now = principal.workspace_id, utcnow()
        values: dict[str, Any] = {}
        try:
            with self.db.write() as conn:
                template_table.get(conn, ws, ident)
                if body.name is not None:
                    other = template_table.find(conn, ws, name=body.name)
                    if other is not None and other.id != ident:
                        raise Conflict(f"template '{body.name}' already exists", field="name")
                    values["name"] = body.name
                if body.design is not None:
                    values["design"] = self._checked(conn, ws, body.design, body.force)
                    run = self.qr.new_run()
                    reports = [
                        (c.id, self._code_report(conn, ws, c, values["design"], c.design, run, body.force))
                        for c in codes_with_template(conn, ws, ident)
                    ]
                    set_code_qa(conn, ws, reports)
                if values:
                    values["updated_at"] = now
                return template_table.update(conn, ws, ident, values)
        except IntegrityError as exc:
            raise Conflict("a template with this name already exists", field="name") from exc

    def delete(self, principal: Principal, ident: int) -> None:
        """Delete a template no code uses."""
        require(principal, Role.EDITOR, "deleting templates")
        with self.db.write() as conn:
            template_table.get(conn, principal.workspace_id, ident)
            used = codes_using_template(conn, principal.workspace_id, ident)
            if used:
                raise Conflict(
                    f"template {ident} is used by {used} code(s); give them another template first"
                )
            template_table.delete(conn, principal.workspace_id, ident)

    def apply(self, principal: Principal, ident: int, body: TemplateApply) -> dict[str, Any]:
        """Put the template on many codes in one transaction (all or none), with QA for each."""
        require(principal, Role.EDITOR, "applying templates")
        ws, now = principal.workspace_id, utcnow()
        with self.db.write() as conn:
            template = template_table.get(conn, ws, ident)
            targets = self._targets(conn, ws, body)
            run = self.qr.new_run()
            reports = []
            for code in targets:
                own = code.design if body.keep_design else None
                reports.append(
                    (code.id, self._code_report(conn, ws, code, template.design, own, run, body.force))
                )
            set_code_qa(conn, ws, reports, template_id=ident, clear_design=not body.keep_design, now=now)
        return {"template_id": ident, "applied": len(targets), "slugs": [c.slug for c in targets]}

    # -- helpers ------------------------------------------------------------------------------------
    def _checked(self, conn: Connection, ws: int, data: dict[str, Any], force: bool) -> dict[str, Any]:
        stored = self.qr.store_design(conn, ws, data)
        design = self.qr.build(conn, ws, stored)
        report = QaRun().report(self.qr.sample_content(), design)
        if not (report["decodes"] and report["matches"]) and not force:
            raise QaRefused(report, what="template design")
        return stored

    def _code_report(
        self,
        conn: Connection,
        ws: int,
        code: Code,
        template_design: dict[str, Any],
        own: dict[str, Any] | None,
        run: QaRun,
        force: bool,
    ) -> dict[str, Any]:
        try:
            design = self.qr.build(conn, ws, merge_designs(template_design, own))
        except Invalid as exc:
            raise Invalid(f"code {code.slug}: {exc.detail}", field=exc.field) from None
        content = self.qr.content_of(code)
        report = run.report(content, design)
        if not (report["decodes"] and report["matches"]) and not force:
            raise QaRefused(report, what=f"design of code {code.slug}")
        return report

    def _targets(self, conn: Connection, ws: int, body: TemplateApply) -> builtins.list[Code]:
        if body.slugs is not None:
            found = []
            for i, slug in enumerate(dict.fromkeys(body.slugs)):
                code = code_by_slug(conn, slug)
                if code is None or code.workspace_id != ws:
                    raise Invalid(f"code '{slug}' does not exist", field=f"slugs[{i}]")
                found.append(code)
            return found
        ref = body.campaign
        assert ref is not None
        try:
            campaign = (
                campaign_table.get(conn, ws, ref)
                if isinstance(ref, int)
                else campaign_table.find(conn, ws, name=ref)
            )
        except DomainError:
            campaign = None
        if campaign is None:
            raise Invalid(f"campaign {ref!r} does not exist", field="campaign")
        rows = conn.execute(
            select(codes)
            .where(codes.c.workspace_id == ws, codes.c.campaign_id == campaign.id)
            .order_by(codes.c.id)
        )
        found = [load_code(r) for r in rows]
        if len(found) > MAX_APPLY:
            raise Invalid(f"has {len(found)} codes; apply to at most {MAX_APPLY} at once", field="campaign")
        return found
