"""What routing answers: :class:`Decision` and :class:`DecisionKind`.

A module of its own so that compiling can build every possible decision of a code ahead of
time (they are immutable and shared between requests) and ``engine.resolve`` only picks one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DecisionKind(enum.StrEnum):
    """How the visitor is sent on."""

    REDIRECT = "redirect"
    """A plain redirect to ``destination``."""
    APP = "app"
    """An app page (``deeplink.app_page``) that tries ``app_url`` then goes to ``fallback_url``."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Where one scan goes and why.

    For ``kind == "app"``, ``destination`` equals ``fallback_url`` (where the visitor lands if
    the app does not open), so a caller that only redirects still sends them somewhere useful.
    ``rule_index`` is ``None`` for the code's default destination. ``cap_keys``: the caller
    must add one use to each (for human scans; bots should not eat caps). ``errors``: indices
    of rules skipped because evaluating them raised.
    """

    destination: str
    kind: DecisionKind = DecisionKind.REDIRECT
    app_url: str | None = None
    fallback_url: str | None = None
    rule_index: int | None = None
    rule_name: str | None = None
    variant: int | None = None
    variant_label: str | None = None
    cap_keys: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
