"""Error types of the QR studio, each naming the offending field for API problem responses."""

from __future__ import annotations

__all__ = ["DesignError", "PayloadError"]


class DesignError(ValueError):
    """An invalid design option; ``field`` is a dotted path such as ``logo.mime``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PayloadError(ValueError):
    """An invalid payload field; ``field`` names it (``phones[0].number``, ``ssid``, …)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
