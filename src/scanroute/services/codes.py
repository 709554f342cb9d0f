"""Code use cases: create, read, update, delete and list codes, with every write validated."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from scanroute.domain.code import (
    Code,
    CodeKind,
    CodeStatus,
    normalise_url,
    random_slug,
    validate_slug,
)
from scanroute.domain.errors import Conflict, DomainError, Invalid, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.routing.schema import validate_rules
from scanroute.services.common import Input, Ref, TimeZone, require, utcnow
from scanroute.services.qr_payload import PayloadType, static_payload
from scanroute.storage.catalog import campaign_table, code_by_slug, code_table, load_code, placement_table
from scanroute.storage.db import Database
from scanroute.storage.paging import ListQuery, Page
from scanroute.storage.schema import code_changes, codes, workspaces

if TYPE_CHECKING:
    from scanroute.services.qr_codes import CodeStudio

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
UtmValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Utm(Input):
    """UTM parameters appended to destinations (``source`` becomes ``utm_source`` …)."""

    source: UtmValue | None = None
    medium: UtmValue | None = None
    campaign: UtmValue | None = None
    term: UtmValue | None = None
    content: UtmValue | None = None
    id: UtmValue | None = None

    def as_dict(self) -> dict[str, str]:
        """Only the keys that are set."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class CodeFields(Input):
    """Fields shared by create and update."""

    destination: str | None = Field(None, max_length=2048, description="Default destination URL.")
    campaign: Ref | None = Field(None, description="Campaign name (created if new) or id.")
    placement: Ref | None = Field(None, description="Placement name or id (must exist).")
    creative: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    tags: list[Tag] | None = Field(None, max_length=20)
    utm: Utm | None = None
    timezone: TimeZone | None = Field(None, description="IANA zone for time rules; default the workspace's.")
    fallback: str | None = Field(None, max_length=2048, description="Where paused/expired codes send scans.")
    status: CodeStatus | None = None
    expires_at: datetime | None = None
    scan_limit: int | None = Field(None, ge=1, le=2_147_483_647)
    rules: list[Any] | None = Field(None, description="Routing rules document (see /api/v1/schemas/rules).")
    append_scan_id: bool | None = Field(None, description="Append sr_sid to destinations (default true).")
    forward_query: bool | None = Field(None, description="Pass the scan URL's query through (default false).")
    issue_coupon: bool | None = Field(
        None, description="Give each human scan a one-time coupon, appended as sr_coupon (default false)."
    )
    payload: Annotated[str, StringConstraints(max_length=4000)] | dict[str, Any] | None = Field(
        None, description="Static code content: raw text, or the fields of its payload_type (docs/qr.md)."
    )
    payload_type: PayloadType | None = Field(None, description="Static payload type (wifi, vcard, …).")
    design: dict[str, Any] | None = Field(None, description="QR design (docs/qr.md); overrides the template.")
    template: Ref | None = Field(None, description="Brand template name or id; null removes it.")
    force: bool = Field(False, description="Save even if print QA finds that the design does not decode.")

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone offset (e.g. 2026-12-31T23:59:00Z)")
        return value


class CodeCreate(CodeFields):
    """Body of ``POST /api/v1/codes``."""

    slug: str | None = Field(None, max_length=64, description="Custom slug; random when omitted.")
    kind: CodeKind = CodeKind.DYNAMIC


class CodePatch(CodeFields):
    """Body of ``PATCH /api/v1/codes/{slug}``: only the fields given change."""


OPTION_FIELDS = ("append_scan_id", "forward_query", "issue_coupon")


class RowError(Invalid):
    """An error in one item of a batch; ``row`` is its 0-based position."""

    def __init__(self, row: int, error: DomainError) -> None:
        super().__init__(error.detail, field=error.field)
        self.row = row
        self.error = error
        self.status = error.status
        self.title = error.title


class CodeService:
    """Code management inside one workspace, for API and CLI alike."""

    def __init__(
        self,
        db: Database,
        *,
        slug_length: int,
        on_change: Callable[[str], None] | None = None,
        studio: CodeStudio | None = None,
    ) -> None:
        self.db = db
        self.slug_length = slug_length
        self.on_change = on_change
        self.studio = studio

    def get(self, principal: Principal, slug: str) -> Code:
        """A code of the caller's workspace by slug."""
        with self.db.read() as conn:
            return self._get(conn, principal.workspace_id, slug)

    def list(self, principal: Principal, query: ListQuery) -> Page[Code]:
        """A page of the workspace's codes."""
        with self.db.read() as conn:
            return code_table.list(conn, principal.workspace_id, query)

    def create(self, principal: Principal, data: CodeCreate) -> Code:
        """Validate and store a new code; ``Conflict`` when a custom slug is taken."""
        try:
            return self.create_many(principal, [data])[0]
        except RowError as exc:
            raise exc.error from None

    def create_many(
        self,
        principal: Principal,
        items: Sequence[CodeCreate],
        *,
        before: Callable[[Connection], Mapping[tuple[str, str | int], int] | None] | None = None,
        qa_per_code: bool = True,
    ) -> builtins.list[Code]:
        """Create several codes in ONE transaction: all of them, or none (``RowError`` names the row).

        ``before`` runs first inside the same transaction (bulk runs create placements there) and
        may return known ids of refs, ``{("placement", name): id}``, to spare the lookups;
        ``qa_per_code=False`` keeps print QA at design level (bulk runs decode each image later).
        """
        require(principal, Role.EDITOR, "creating codes")
        now = utcnow()
        prepared = [self._prepare(i, data) for i, data in enumerate(items)]
        created: builtins.list[Code] = []
        run = self.studio.new_run(per_code=qa_per_code) if self.studio is not None else None
        # Batched: one query checks every custom slug and random candidate, refs are looked up once
        # per distinct name, and rows are inserted with executemany (≈ 0.4 ms per code, not 4 ms).
        candidates = [custom or random_slug(self.slug_length) for _, _, custom in prepared]
        memo: dict[tuple[str, str | int], int | None] = {}
        rows: builtins.list[dict[str, Any]] = []
        try:
            with self.db.write() as conn:
                if before is not None:
                    memo.update(before(conn) or {})
                taken = _existing_slugs(conn, candidates)
                for i, (data, values, custom) in enumerate(prepared):
                    try:
                        self._resolve_refs(conn, principal.workspace_id, data, values, now, memo)
                        if custom and custom in taken:
                            raise Conflict(f"slug '{custom}' is already taken", field="slug")
                        slug = custom or candidates[i]
                        if slug in taken:
                            slug = self._free_slug(conn, taken)
                        if self.studio is not None and run is not None:
                            self.studio.on_save(conn, principal.workspace_id, slug, data, values, None, run)
                    except DomainError as exc:
                        raise RowError(i, exc) from None
                    taken.add(slug)
                    values.update(
                        workspace_id=principal.workspace_id,
                        slug=slug,
                        kind=data.kind.value,
                        created_at=now,
                        updated_at=now,
                        version=1,
                    )
                    rows.append(values)
                created = _insert_codes(conn, rows, now)
        except IntegrityError as exc:
            raise Conflict("slug is already taken", field="slug") from exc
        for code in created:
            self._notify(code.slug)
        return created

    def _prepare(self, index: int, data: CodeCreate) -> tuple[CodeCreate, dict[str, Any], str | None]:
        try:
            values = self._values(data, set(data.model_fields_set) | {"status"}, creating=True)
            if data.kind is CodeKind.DYNAMIC and not values.get("destination"):
                raise Invalid("is required for a dynamic code", field="destination")
            if data.kind is CodeKind.STATIC and not values.get("payload"):
                raise Invalid("is required for a static code", field="payload")
            custom = validate_slug(data.slug) if data.slug is not None else None
        except DomainError as exc:
            raise RowError(index, exc) from None
        for name, empty in (("tags", []), ("utm", {}), ("rules", []), ("options", {})):
            values.setdefault(name, empty)
        return data, values, custom

    def update(self, principal: Principal, slug: str, patch: CodePatch) -> Code:
        """Apply the fields given in ``patch``; bumps the version the route caches watch."""
        require(principal, Role.EDITOR, "changing codes")
        now = utcnow()
        fields = set(patch.model_fields_set)
        values = self._values(patch, fields, creating=False)
        with self.db.write() as conn:
            code = self._get(conn, principal.workspace_id, slug)
            if "destination" in values and code.kind is CodeKind.DYNAMIC and not values["destination"]:
                raise Invalid("cannot be removed from a dynamic code", field="destination")
            self._resolve_refs(conn, principal.workspace_id, patch, values, now)
            if self.studio is not None:
                run = self.studio.new_run()
                self.studio.on_save(conn, principal.workspace_id, slug, patch, values, code, run)
            if "options" in values:
                values["options"] = {**code.options, **values["options"]}
            values.update(updated_at=now, version=code.version + 1)
            code = code_table.update(conn, principal.workspace_id, code.id, values)
            _record_change(conn, slug, now)
        self._notify(slug)
        return code

    def delete(self, principal: Principal, slug: str) -> None:
        """Delete a code (its recorded scans stay for reporting)."""
        require(principal, Role.EDITOR, "deleting codes")
        with self.db.write() as conn:
            code = self._get(conn, principal.workspace_id, slug)
            code_table.delete(conn, principal.workspace_id, code.id)
            _record_change(conn, slug, utcnow())
        self._notify(slug)

    # -- helpers -------------------------------------------------------------------------

    def _get(self, conn: Connection, workspace_id: int, slug: str) -> Code:
        code = code_by_slug(conn, slug)
        if code is None or code.workspace_id != workspace_id:
            raise NotFound(f"code '{slug}' does not exist")
        return code

    def _free_slug(self, conn: Connection, taken: set[str]) -> str:
        for _ in range(8):
            slug = random_slug(self.slug_length)
            if slug not in taken and code_by_slug(conn, slug) is None:
                return slug
        raise Conflict("could not find a free random slug; raise SCANROUTE_SLUG_LENGTH")

    def _values(self, data: CodeFields, fields: set[str], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "destination" in fields and data.destination is not None:
            values["destination"] = normalise_url(data.destination)
        elif "destination" in fields:
            values["destination"] = None
        if "fallback" in fields:
            values["fallback_url"] = (
                normalise_url(data.fallback, field_name="fallback") if data.fallback else None
            )
        if "rules" in fields:
            rules = data.rules or []
            problems = validate_rules(rules)
            if problems:
                first = problems[0]
                raise Invalid(first.reason, field=f"rules{first.field.removeprefix('rules')}")
            values["rules"] = rules
        for name in ("creative", "title", "timezone", "expires_at", "scan_limit"):
            if name in fields:
                values[name] = getattr(data, name)
        if "payload" in fields or "payload_type" in fields:
            values.update(static_payload(data.payload_type, data.payload))
        if values.get("title") is None and "title" in values:
            values["title"] = ""
        if "status" in fields:
            values["status"] = (data.status or CodeStatus.ACTIVE).value
        if "tags" in fields:
            values["tags"] = list(dict.fromkeys(data.tags or []))
        if "utm" in fields:
            values["utm"] = data.utm.as_dict() if data.utm else {}
        options = {n: getattr(data, n) for n in OPTION_FIELDS if n in fields and getattr(data, n) is not None}
        if options or creating:
            values["options"] = (
                {"append_scan_id": True, "forward_query": False, **options} if creating else options
            )
        return values

    def _resolve_refs(
        self,
        conn: Connection,
        workspace_id: int,
        data: CodeFields,
        values: dict[str, Any],
        now: datetime,
        memo: dict[tuple[str, str | int], int | None] | None = None,
    ) -> None:
        fields = data.model_fields_set
        memo = {} if memo is None else memo
        campaign, placement = data.campaign, data.placement
        if "campaign" in fields:
            if campaign is not None and ("campaign", campaign) not in memo:
                memo["campaign", campaign] = _campaign_id(conn, workspace_id, campaign, now)
            values["campaign_id"] = None if campaign is None else memo["campaign", campaign]
        if "placement" in fields:
            if placement is not None and ("placement", placement) not in memo:
                memo["placement", placement] = _placement_id(conn, workspace_id, placement)
            values["placement_id"] = None if placement is None else memo["placement", placement]

    def _notify(self, slug: str) -> None:
        if self.on_change is not None:
            self.on_change(slug)


def _campaign_id(conn: Connection, workspace_id: int, ref: str | int, now: datetime) -> int:
    if isinstance(ref, int):
        try:
            return campaign_table.get(conn, workspace_id, ref).id
        except NotFound as exc:
            raise Invalid(f"campaign {ref} does not exist", field="campaign") from exc
    found = campaign_table.find(conn, workspace_id, name=ref)
    if found is not None:
        return found.id
    currency = conn.execute(workspaces.select().where(workspaces.c.id == workspace_id)).one().currency
    return campaign_table.insert(
        conn,
        {
            "workspace_id": workspace_id,
            "name": ref,
            "goal": "",
            "currency": currency,
            "utm": {},
            "spend_minor": 0,
            "created_at": now,
            "updated_at": now,
        },
    )


def _placement_id(conn: Connection, workspace_id: int, ref: str | int) -> int:
    if isinstance(ref, int):
        try:
            return placement_table.get(conn, workspace_id, ref).id
        except NotFound as exc:
            raise Invalid(f"placement {ref} does not exist", field="placement") from exc
    found = placement_table.find(conn, workspace_id, name=ref)
    if found is None:
        raise Invalid(f"placement '{ref}' does not exist", field="placement")
    return found.id


def _record_change(conn: Connection, slug: str, now: datetime, domain: str = "") -> None:
    conn.execute(insert(code_changes).values(domain=domain, slug=slug, at=now))


def _chunks(items: Sequence[str], size: int = 500) -> builtins.list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _existing_slugs(conn: Connection, slugs: Sequence[str]) -> set[str]:
    """Which of these slugs are already used (default domain)."""
    found: set[str] = set()
    for chunk in _chunks(slugs):
        rows = conn.execute(select(codes.c.slug).where(codes.c.domain == "", codes.c.slug.in_(chunk)))
        found.update(str(r.slug) for r in rows)
    return found


def _insert_codes(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> builtins.list[Code]:
    """Insert prepared rows (executemany per set of columns) and load them back in order."""
    groups: dict[tuple[str, ...], builtins.list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        conn.execute(insert(codes), group)
    slugs = [str(r["slug"]) for r in rows]
    if slugs:
        conn.execute(insert(code_changes), [{"domain": "", "slug": s, "at": now} for s in slugs])
    loaded: dict[str, Code] = {}
    for chunk in _chunks(slugs):
        for r in conn.execute(select(codes).where(codes.c.domain == "", codes.c.slug.in_(chunk))):
            code = load_code(r)
            loaded[code.slug] = code
    return [loaded[s] for s in slugs]
