"""Point-of-sale CSV files: the column mapping, the file's structure, and one row's fields.

Owns reading an export of a till system into plain per-row field dictionaries, refusing a file
whose structure is broken (not UTF-8, no header, a mapped column missing, a row with the wrong
number of fields, too many rows) with ``Malformed`` before anything is stored. What a row means
(a conversion, matched or not) is the import service's business.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from zoneinfo import ZoneInfo

FIELDS: Final = (
    "order_id",
    "occurred_at",
    "value",
    "currency",
    "coupon_code",
    "scan_id",
    "store",
    "type",
    "external_id",
)
"""What a column can be mapped to; ``store`` (store or placement name) lands in metadata."""
REQUIRED: Final = ("order_id", "occurred_at")
IDENTIFYING: Final = ("coupon_code", "scan_id", "external_id")
MAX_ROWS: Final = 20_000
MAX_BYTES: Final = 10 * 1024 * 1024
DELIMITERS: Final = ",;\t|"


class Malformed(ValueError):
    """The file (or its mapping) cannot be read as a whole; nothing of it may be imported."""


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its line number in the file (header = 1) and its mapped fields."""

    line: int
    fields: dict[str, str]


def check_mapping(mapping: Mapping[str, object]) -> dict[str, str]:
    """A valid mapping ``field -> column name``; ``Malformed`` names what is wrong."""
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise Malformed(f"mapping: unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    out: dict[str, str] = {}
    for name, column in mapping.items():
        if not isinstance(column, str) or not column.strip() or len(column) > 200:
            raise Malformed(f"mapping: {name} must name a column (1-200 characters)")
        out[name] = column.strip()
    missing = [f for f in REQUIRED if f not in out]
    if missing:
        raise Malformed(f"mapping: {', '.join(missing)} must be mapped to a column")
    if not any(f in out for f in IDENTIFYING):
        raise Malformed("mapping: map coupon_code, scan_id or external_id (what ties a sale to a scan)")
    return out


def parse_mapping_pairs(pairs: str) -> dict[str, str]:
    """``order_id=Order,occurred_at=Time`` (the CLI form) into a mapping dict."""
    out: dict[str, str] = {}
    for part in pairs.split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        if not sep:
            raise Malformed(f"mapping: '{part}' is not field=Column")
        out[name.strip()] = column.strip()
    return out


def read_rows(data: bytes, mapping: Mapping[str, str]) -> list[Row]:
    """Every non-empty data row of a CSV file, with the mapped fields only.

    Accepts UTF-8 (with or without a byte-order mark) and ``,``, ``;``, tab or ``|`` delimiters
    (sniffed from the header line). Raises ``Malformed`` for anything structural.
    """
    if len(data) > MAX_BYTES:
        raise Malformed(f"file: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Malformed(f"file: not UTF-8 text (line {line}, byte {exc.start})") from None
    if "\x00" in text:
        raise Malformed("file: contains NUL bytes; not a CSV text file")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise Malformed("file: empty, or no header line")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, delimiters=DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [h.strip() for h in next(reader)]
        if len(set(header)) != len(header):
            raise Malformed("file: the header repeats a column name")
        missing = [column for column in mapping.values() if column not in header]
        if missing:
            raise Malformed(f"file: mapped column(s) not in the header: {', '.join(missing)}")
        index = {name: header.index(column) for name, column in mapping.items()}
        rows: list[Row] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise Malformed(
                    f"file: line {reader.line_num} has {len(record)} fields, the header {len(header)}"
                )
            if len(rows) >= MAX_ROWS:
                raise Malformed(f"file: more than {MAX_ROWS} rows; split it")
            rows.append(Row(reader.line_num, {name: record[i].strip() for name, i in index.items()}))
    except csv.Error as exc:
        raise Malformed(f"file: not readable as CSV (line {reader.line_num}: {exc})") from None
    return rows


def parse_time(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 time; without an offset it is read in ``zone`` (the workspace's time zone)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 time (e.g. 2026-05-01 12:30)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_amount(text: str) -> Decimal:
    """A decimal amount: ``12.34``, or ``12,34`` when a comma is the only separator."""
    cleaned = text.strip().replace(" ", "")
    if "," in cleaned and "." not in cleaned and cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"'{text}' is not an amount (e.g. 12.34)") from None
    if not amount.is_finite():
        raise ValueError(f"'{text}' is not an amount (e.g. 12.34)")
    return amount
