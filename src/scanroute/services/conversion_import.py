"""POS import: a till system's CSV export → conversions, with a report row by row.

Policy (documented in docs/conversions.md): a malformed file imports nothing (``Invalid`` on
``file`` or ``mapping``). Otherwise every row is classified -- ``matched`` (its coupon or scan id
ties it to a scan), ``unmatched`` (stored, unattributed), ``duplicate`` (its order id was already
recorded, or repeats an earlier row) or ``invalid`` (with the reason) -- inside ONE transaction.
The import is all-or-nothing by default: one invalid row and nothing is stored (the report says
why); ``skip_invalid`` stores the other rows. ``dry_run`` reports and stores nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, StringConstraints

from scanroute.attribution.pos import Malformed, check_mapping, parse_amount, parse_time, read_rows
from scanroute.domain.errors import Conflict, DomainError, Invalid
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import Currency, Input, require, utcnow
from scanroute.services.conversions import ConversionService, Outcome
from scanroute.services.intake_rules import ConversionIn, Prepared, prepare
from scanroute.storage import attribution as settings_store
from scanroute.storage.db import Database

Status = Literal["matched", "unmatched", "duplicate", "invalid"]
POLICY_ALL = "all-or-nothing: an invalid row blocks the whole import"
POLICY_SKIP = "skip_invalid: invalid rows are left out, the others are imported"


class ImportOptions(Input):
    """How to read a POS file: the column mapping and defaults for what it lacks."""

    mapping: dict[str, str] = Field(
        description="field → column, fields: order_id, occurred_at, value, currency, coupon_code, "
        "scan_id, store, type, external_id (order_id, occurred_at and one of coupon_code/scan_id/"
        "external_id are required)."
    )
    currency: Currency | None = Field(None, description="Currency of rows without one (default: reporting).")
    type: Annotated[str, StringConstraints(to_lower=True, max_length=40)] = "purchase"
    dry_run: bool = False
    skip_invalid: bool = False


@dataclass(frozen=True, slots=True)
class ImportRow:
    """The fate of one row."""

    line: int
    status: Status
    reason: str | None = None
    order_id: str | None = None
    conversion_id: int | None = None
    scan_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, when ``imported`` is false, would have done)."""

    imported: bool
    dry_run: bool
    policy: str
    counts: dict[str, int]
    rows: list[ImportRow] = field(default_factory=list)
    message: str = ""


class _Rollback(Exception):
    """Leaves the import's transaction without committing it."""


class ImportService:
    """Runs POS imports for the API and the CLI."""

    def __init__(self, db: Database, conversions: ConversionService) -> None:
        self.db = db
        self.conversions = conversions

    def run(self, principal: Principal, data: bytes, options: ImportOptions) -> ImportReport:
        """Import a CSV file; ``Invalid`` (field ``file`` or ``mapping``) when it is malformed."""
        require(principal, Role.EDITOR, "importing conversions")
        try:
            mapping = check_mapping(options.mapping)
            rows = read_rows(data, mapping)
        except Malformed as exc:
            where, _, reason = str(exc).partition(": ")
            raise Invalid(reason, field=where) from None
        with self.db.read() as conn:
            settings = settings_store.settings_of(conn, principal.workspace_id)
        zone, now = ZoneInfo(settings.timezone), utcnow()
        report: dict[int, ImportRow] = {}
        ready: list[tuple[int, Prepared]] = []
        seen: dict[str, tuple[int, str]] = {}
        for row in rows:
            try:
                prepared = prepare(_conversion(row.fields, options, zone), settings, now=now, source="pos")
            except DomainError as exc:
                report[row.line] = _invalid(row.line, exc, row.fields.get("order_id"))
                continue
            order = prepared.order_id or ""  # never empty: _conversion refuses rows without one
            if order in seen:
                first_line, first_hash = seen[order]
                report[row.line] = (
                    ImportRow(row.line, "duplicate", f"repeats line {first_line}", order)
                    if first_hash == prepared.hash
                    else ImportRow(
                        row.line, "invalid", f"order_id: repeats line {first_line} with other data", order
                    )
                )
                continue
            seen[order] = (row.line, prepared.hash)
            ready.append((row.line, prepared))
        invalid = any(r.status == "invalid" for r in report.values())
        commit = not options.dry_run and (options.skip_invalid or not invalid)
        try:
            with self.db.write() as conn:
                results = self.conversions.store_each(
                    conn, principal.workspace_id, [p for _, p in ready], lenient=True
                )
                for (line, prepared), result in zip(ready, results, strict=True):
                    report[line] = _classify(line, prepared, result)
                invalid = any(r.status == "invalid" for r in report.values())
                if not commit or (invalid and not options.skip_invalid):
                    raise _Rollback
        except _Rollback:
            commit = False
        ordered = [report[line] for line in sorted(report)]
        counts: Counter[str] = Counter(r.status for r in ordered)
        return ImportReport(
            imported=commit,
            dry_run=options.dry_run,
            policy=POLICY_SKIP if options.skip_invalid else POLICY_ALL,
            counts={s: counts.get(s, 0) for s in ("matched", "unmatched", "duplicate", "invalid")},
            rows=ordered,
            message=_message(commit, options, counts),
        )


def _conversion(fields: dict[str, str], options: ImportOptions, zone: ZoneInfo) -> ConversionIn:
    if not fields["order_id"]:
        raise Invalid(
            "is empty (each sale needs its order id: it makes the import idempotent)", field="order_id"
        )
    # a sale happened whatever its coupon or scan id says: rows that match no scan are kept, unmatched
    values: dict[str, Any] = {"type": fields.get("type") or options.type, "order_id": fields["order_id"]}
    values["unattributed"] = True
    try:
        values["occurred_at"] = parse_time(fields["occurred_at"], zone)
    except ValueError as exc:
        raise Invalid(str(exc), field="occurred_at") from None
    if fields.get("value"):
        try:
            values["value"] = parse_amount(fields["value"])
        except ValueError as exc:
            raise Invalid(str(exc), field="value") from None
        values["currency"] = fields.get("currency") or options.currency
    for name in ("coupon_code", "scan_id", "external_id"):
        if fields.get(name):
            values[name] = fields[name]
    if fields.get("store"):
        values["metadata"] = {"store": fields["store"][:500]}
    return ConversionIn.parse_item(values)


def _invalid(line: int, exc: DomainError, order_id: str | None) -> ImportRow:
    reason = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    return ImportRow(line, "invalid", reason, order_id or None)


def _classify(line: int, p: Prepared, result: Outcome | DomainError) -> ImportRow:
    if isinstance(result, Conflict) and result.field in ("order_id", "idempotency_key"):
        return ImportRow(line, "duplicate", f"order_id: {result.detail}", p.order_id)
    if isinstance(result, DomainError):
        return _invalid(line, result, p.order_id)
    conv = result.conversion
    if result.note != "created":
        return ImportRow(
            line, "duplicate", f"order already recorded as conversion {conv.id}", p.order_id, conv.id
        )
    if result.attributed:
        return ImportRow(line, "matched", None, p.order_id, conv.id, conv.scan_id)
    reason = (
        "no coupon or scan id" if not (p.coupon_code or p.scan_id) else "coupon or scan not found or used"
    )
    return ImportRow(line, "unmatched", reason, p.order_id, conv.id)


def _message(committed: bool, options: ImportOptions, counts: Counter[str]) -> str:
    if options.dry_run:
        return "dry run: nothing was stored"
    if committed:
        return f"imported {counts['matched'] + counts['unmatched']} conversion(s)"
    return (
        f"nothing was imported: {counts['invalid']} invalid row(s) "
        f"({POLICY_ALL}; fix them or use skip_invalid)"
    )
