"""Static files of the dashboard with long cache lifetimes (their URLs carry a content version)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

CACHE_FOREVER = "public, max-age=31536000, immutable"


class StaticAssets(StaticFiles):
    """``StaticFiles`` that marks every file cacheable for a year and never sniffable."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        """The file, with ``Cache-Control`` and ``X-Content-Type-Options`` headers."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = CACHE_FOREVER
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
