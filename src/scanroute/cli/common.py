"""Shared CLI plumbing: the container, the CLI principal, output and error handling."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ParamSpec, TypeVar

import orjson
import typer
from pydantic import ValidationError

from scanroute.bootstrap import Container, build
from scanroute.domain.errors import DomainError
from scanroute.domain.workspace import Principal, Role
from scanroute.settings import load_settings

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def container(*, migrate: bool = True) -> Iterator[Container]:
    """A container for one CLI command (migrations applied first)."""
    ctr = build(load_settings(), apply_migrations=migrate)
    try:
        yield ctr
    finally:
        ctr.close()


def as_owner(ctr: Container, workspace: str | None) -> Principal:
    """The CLI acts as the owner of the named workspace (default: ``default``, created if new)."""
    ws = ctr.workspaces.ensure(workspace)
    return Principal(workspace_id=ws.id, role=Role.OWNER)


def _default(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(type(value).__name__)


def emit(data: Any, *, as_json: bool, lines: Callable[[Any], str] | None = None) -> None:
    """Print as JSON (``--json``) or as plain lines."""
    if as_json:
        sys.stdout.write(orjson.dumps(data, default=_default, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif lines is not None:
        text = lines(data)
        if text:
            typer.echo(text)


def fail(message: str, code: int = 1) -> None:
    """Print an error to stderr and exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain and validation errors into a clear message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            fail(f"{exc.field}: {exc.detail}" if exc.field else exc.detail)
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "input"
                parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
            fail("; ".join(parts))
        raise AssertionError("unreachable")

    return wrapper
