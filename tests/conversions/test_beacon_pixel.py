"""The landing beacon (``/t.js``, ``/t``) and the signed conversion pixel (``/c``) at the edge."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from scanroute.attribution.pixel import canonical, sign, verify
from scanroute.capture.event import new_scan_id
from scanroute.domain.workspace import Role
from scanroute.storage.beacons import Hit, write_hits
from scanroute.storage.schema import beacon_events, conversions, rollup_day_codes
from scanroute.web.beacon import RateLimiter
from scanroute.web.beacon_script import SCRIPT
from tests.conversions.conftest import World, ago, now


def beacons(world: World) -> dict[tuple[str, str], float | None]:
    with world.ctr.db.read() as conn:
        return {(r.scan_id, r.kind): r.value for r in conn.execute(select(beacon_events))}


def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_script_is_small_self_contained_and_first_party(client: TestClient) -> None:
    r = client.get("/t.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["access-control-allow-origin"] == "*"
    assert "set-cookie" not in r.headers
    body = r.content
    assert body == SCRIPT
    assert len(body) < 2048
    text = body.decode()
    assert "http://" not in text
    assert "https://" not in text  # no external requests: it talks to the origin it came from
    for needle in ("sr_sid", "Max-Age=2592000", "SameSite=Lax", "Path=/", "sendBeacon", "step", '"arrived"'):
        assert needle in text
    node = shutil.which("node")
    if node:
        checked = subprocess.run([node, "--check", "-"], input=body, capture_output=True, timeout=30)
        assert checked.returncode == 0, checked.stderr


def test_beacon_records_arrival_and_steps(world: World) -> None:
    sid = world.scan(world.code(), ago(seconds=30))
    client = world.client
    headers = {"content-type": "text/plain;charset=UTF-8", "origin": "https://shop.example"}
    for body in (f"sid={sid}&k=arrived", f"sid={sid}&k=engaged&v=14", f"sid={sid}&k=engaged&v=31"):
        r = client.post("/t", content=body, headers=headers)
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        assert "set-cookie" not in r.headers
    assert client.get(f"/t?sid={sid}&k=form_started").status_code == 204
    wait_for(lambda: len(beacons(world)) == 3)
    assert beacons(world) == {(sid, "arrived"): None, (sid, "engaged"): 31.0, (sid, "form_started"): None}
    with world.ctr.db.read() as conn:
        arrived = conn.execute(select(func.sum(rollup_day_codes.c.arrived))).scalar_one()
        engaged = conn.execute(select(func.sum(rollup_day_codes.c.engaged))).scalar_one()
    assert (arrived, engaged) == (1, 1)  # the funnel's early stages, counted once per scan


def test_unknown_scans_are_silent_and_bad_beacons_refused(world: World) -> None:
    client = world.client
    unknown = new_scan_id()
    assert client.post("/t", content=f"sid={unknown}&k=arrived").status_code == 204
    for body in (
        "sid=nope&k=arrived",
        f"sid={unknown}&k=Bad Kind",
        f"sid={unknown}&v=inf",
        f"sid={unknown}&v=-1",
    ):
        assert client.post("/t", content=body).status_code == 400
    assert client.post("/t", content=b"sid=" + b"a" * 3000).status_code == 413
    assert client.put("/t", content=b"").status_code == 405
    pre = client.options(
        "/t", headers={"origin": "https://shop.example", "access-control-request-method": "POST"}
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "POST" in pre.headers["access-control-allow-methods"]


def test_beacons_of_scans_not_stored_yet_are_retried_then_dropped(world: World) -> None:
    code = world.code()
    fresh, stale = new_scan_id(), "0" * 24
    retry = write_hits(world.ctr.db, [Hit(fresh, "arrived", None, now()), Hit(stale, "arrived", None, now())])
    assert [h.scan_id for h in retry] == [fresh]
    from scanroute.storage.scans import ScanWriter
    from tests.conversions.test_pending import event_for

    ScanWriter(world.ctr.db).write([event_for(code, fresh)])
    assert write_hits(world.ctr.db, retry) == []
    assert set(beacons(world)) == {(fresh, "arrived")}


def test_at_most_twenty_kinds_per_scan(world: World) -> None:
    sid = world.scan(world.code(), ago(seconds=10))
    write_hits(world.ctr.db, [Hit(sid, f"step{i}", None, now()) for i in range(25)])
    assert len(beacons(world)) == 20


def test_rate_limit() -> None:
    limiter = RateLimiter(rate=10, burst=5)
    assert [limiter.allow("a", now=0.0) for _ in range(6)] == [True] * 5 + [False]
    assert limiter.allow("b", now=0.0)
    assert limiter.allow("a", now=0.1)  # one token back after 1/10 s
    assert not limiter.allow("a", now=0.1)


def test_the_edge_answers_429_past_the_burst(client: TestClient) -> None:
    limiter = client.app.beacon.limiter  # type: ignore[attr-defined]
    limiter.rate = 0.0  # no refill meanwhile: on a loaded machine 80 requests may take seconds
    codes = [client.get(f"/t?sid={'0' * 24}").status_code for _ in range(80)]
    assert codes == [204] * 60 + [429] * 20  # the burst, then refused


# -- pixel ------------------------------------------------------------------------------------------


def secret_of(world: World) -> str:
    r = world.client.get("/api/v1/pixel", headers=world.tenant.auth(Role.ADMIN))
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    assert verify(body["secret"], _pairs(body["signed_text"]), body["example_url"].rsplit("sig=", 1)[1])
    secret: str = body["secret"]
    return secret


def _pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(p.split("=", 1)) for p in text.split("&")]  # type: ignore[misc]


def pixel_url(params: dict[str, str], secret: str | None) -> str:
    query = dict(params)
    if secret is not None:
        query["sig"] = hmac.new(
            secret.encode(), canonical(params.items()).encode(), hashlib.sha256
        ).hexdigest()
    return "/c?" + urlencode(query)


def test_signed_pixel_records_once_and_returns_a_gif(world: World) -> None:
    code = world.code(campaign="pixel")
    sid = world.scan(code, ago(minutes=5))
    secret = secret_of(world)
    params = {"w": world.tenant.slug, "sid": sid, "type": "purchase", "value": "19.90", "currency": "USD"}
    url = pixel_url(params, secret)
    first = world.client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/gif"
    assert first.content.startswith(b"GIF89a")
    assert world.client.get(url).status_code == 200  # a reload of the thank-you page
    assert world.client.post(url).status_code == 204  # server to server
    with world.ctr.db.read() as conn:
        rows = conn.execute(
            select(conversions.c.source, conversions.c.value_minor, conversions.c.code_id)
        ).all()
    assert [tuple(r) for r in rows] == [("pixel", 1990, code.id)]


def test_forged_or_unsigned_pixels_are_refused(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=5))
    secret = secret_of(world)
    params = {"w": world.tenant.slug, "sid": sid, "type": "purchase", "value": "10.00"}
    good = pixel_url(params, secret)
    forged_value = good.replace("value=10.00", "value=9999.00")
    attempts = [
        forged_value,
        pixel_url(params, None),
        pixel_url(params, "not-the-secret"),
        pixel_url({**params, "w": "globex"}, secret),
        good.replace("sig=", "sig=0"),
    ]
    for url in attempts:
        r = world.client.get(url)
        assert r.status_code == 403, url
        assert r.content == b""
    assert world.client.get(good + "&extra=1").status_code == 400
    assert world.client.get(pixel_url({**params, "value": "-5"}, secret)).status_code == 400
    assert world.client.get(pixel_url({**params, "ts": "9" * 30}, secret)).status_code == 400
    assert world.client.get(pixel_url({**params, "sid": "0" * 24}, secret)).status_code == 422
    with world.ctr.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(conversions)).scalar_one() == 0
    rotated = world.client.post("/api/v1/pixel/rotate", headers=world.tenant.auth(Role.ADMIN)).json()
    assert rotated["secret"] != secret
    assert world.client.get(good).status_code == 403  # old signatures stop working
    assert world.client.get("/api/v1/pixel", headers=world.tenant.auth(Role.EDITOR)).status_code == 403


def test_signature_is_over_the_sorted_query() -> None:
    params = [("w", "acme"), ("type", "lead"), ("sid", "x")]
    assert canonical(params) == "sid=x&type=lead&w=acme"
    assert canonical([*params, ("sig", "zzz")]) == canonical(params)
    digest = sign("s3cret", params)
    assert digest == hmac.new(b"s3cret", b"sid=x&type=lead&w=acme", hashlib.sha256).hexdigest()
    assert verify("s3cret", params, digest.upper())
    assert not verify("s3cret", [*params[:2], ("sid", "y")], digest)


@pytest.mark.parametrize("bad", ["", "x" * 64])
def test_pixel_rejects_bad_signatures_without_a_body(world: World, bad: str) -> None:
    r = world.client.get(f"/c?w={world.tenant.slug}&type=lead&sig={bad}")
    assert r.status_code == 403
    assert r.content == b""


def test_a_workspace_without_a_secret_gets_one(world: World) -> None:
    from sqlalchemy import update

    from scanroute.storage.schema import workspaces

    with world.ctr.db.write() as conn:  # as after an upgrade from before pixel secrets
        conn.execute(
            update(workspaces).where(workspaces.c.id == world.tenant.workspace_id).values(pixel_secret="")
        )
    assert world.client.get(f"/c?w={world.tenant.slug}&type=lead&sig={'0' * 64}").status_code == 403
    secret = secret_of(world)
    assert len(secret) == 64
    assert secret_of(world) == secret  # kept, not drawn again
    sid = world.scan(world.code(), ago(minutes=2))
    assert (
        world.client.get(pixel_url({"w": world.tenant.slug, "type": "lead", "sid": sid}, secret)).status_code
        == 200
    )
