"""Domain errors. Adapters translate them: the API into problem+json, the CLI into messages."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; ``status`` is the HTTP status an adapter should use."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Invalid(DomainError):
    """Input that breaks a rule (names the field)."""

    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    """The object does not exist in the caller's workspace."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request conflicts with existing state (duplicate slug, name …)."""

    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    """The caller's role does not allow this."""

    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    """No valid credentials."""

    status = 401
    title = "Unauthorized"
