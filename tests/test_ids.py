"""Reading a row id from text (query parameters, references by name or id)."""

from __future__ import annotations

import pytest

from scanroute.domain.ids import MAX_ROW_ID, row_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        (str(MAX_ROW_ID), MAX_ROW_ID),
        (str(MAX_ROW_ID + 1), None),  # beyond the integer columns: no such row
        ("0", None),
        ("", None),
        ("-3", None),
        ("1.0", None),
        (" 7", None),
        ("\u00b2", None),  # "²": str.isdigit says yes, int() says no
        ("\u0661", None),  # Arabic-Indic one: int() would take it, a row id is ASCII
        ("9" * 40, None),
        ("spring-menu", None),
    ],
)
def test_row_id(text: str, expected: int | None) -> None:
    assert row_id(text) == expected
