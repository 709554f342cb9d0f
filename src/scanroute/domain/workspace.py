"""Workspaces, users, roles and API keys: who may do what inside which tenant."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from scanroute.domain.errors import Invalid

WORKSPACE_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
KEY_PREFIX = "sr_"


class Role(enum.StrEnum):
    """Workspace roles, weakest first."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        """Position in the hierarchy (viewer 0 … owner 3)."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role is at least ``needed``."""
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class Workspace:
    """A tenant: every object belongs to exactly one."""

    id: int
    slug: str
    name: str
    currency: str
    timezone: str
    created_at: datetime
    attribution_model: str = "last"
    lookback_days: int = 30
    half_life_hours: int = 168


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting inside one workspace."""

    workspace_id: int
    role: Role
    key_id: int | None = None
    user_id: int | None = None

    def can(self, needed: Role) -> bool:
        """True when the caller's role is at least ``needed``."""
        return self.role.allows(needed)


def validate_workspace_slug(slug: str) -> str:
    """Return the slug or raise ``Invalid`` naming the reason."""
    if not WORKSPACE_SLUG.match(slug):
        raise Invalid("must be 1-40 lower-case letters, digits or inner hyphens", field="slug")
    return slug


def validate_email(email: str) -> str:
    """Normalise (lower-case, trimmed) and check an e-mail address."""
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise Invalid("is not a valid e-mail address", field="email")
    return email


def new_api_key() -> tuple[str, str, str]:
    """Generate a key; returns (secret shown once, visible prefix, SHA-256 hex to store)."""
    body = secrets.token_urlsafe(30)
    key = f"{KEY_PREFIX}{body}"
    return key, key[: len(KEY_PREFIX) + 6], hash_api_key(key)


def hash_api_key(key: str) -> str:
    """SHA-256 hex of a key: the only form ever stored."""
    return hashlib.sha256(key.encode()).hexdigest()
