"""The conversion pixel ``/c``: check the signature, then record through the conversion service.

Runs in a worker thread (the edge calls ``Pixel.record`` with ``asyncio.to_thread``); answers an
HTTP status only, never a body, so a forged or mistaken pixel learns nothing beyond it:
200 recorded (or replayed), 400 malformed parameters, 403 missing/forged signature or unknown
workspace, 409 an order id reused with other data, 422 a conversion the API would refuse.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from scanroute.attribution.pixel import PIXEL_PARAMS, SIGNATURE_PARAM, verify
from scanroute.bootstrap import Container
from scanroute.domain.errors import DomainError
from scanroute.domain.workspace import Principal, Role
from scanroute.services.intake_rules import ConversionIn
from scanroute.storage.attribution import ensure_pixel_secret, pixel_secret, workspace_id_of

log = logging.getLogger("scanroute.pixel")
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
"""A transparent 1×1 GIF (43 bytes)."""


class Pixel:
    """Signed conversion pixels for one process."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def record(self, params: list[tuple[str, str]]) -> int:
        """Verify and record one pixel request; returns the HTTP status to answer."""
        names = [k for k, _ in params]
        if len(set(names)) != len(names) or not set(names) <= PIXEL_PARAMS:
            return 400
        fields = dict(params)
        signature, slug = fields.get(SIGNATURE_PARAM, ""), fields.get("w", "")
        if not signature or not slug or len(slug) > 40:
            return 403
        db = self.container.db
        with db.read() as conn:
            workspace_id = workspace_id_of(conn, slug)
            secret = pixel_secret(conn, workspace_id) if workspace_id is not None else ""
        if workspace_id is None:
            return 403
        if not secret:
            with db.write() as conn:  # a workspace from before pixel secrets: give it one now
                secret = ensure_pixel_secret(conn, workspace_id)
        if not verify(secret, params, signature):
            return 403
        try:
            data = _conversion(fields)
        except (ValidationError, ValueError, OverflowError, OSError):
            return 400
        key = None if data.order_id else f"pixel:{signature.lower()[:64]}"
        principal = Principal(workspace_id=workspace_id, role=Role.EDITOR)
        try:
            self.container.conversions.record(principal, data, header_key=key, source="pixel")
        except DomainError as exc:
            return exc.status
        except Exception:  # a pixel never becomes a 500 with a body
            log.exception("pixel conversion failed")
            return 503
        return 200


def _conversion(fields: dict[str, str]) -> ConversionIn:
    values: dict[str, Any] = {"type": fields.get("type", "")}
    for name, target in (
        ("sid", "scan_id"),
        ("value", "value"),
        ("currency", "currency"),
        ("order_id", "order_id"),
        ("external_id", "external_id"),
        ("coupon", "coupon_code"),
    ):
        if fields.get(name):
            values[target] = fields[name]
    if fields.get("ts"):
        seconds = int(fields["ts"])
        values["occurred_at"] = datetime.fromtimestamp(seconds, UTC)
    return ConversionIn.model_validate(values)
