"""Metrics after real scans, and JSON log lines."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.observability.logs import JsonFormatter, configure
from scanroute.settings import Settings
from tests.conftest import Tenant
from tests.scan.conftest import SLACKBOT, Scanner

pytestmark = pytest.mark.anyio


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.rsplit(" ", 1)[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_outcomes_and_cache(scanner: Scanner, tenant: Tenant) -> None:
    import httpx

    async def metrics_text() -> str:
        transport = httpx.ASGITransport(app=scanner.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sr.test") as client:
            r = await client.get("/metrics")
            assert r.status_code == 200
            return r.text

    before = await metrics_text()
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="measured")
    for _ in range(3):
        await scanner.scan("measured")
    await scanner.scan("measured", ua=SLACKBOT)
    await scanner.scan("missing-code")
    scanner.drain()
    after = await metrics_text()
    key = 'scanroute_redirects_total{outcome="redirect"}'
    assert metric(after, key) - metric(before, key) == 4
    nf = 'scanroute_redirects_total{outcome="not_found"}'
    assert metric(after, nf) - metric(before, nf) == 1
    assert (
        metric(after, "scanroute_route_cache_hits_total") - metric(before, "scanroute_route_cache_hits_total")
        >= 3
    )
    assert "scanroute_redirect_seconds_bucket" in after
    assert "scanroute_spool_bytes" in after


def test_json_logs(capsys: pytest.CaptureFixture[str]) -> None:
    configure(Settings(log_format="json", log_level="INFO"))
    logging.getLogger("scanroute.test").warning("drain failed %s", "x", extra={"batch": 7})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    data = json.loads(line)
    assert data["level"] == "warning"
    assert data["message"] == "drain failed x"
    assert data["batch"] == 7
    assert data["logger"] == "scanroute.test"
    logging.getLogger().handlers[:] = []
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": __import__("sys").exc_info()})
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exception"]


def test_metrics_endpoint_without_scans(client: TestClient) -> None:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")


def test_a_plain_app_leaves_the_collector_alone(client: TestClient) -> None:
    import gc

    assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0


def test_a_served_edge_settles_the_heap_until_it_stops(ctr: Container) -> None:
    """After start-up the collector leaves the start-up heap alone and runs less often; a stop
    hands it back (so that interpreter shutdown finalises it)."""
    import gc

    from scanroute.web import edge
    from scanroute.web.app import create_app

    threshold = gc.get_threshold()
    try:
        with TestClient(create_app(ctr, settle_heap=True), base_url="http://sr.test") as c:
            assert c.get("/healthz").status_code == 200
            assert gc.get_threshold()[0] == edge.GC_THRESHOLD
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(*threshold)
