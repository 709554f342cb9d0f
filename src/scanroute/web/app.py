"""Assembles the ASGI application: the redirect edge in front of the API and dashboard."""

from __future__ import annotations

from typing import Any

from scanroute.bootstrap import Container, build
from scanroute.observability.logs import configure as configure_logs
from scanroute.settings import load_settings
from scanroute.web.api import build_api
from scanroute.web.edge import Edge


def create_app(container: Container, *, settle_heap: bool = False) -> Any:
    """The full ASGI app for a container (``settle_heap``: see ``Edge``)."""
    return Edge(container, build_api(container), settle_heap=settle_heap)


def create_app_from_env() -> Any:
    """Factory for ``uvicorn --factory`` (each worker process builds its own container)."""
    settings = load_settings()
    configure_logs(settings)
    return create_app(build(settings), settle_heap=True)
