"""Static payloads as codes carry them: build from structured fields, or validate raw text.

``static_payload(payload_type, payload)`` returns the columns stored on a static code
(``payload`` text and ``payload_type``):

* structured fields (an object) are built with :func:`scanroute.qr.build_payload`; the type is
  required;
* raw text is parsed back with :func:`scanroute.qr.parse_payload`, which recognises Wi-Fi,
  vCard, MeCard, event, geo, mailto, SMS and tel payloads; when a type is given the text must be
  of that type (``text`` accepts anything);
* errors name the field: ``payload.ssid``, ``payload.phones[0].number``, ``payload_type`` …
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from scanroute.domain.errors import Invalid
from scanroute.qr import PayloadError, build_payload, parse_payload

__all__ = ["PAYLOAD_TYPES", "PayloadType", "payload_fields", "static_payload"]

PayloadType = Literal["text", "url", "wifi", "vcard", "mecard", "geo", "email", "sms", "phone", "event"]
PAYLOAD_TYPES: tuple[str, ...] = get_args(PayloadType)
MAX_PAYLOAD = 4000


def _invalid(exc: PayloadError) -> Invalid:
    field = exc.field if exc.field not in PAYLOAD_TYPES else ""
    return Invalid(exc.reason, field=f"payload.{field}" if field and field != "payload" else "payload")


def static_payload(payload_type: str | None, payload: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"payload": text, "payload_type": type}`` for a static code, or ``Invalid``."""
    if payload is None:
        if payload_type is not None:
            raise Invalid("give the payload together with its payload_type", field="payload")
        return {"payload": None, "payload_type": None}
    if payload_type is not None and payload_type not in PAYLOAD_TYPES:
        raise Invalid(f"must be one of {', '.join(PAYLOAD_TYPES)}", field="payload_type")
    if isinstance(payload, Mapping):
        if payload_type is None:
            raise Invalid("is required with a structured payload", field="payload_type")
        if "type" in payload:
            raise Invalid("give the type as payload_type, not inside the payload", field="payload.type")
        fields = dict(payload)
        if payload_type in ("text", "url") and set(fields) - {"text", "url"}:
            extra = sorted(set(fields) - {"text", "url"})[0]
            raise Invalid("is not a field of this payload type", field=f"payload.{extra}")
        try:
            text = build_payload({"type": payload_type, **fields})
        except PayloadError as exc:
            raise _invalid(exc) from None
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise Invalid(f"is not valid for {payload_type} ({exc})", field="payload") from None
        if payload_type == "url":
            _check_url(text)
    elif isinstance(payload, str):
        if not payload or "\x00" in payload:
            raise Invalid("must be non-empty text without NUL characters", field="payload")
        text = payload
        try:
            found, _ = parse_payload(text)
        except PayloadError as exc:
            raise _invalid(exc) from None
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise Invalid(f"cannot be parsed ({exc})", field="payload") from None
        if payload_type not in (None, "text", found):
            raise Invalid(f"is a {found} payload, not {payload_type}", field="payload")
        payload_type = payload_type or found
        if payload_type == "url":
            _check_url(text)
    else:
        raise Invalid("must be text or an object of fields", field="payload")
    if len(text) > MAX_PAYLOAD:
        raise Invalid(f"is {len(text)} characters encoded; the limit is {MAX_PAYLOAD}", field="payload")
    return {"payload": text, "payload_type": payload_type}


def _check_url(text: str) -> None:
    from scanroute.domain.code import normalise_url

    normalise_url(text, field_name="payload.url")


def payload_fields(text: str) -> tuple[str, object]:
    """The type and parsed value of a stored payload (for display and export)."""
    return parse_payload(text)
