"""The routing rules document: its JSON Schema and the validator the API answers with.

Owns :data:`RULES_SCHEMA` (JSON Schema Draft 2020-12, published by the API as it stands) and
:func:`validate_rules`, which reports every problem as a :class:`RuleProblem` whose ``field``
names the exact place (``rules[2].when.time.from``) and whose ``reason`` a person can act on.
Validation goes beyond the schema (real dates, ``from <= to``, IP/CIDR syntax, URL schemes, …)
through ``routing.rules.parse_rule``, the same code ``compile_code`` runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

# types-jsonschema is not installed in the project's environment yet
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped,unused-ignore]

from scanroute.routing.conditions import DAY_NAMES
from scanroute.routing.rules import InvalidRule, RuleProblem, field_path, parse_rule

__all__ = [
    "MAX_RULES",
    "MAX_VALUES",
    "RULES_SCHEMA",
    "RuleProblem",
    "rule_schema_problems",
    "validate_rules",
]

MAX_RULES = 50
"""Most rules one code may have."""
MAX_VALUES = 200
"""Most values in any one list (condition values, variants, query parameters)."""
MAX_TEXT = 200
MAX_URL = 4096

_TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
_DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_COUNTRY_PATTERN = "^[A-Za-z]{2}$"
_LANGUAGE_PATTERN = "^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$"
_PATTERN_REASONS = {
    _TIME_PATTERN: "must be a time as HH:MM between 00:00 and 23:59",
    _DATE_PATTERN: "must be a date as YYYY-MM-DD",
    _COUNTRY_PATTERN: "must be an ISO 3166-1 alpha-2 country code, such as DE",
    _LANGUAGE_PATTERN: "must be a language tag, such as de or de-AT",
}

_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
_URL = {"type": "string", "minLength": 1, "maxLength": MAX_URL, "format": "uri"}
_CAP = {"type": "integer", "minimum": 1, "description": "Most scans this may take."}


def _one_or_many(item: dict[str, Any]) -> dict[str, Any]:
    many = {"type": "array", "minItems": 1, "maxItems": MAX_VALUES, "items": item}
    return {"anyOf": [item, many]}


def _choice(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _bounds(item: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"from": item, "to": item},
        "additionalProperties": False,
        "minProperties": 1,
    }
    if required:
        schema["required"] = required
    return schema


_ORDINAL = {"type": "integer", "minimum": 1}

RULES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "scanroute routing rules",
    "description": "Ordered rules; the first whose 'when' holds and whose target is available "
    "wins, otherwise the code's destination.",
    "type": ["array", "null"],
    "maxItems": MAX_RULES,
    "items": {"$ref": "#/$defs/rule"},
    "$defs": {
        "rule": {
            "type": "object",
            "properties": {
                "name": _TEXT,
                "when": {"$ref": "#/$defs/when"},
                "to": _URL,
                "variants": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_VALUES,
                    "items": {"$ref": "#/$defs/variant"},
                },
                "app": {"$ref": "#/$defs/app"},
                "cap": _CAP,
                "allocation": {"enum": ["weights", "bandit"]},
            },
            "additionalProperties": False,
            "oneOf": [{"required": ["to"]}, {"required": ["variants"]}, {"required": ["app"]}],
        },
        "when": {
            "type": "object",
            "description": "Every key must hold; a list means any of its values.",
            "properties": {
                "device": _one_or_many(_choice("mobile", "tablet", "desktop")),
                "os": _one_or_many(_TEXT),
                "browser": _one_or_many(_TEXT),
                "language": _one_or_many({"type": "string", "pattern": _LANGUAGE_PATTERN}),
                "country": _one_or_many({"type": "string", "pattern": _COUNTRY_PATTERN}),
                "region": _one_or_many(_TEXT),
                "city": _one_or_many(_TEXT),
                "ip": _one_or_many({"type": "string", "minLength": 2, "maxLength": 64}),
                "query": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": MAX_VALUES,
                    "additionalProperties": {
                        "anyOf": [
                            {"type": "boolean"},
                            *_one_or_many({"type": "string", "maxLength": MAX_URL})["anyOf"],
                        ]
                    },
                },
                "dates": _bounds({"type": "string", "format": "date", "pattern": _DATE_PATTERN}),
                "days": _one_or_many(_choice(*DAY_NAMES)),
                "time": _bounds({"type": "string", "pattern": _TIME_PATTERN}, required=["from", "to"]),
                "visitor": _one_or_many(_choice("first", "returning")),
                "nth_scan": {
                    "type": "object",
                    "properties": {"min": _ORDINAL, "max": _ORDINAL},
                    "additionalProperties": False,
                    "minProperties": 1,
                },
            },
            "additionalProperties": False,
        },
        "variant": {
            "type": "object",
            "properties": {
                "to": _URL,
                "weight": {"type": "number", "exclusiveMinimum": 0},
                "cap": _CAP,
                "label": _TEXT,
            },
            "required": ["to", "weight"],
            "additionalProperties": False,
        },
        "app": {
            "type": "object",
            "properties": {
                "ios": {"$ref": "#/$defs/platform"},
                "android": {"$ref": "#/$defs/platform"},
                "web": _URL,
            },
            "required": ["web"],
            "anyOf": [{"required": ["ios"]}, {"required": ["android"]}],
            "additionalProperties": False,
        },
        "platform": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "minLength": 1, "maxLength": MAX_URL},
                "store": _URL,
            },
            "minProperties": 1,
            "additionalProperties": False,
        },
    },
}
"""JSON Schema (Draft 2020-12) of a code's ``rules`` field."""

Draft202012Validator.check_schema(RULES_SCHEMA)
_DOCUMENT = Draft202012Validator(RULES_SCHEMA)
_RULE = Draft202012Validator(
    {"$defs": RULES_SCHEMA["$defs"], "$ref": "#/$defs/rule"},
)
_TYPE_NAMES = {
    "string": "a string",
    "array": "a list",
    "object": "an object",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "null",
}

Path = tuple[str | int, ...]


def validate_rules(doc: object) -> list[RuleProblem]:
    """Every problem with a rules document; an empty list means it is valid.

    ``None`` and ``[]`` are valid (no rules). Each problem is reported once; a rule's deeper
    checks (dates, networks, URLs, …) run once its shape satisfies the schema.
    """
    if doc is None:
        return []
    found: list[tuple[int, RuleProblem]] = []  # (rule index or -1, problem)
    misshapen: set[int] = set()
    for path, reason in _schema_problems(_DOCUMENT, doc, ()):
        index = path[0] if path and isinstance(path[0], int) else -1
        misshapen.add(index)
        found.append((index, RuleProblem(field_path(path), reason)))
    if isinstance(doc, list):
        for index, rule in enumerate(doc):
            if index not in misshapen and isinstance(rule, dict):
                try:
                    parse_rule(rule, index)
                except InvalidRule as invalid:
                    found.extend((index, problem) for problem in invalid.problems)
                except Exception as error:  # noqa: BLE001 - a checker bug must not become a 500
                    found.append(
                        (index, RuleProblem(field_path((index,)), f"could not be checked: {error!r}"))
                    )
    found.sort(key=lambda item: item[0])
    return list(dict.fromkeys(problem for _, problem in found))


def rule_schema_problems(rule: object, index: int) -> list[RuleProblem]:
    """Schema problems of one rule taken out of a document (its fields say ``rules[index]``)."""
    return [RuleProblem(field_path(path), reason) for path, reason in _schema_problems(_RULE, rule, (index,))]


def _schema_problems(
    validator: Draft202012Validator, instance: object, prefix: Path
) -> Iterator[tuple[Path, str]]:
    for error in validator.iter_errors(instance):
        explained = list(_explain(error, prefix))
        # every schema error yields a problem, so "no problems" always means "well shaped"
        yield from explained or [((*prefix, *error.absolute_path), str(error.message))]


def _explain(error: ValidationError, prefix: Path) -> Iterator[tuple[Path, str]]:
    path: Path = (*prefix, *error.absolute_path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        for name in expected:
            if name not in instance:
                yield (*path, name), "is required"
    elif keyword == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for name in instance:
            if name not in known:
                yield (*path, name), _unknown(str(name), known)
    elif keyword in ("anyOf", "oneOf"):
        yield from _explain_choice(error, path, prefix)
    else:
        yield path, _reason(error)


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key ({hint}allowed: {', '.join(known)})"


def _explain_choice(error: ValidationError, path: Path, prefix: Path) -> Iterator[tuple[Path, str]]:
    branches: list[dict[str, Any]] = error.validator_value
    if all(list(branch) == ["required"] for branch in branches):
        if not isinstance(error.instance, dict):
            yield path, "must be an object"  # the same as the "type" error; deduplicated
            return
        names = [branch["required"][0] for branch in branches]
        present = [name for name in names if name in error.instance]
        quoted = ", ".join(f"'{name}'" for name in names)
        if error.validator == "anyOf":
            yield path, f"needs at least one of {quoted}"
        elif present:
            yield path, f"must have only one of {quoted} (found {', '.join(map(repr, present))})"
        else:
            yield path, f"needs one of {quoted}"
        return
    fitting = [
        position
        for position, branch in enumerate(branches)
        if "type" not in branch or _DOCUMENT.is_type(error.instance, branch["type"])
    ]
    if len(fitting) == 1:
        for sub in error.context or ():
            if sub.relative_schema_path[0] == fitting[0]:
                yield from _explain(sub, prefix)
        return
    shapes = [_TYPE_NAMES.get(str(branch.get("type")), "a value") for branch in branches]
    yield path, f"must be {' or '.join(shapes)}"


def _reason(error: ValidationError) -> str:
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_NAMES.get(str(kind), str(kind)) for kind in kinds)
    if keyword == "enum":
        return "must be one of: " + ", ".join(map(str, expected))
    if keyword == "pattern":
        return _PATTERN_REASONS.get(expected, "has an invalid format")
    if keyword in ("minLength", "minItems"):
        return "must not be empty"
    if keyword == "maxLength":
        return f"must be at most {expected} characters"
    if keyword in ("maxItems", "maxProperties"):
        return f"has {len(instance)} entries; at most {expected} are allowed"
    if keyword == "minProperties":
        names = list(error.schema.get("properties", {}))
        return f"needs at least one of {', '.join(names)}" if names else "must not be empty"
    if keyword == "minimum":
        return f"must be at least {expected}"
    if keyword == "exclusiveMinimum":
        return f"must be greater than {expected}"
    return str(error.message)
