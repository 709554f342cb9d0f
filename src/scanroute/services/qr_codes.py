"""What ``CodeService`` asks of the QR studio while it saves a code (inside its transaction).

:meth:`CodeStudio.on_save` resolves ``template`` (name or id) to ``template_id``, stores the code's
own ``design`` (inline logos become workspace logos), refuses a payload on a dynamic code,
validates the effective design (template + own design), and runs print QA whenever what the image
looks like or carries may have changed: on create, and on an update of ``design``, ``template`` or
``payload`` (a destination change never changes the image, so it never re-runs QA). A design that
does not decode is refused with the reasons (:class:`QaRefused`) unless ``force`` is set; the
report is stored in ``codes.qa`` either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scanroute.domain.code import Code, CodeKind
from scanroute.domain.errors import Invalid
from scanroute.qr import RenderError
from scanroute.services.qr_qa import QaRefused, QaRun

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy import Connection

    from scanroute.services.qr import QrService

__all__ = ["CodeStudio"]


class CodeStudio:
    """The QR part of saving a code."""

    def __init__(self, qr: QrService) -> None:
        self.qr = qr

    def new_run(self, *, per_code: bool = True) -> QaRun:
        """A QA run shared by the codes of one save (see :class:`QaRun`)."""
        return self.qr.new_run(per_code=per_code)

    def on_save(
        self,
        conn: Connection,
        workspace_id: int,
        slug: str,
        data: BaseModel,
        values: dict[str, Any],
        current: Code | None,
        run: QaRun,
    ) -> None:
        """Complete ``values`` with the QR columns and the QA report, or raise ``Invalid``."""
        fields = data.model_fields_set
        kind: CodeKind = current.kind if current is not None else data.kind  # type: ignore[attr-defined]
        if kind is CodeKind.DYNAMIC and (values.get("payload") is not None or values.get("payload_type")):
            raise Invalid(
                "only static codes carry a payload; a dynamic code's image encodes its short URL",
                field="payload",
            )
        if "template" in fields:
            ref = getattr(data, "template", None)
            if ref is not None and ("template", ref) not in run.lookups:
                run.lookups["template", ref] = self.qr.template(conn, workspace_id, ref).id
            values["template_id"] = None if ref is None else run.lookups["template", ref]
        if "design" in fields:
            own = getattr(data, "design", None)
            values["design"] = self.qr.store_design(conn, workspace_id, own) if own else None
        changed = current is None or any(k in values for k in ("template_id", "design", "payload"))
        if not changed and current is not None and current.qa is not None:
            return
        template_id = values["template_id"] if "template_id" in values else _attr(current, "template_id")
        own_design = values["design"] if "design" in values else _attr(current, "design")
        design = self.qr.build(
            conn, workspace_id, self.qr.layers(conn, workspace_id, template_id, own_design)
        )
        if kind is CodeKind.STATIC:
            content = values["payload"] if "payload" in values else _attr(current, "payload")
            if not content:
                raise Invalid("is required for a static code", field="payload")
        else:
            content = self.qr.short_url(slug)
        try:
            report = run.report(str(content), design)
        except RenderError as exc:
            field = "payload" if kind is CodeKind.STATIC else "design.ecc"
            raise Invalid(str(exc), field=field) from None
        if not (report["decodes"] and report["matches"]) and not getattr(data, "force", False):
            raise QaRefused(report)
        values["qa"] = report


def _attr(code: Code | None, name: str) -> Any:
    return None if code is None else getattr(code, name)
