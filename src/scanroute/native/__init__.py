"""The compiled parts of the scan path (C, built at install by ``hatch_build.py``).

``scanpath`` holds the request steps that run on every scan, where the interpreter's own
overhead was most of their cost: the scan context of an ordinary request
(``FastContext``: ``capture.context.ContextBuilder.build_python``), the scan id
(``new_scan_id``: ``capture.event``), the visitor hash (``keyed_hash``: ``capture.privacy``),
the routing rules (``Rules``: ``routing.engine.resolve``, lowered by ``routing.program``) and
the whole answer to a scan (``PlainScan``: ``redirect.handler``). Each has a Python reference
that stays in use for whatever the compiled part declines and where it is not installed
(``SCANROUTE_PURE_PYTHON=1`` at install); ``tests/native`` holds both to the same results.
``scanpath`` is ``None`` when the extension is not installed.
"""

from __future__ import annotations

try:
    from scanroute.native import scanpath
except ImportError:  # pragma: no cover - installed without a C compiler
    scanpath = None  # type: ignore[assignment]

__all__ = ["scanpath"]
