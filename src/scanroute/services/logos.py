"""Workspace logos for QR designs: upload once, refer to by id, delete when unused.

Uploads are PNG or SVG up to 512 KB. A PNG must open with Pillow (≤ 4096 × 4096 px). An SVG must
be well-formed XML without DOCTYPE/entities (the core check) and, checked here, must carry nothing
active or external: no ``script``, ``foreignObject``, ``iframe``/``object``/``embed``, animation
elements, ``on*`` event attributes, ``href``s other than ``#fragment`` or ``data:image/png|jpeg|gif``
and no ``url(…)``/``@import`` in styles pointing anywhere but ``#fragment``. Logos are
de-duplicated by SHA-256 per workspace: uploading the same bytes again returns the existing one.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert
from sqlalchemy.exc import IntegrityError

from scanroute.domain.errors import Conflict, DomainError, Invalid, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.qr import DesignError, Logo
from scanroute.qr.logo import MAX_LOGO_BYTES, parse_logo
from scanroute.services.common import require, utcnow
from scanroute.storage.db import Database
from scanroute.storage.paging import ListQuery, Page
from scanroute.storage.qr import (
    LogoRecord,
    code_designs,
    list_logos,
    logo_by_sha,
    logo_data,
    logo_record,
    template_designs,
)
from scanroute.storage.schema import logos

if TYPE_CHECKING:
    from scanroute.services.qr import QrService

__all__ = ["LogoService", "TooLarge", "check_svg_safe", "sniff_mime"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_ACTIVE = {"script", "foreignobject", "iframe", "object", "embed", "animate", "set", "animatemotion",
           "animatetransform", "handler", "listener", "audio", "video"}  # fmt: skip
_SAFE_HREF = re.compile(r"#[\w.:-]*|data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*", re.I)
_STYLE_URL = re.compile(r"url\(\s*['\"]?(?!#)|@import|expression\s*\(|javascript:", re.I)


class TooLarge(DomainError):
    """An upload above the size limit."""

    status = 413
    title = "Payload too large"


def sniff_mime(data: bytes, declared: str | None = None) -> str:
    """``image/png`` or ``image/svg+xml`` from the bytes (the declared type is only a hint)."""
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in data[:4096].lower():
        return "image/svg+xml"
    hint = (declared or "").split(";")[0].strip().lower()
    raise Invalid(f"must be a PNG or SVG file (declared as {hint or 'nothing'})", field="file")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def check_svg_safe(data: bytes) -> None:
    """Refuse SVG logos with scripts, event handlers or external references (``Invalid``)."""
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPE/entities already refused by Logo
    except ET.ParseError as exc:
        raise Invalid(f"SVG is not well-formed XML ({exc})", field="file") from exc
    for el in root.iter():
        name = _local(str(el.tag))
        if name in _ACTIVE:
            raise Invalid(f"SVG must not contain <{name}> elements", field="file")
        if name == "style" and el.text and _STYLE_URL.search(el.text):
            raise Invalid("SVG styles must not load anything (url(), @import)", field="file")
        for attr, value in el.attrib.items():
            local = _local(attr)
            if local.startswith("on"):
                raise Invalid(f"SVG must not contain event handlers ({local})", field="file")
            if local in ("href", "src") and not _SAFE_HREF.fullmatch(value.strip()):
                raise Invalid("SVG must not reference external resources (href)", field="file")
            if local == "style" and _STYLE_URL.search(value):
                raise Invalid("SVG styles must not load anything (url(), @import)", field="file")
            if _STYLE_URL.search(value) and local not in ("d", "points", "transform"):
                raise Invalid(f"SVG attribute {local} must not load anything", field="file")


class LogoService:
    """Upload, list, read and delete a workspace's logos."""

    def __init__(self, db: Database, qr: QrService) -> None:
        self.db = db
        self.qr = qr

    def upload(
        self, principal: Principal, data: bytes, *, name: str | None = None, content_type: str | None = None
    ) -> tuple[LogoRecord, bool]:
        """Store a logo; returns (record, created) — ``created`` is false for a known file."""
        require(principal, Role.EDITOR, "uploading logos")
        if len(data) > MAX_LOGO_BYTES:
            raise TooLarge(f"is {len(data)} bytes; the limit is {MAX_LOGO_BYTES}", field="file")
        if not data:
            raise Invalid("is empty", field="file")
        mime = sniff_mime(data, content_type)
        label = (name or "").strip()[:100] or ("logo.png" if mime == "image/png" else "logo.svg")
        try:
            with self.db.write() as conn:
                return self._store(conn, principal.workspace_id, data, mime, label)
        except IntegrityError:  # the same file uploaded concurrently: answer the stored one
            with self.db.read() as conn:
                found = logo_by_sha(conn, principal.workspace_id, hashlib.sha256(data).hexdigest())
            if found is None:
                raise
            return found, False

    def store_inline(self, conn: Connection, workspace_id: int, value: Mapping[str, Any]) -> LogoRecord:
        """Store an inline ``{"mime", "data"}`` logo from a design (raises ``DesignError``)."""
        logo = parse_logo(value)
        if logo.mime == "image/svg+xml":
            try:
                check_svg_safe(logo.data)
            except Invalid as exc:
                raise DesignError("logo.data", exc.detail) from None
        record, _ = self._store(conn, workspace_id, logo.data, logo.mime, "inline logo")
        return record

    def _store(
        self, conn: Connection, workspace_id: int, data: bytes, mime: str, name: str
    ) -> tuple[LogoRecord, bool]:
        try:
            Logo(data=data, mime=mime)  # type: ignore[arg-type]
        except DesignError as exc:
            raise Invalid(exc.reason, field="file") from None
        if mime == "image/svg+xml":
            check_svg_safe(data)
        digest = hashlib.sha256(data).hexdigest()
        existing = logo_by_sha(conn, workspace_id, digest)
        if existing is not None:
            return existing, False
        conn.execute(
            insert(logos).values(
                workspace_id=workspace_id, name=name, mime=mime, data=data, sha256=digest, created_at=utcnow()
            )
        )
        record = logo_by_sha(conn, workspace_id, digest)
        assert record is not None
        return record, True

    def list(self, principal: Principal, query: ListQuery) -> Page[LogoRecord]:
        """A page of the workspace's logos (metadata only)."""
        with self.db.read() as conn:
            return list_logos(conn, principal.workspace_id, query)

    def get(self, principal: Principal, ident: int) -> LogoRecord:
        """One logo's metadata."""
        with self.db.read() as conn:
            found = logo_record(conn, principal.workspace_id, ident)
        if found is None:
            raise NotFound(f"logo {ident} does not exist")
        return found

    def content(self, principal: Principal, ident: int) -> tuple[bytes, str]:
        """A logo's bytes and media type."""
        with self.db.read() as conn:
            found = logo_data(conn, principal.workspace_id, ident)
        if found is None:
            raise NotFound(f"logo {ident} does not exist")
        return found

    def delete(self, principal: Principal, ident: int) -> None:
        """Delete a logo that no template or code design refers to (``Conflict`` otherwise)."""
        require(principal, Role.EDITOR, "deleting logos")
        ref = str(ident)
        with self.db.write() as conn:
            if logo_record(conn, principal.workspace_id, ident) is None:
                raise NotFound(f"logo {ident} does not exist")
            users = [
                f"code {slug}" for slug, d in code_designs(conn, principal.workspace_id) if _refers(d, ref)
            ]
            users += [
                f"template {name}"
                for name, d in template_designs(conn, principal.workspace_id)
                if _refers(d, ref)
            ]
            if users:
                shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
                raise Conflict(f"logo {ident} is used by {shown}; change those designs first")
            conn.execute(
                delete(logos).where(logos.c.workspace_id == principal.workspace_id, logos.c.id == ident)
            )
        self.qr.forget_logo(principal.workspace_id, ident)


def _refers(design: Mapping[str, Any], ref: str) -> bool:
    logo = design.get("logo")
    return isinstance(logo, Mapping) and str(logo.get("ref")) == ref
