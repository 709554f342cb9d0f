"""Row ids: the range the store's integer id columns hold, and reading one from text."""

from __future__ import annotations

MAX_ROW_ID = 2_147_483_647  # row ids are 32-bit integer columns, in SQLite and PostgreSQL alike


def row_id(text: str) -> int | None:
    """``text`` as a row id, or ``None`` unless it is ASCII digits (``str.isdigit`` alone also
    takes "²", which ``int`` refuses) naming a number from 1 to :data:`MAX_ROW_ID`."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ROW_ID else None
