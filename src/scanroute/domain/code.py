"""Codes: the printed touchpoints. Slug and destination rules live here."""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scanroute.domain.errors import Invalid

# No 0/O, 1/l/I, and no vowels that spell words by accident.
SLUG_ALPHABET = "23456789bcdfghjkmnpqrstvwxyzBCDFGHJKLMNPQRSTVWXYZ"
CUSTOM_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
RESERVED_SLUGS = frozenset(
    {
        "api",
        "app",
        "static",
        "assets",
        "healthz",
        "readyz",
        "metrics",
        "t",
        "c",
        "qr",
        "login",
        "logout",
        "admin",
        "docs",
        "favicon.ico",
        "robots.txt",
        "well-known",
        ".well-known",
        "sitemap.xml",
        "humans.txt",
        "security.txt",
    }
)
MAX_URL_LENGTH = 2048
APP_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{1,31}$")
FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "blob", "about", "ftp"})


class CodeStatus(enum.StrEnum):
    """Lifecycle of a code: active codes redirect; paused and archived use the fallback."""

    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class CodeKind(enum.StrEnum):
    """Dynamic codes redirect through us; static codes carry their payload themselves."""

    DYNAMIC = "dynamic"
    STATIC = "static"


@dataclass(frozen=True, slots=True)
class Code:
    """A code as stored."""

    id: int
    workspace_id: int
    slug: str
    kind: CodeKind
    destination: str | None
    payload: str | None
    status: CodeStatus
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    title: str
    tags: tuple[str, ...]
    utm: dict[str, str]
    expires_at: datetime | None
    scan_limit: int | None
    fallback_url: str | None
    timezone: str | None
    rules: list[Any]
    options: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    domain: str = field(default="")
    payload_type: str | None = None
    design: dict[str, Any] | None = None
    template_id: int | None = None
    qa: dict[str, Any] | None = None


def random_slug(length: int) -> str:
    """A random slug from the unambiguous alphabet."""
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(length))


def validate_slug(slug: str) -> str:
    """Check a custom slug: 3-64 characters of letters, digits, ``-`` and ``_``, not reserved."""
    if not CUSTOM_SLUG.match(slug):
        raise Invalid(
            "must be 3-64 characters: letters, digits, '-' or '_', starting with a letter or digit",
            field="slug",
        )
    if slug.lower() in RESERVED_SLUGS:
        raise Invalid(f"'{slug}' is reserved for the application's own paths", field="slug")
    return slug


def normalise_url(url: str, *, field_name: str = "destination", allow_app: bool = False) -> str:
    """Validate and normalise a destination URL.

    Only ``http`` and ``https`` (and, with ``allow_app``, custom app schemes for deep links);
    never ``javascript:``, ``data:``, ``file:``. Scheme and host are lower-cased, the length is
    limited, and surrounding white space is removed.
    """
    url = url.strip()
    if not url:
        raise Invalid("must not be empty", field=field_name)
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"must be at most {MAX_URL_LENGTH} characters", field=field_name)
    if any(ch in url for ch in "\r\n\t\x00") or any(ord(ch) < 32 for ch in url):
        raise Invalid("must not contain control characters", field=field_name)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise Invalid(f"is not a valid URL ({exc})", field=field_name) from exc
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise Invalid("must include a host", field=field_name)
        try:
            port = parts.port
        except ValueError as exc:
            raise Invalid("has an invalid port", field=field_name) from exc
        host = parts.hostname.lower()
        if ":" in host:
            host = f"[{host}]"
        netloc = host if port is None else f"{host}:{port}"
        if parts.username or parts.password:
            raise Invalid("must not contain credentials", field=field_name)
        path = parts.path or "/"
        return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))
    if allow_app and scheme and scheme not in FORBIDDEN_SCHEMES and APP_SCHEME.match(scheme):
        return url
    raise Invalid("must be an http or https URL", field=field_name)
