"""Cached QR renders per second over HTTP, through a real ``scanroute serve`` on loopback.

Usage: ``.venv/bin/python bench/qr/bench_http.py [--codes 200] [--duration 10] [--connections 16]``

Set-up (in-process, on a fresh SQLite file in a temporary data directory): one workspace, an
API key, ``--codes`` plain codes and as many styled ones (brand template: rounded modules and
eyes, eye colour, an uploaded PNG logo, banner frame with caption). Then ``scanroute serve``
(one uvicorn worker, as `serve` runs it) is started on 127.0.0.1, pinned to core 0 with taskset
when there are two or more cores, and every image of a scenario is requested once (the misses:
timed sequentially, reported as "first render"). wrk (one thread, core 1) then requests random
images of the scenario for ``--duration`` seconds, all render-cache hits:

* ``plain svg``    — ``GET /api/v1/codes/{slug}/qr`` (SVG, default design)
* ``plain png``    — ``?format=png``
* ``styled png``   — ``?format=png`` of the template codes
* ``styled 304``   — the same with ``If-None-Match`` (revalidation: no body)

Every request is authenticated (API key lookup) and loads the code from the store; the image
bytes come from the process-wide RenderCache. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from PIL import Image, ImageDraw  # noqa: E402

HOST = "127.0.0.1"
LUA = Path(__file__).with_name("http.lua")


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def logo_png() -> bytes:
    """A small two-colour logo."""
    img = Image.new("RGB", (160, 160), "#1b4f9c")
    ImageDraw.Draw(img).ellipse((20, 20, 140, 140), fill="#f2b705")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def setup(db_url: str, data_dir: Path, n: int) -> tuple[str, list[str], list[str]]:
    """Workspace, key, plain and styled codes; returns (key, plain slugs, styled slugs)."""
    from scanroute.bootstrap import build
    from scanroute.domain.workspace import Principal, Role
    from scanroute.services.codes import CodeCreate
    from scanroute.services.templates import TemplateCreate
    from scanroute.services.tenants import WorkspaceCreate
    from scanroute.settings import Settings

    ctr = build(
        Settings(database_url=db_url, data_dir=data_dir, base_url="http://qr.bench"), apply_migrations=True
    )
    try:
        ws = ctr.workspaces.create(WorkspaceCreate(slug="bench"))
        key, _ = ctr.keys.issue(ws.id, "bench", Role.OWNER, None)
        who = Principal(workspace_id=ws.id, role=Role.OWNER)
        logo, _ = ctr.qr.logos.upload(who, logo_png(), name="logo.png")
        design = {
            "module_shape": "rounded",
            "eye_shape": "rounded",
            "eye_color": "#b03a2e",
            "logo": {"ref": str(logo.id)},
            "logo_scale": 0.2,
            "frame": "banner",
            "caption": "Scan for the menu",
        }
        ctr.qr.templates.create(who, TemplateCreate(name="brand", design=design))
        plain = ctr.codes.create_many(
            who, [CodeCreate(destination=f"https://example.com/p{i}") for i in range(n)]
        )
        styled = ctr.codes.create_many(
            who, [CodeCreate(destination=f"https://example.com/s{i}", template="brand") for i in range(n)]
        )
        return key, [c.slug for c in plain], [c.slug for c in styled]
    finally:
        ctr.close()


def get(port: int, path: str, key: str) -> tuple[int, dict[str, str], bytes]:
    """One GET with the API key."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def wrk(
    port: int, paths_file: Path, key: str, duration: int, connections: int, pin: bool
) -> dict[str, float]:
    """Run wrk once and parse its WRK_RESULT line."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(LUA), f"http://{HOST}:{port}"]
    argv += ["--", str(paths_file), key]
    if pin:
        argv = ["taskset", "-c", "1", *argv]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("WRK_RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--codes", type=int, default=200)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required (apt-get install wrk)")
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    tmp = Path(tempfile.mkdtemp(prefix="scanroute-qr-bench-"))
    db_url = f"sqlite:///{tmp / 'scanroute.db'}"
    key, plain, styled = setup(db_url, tmp / "data", args.codes)
    port = free_port()
    env = {
        **os.environ,
        "SCANROUTE_DATABASE_URL": db_url,
        "SCANROUTE_DATA_DIR": str(tmp / "data"),
        "SCANROUTE_BASE_URL": "http://qr.bench",
        "SCANROUTE_LOG_LEVEL": "WARNING",
        "SCANROUTE_JOBS_ENABLED": "false",
    }
    exe = str(Path(sys.executable).with_name("scanroute"))
    argv = [exe, "serve", "--host", HOST, "--port", str(port)]
    server = subprocess.Popen(["taskset", "-c", "0", *argv] if pin else argv, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/healthz", "")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("server did not start")
            time.sleep(0.2)
        scenarios = {
            "plain svg": [(f"/api/v1/codes/{s}/qr", False) for s in plain],
            "plain png": [(f"/api/v1/codes/{s}/qr?format=png", False) for s in plain],
            "styled png": [(f"/api/v1/codes/{s}/qr?format=png", False) for s in styled],
            "styled 304": [(f"/api/v1/codes/{s}/qr?format=png", True) for s in styled],
        }
        print(
            f"QR over HTTP: {args.codes} codes per scenario, wrk -t1 -c{args.connections} -d{args.duration}s,"
        )
        print(f"server on core 0, wrk on core 1: {pin}; load average before: {os.getloadavg()[0]:.2f}\n")
        print(
            f"{'scenario':12} {'first render':>14} {'cached req/s':>13} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'err':>5}"
        )
        for name, items in scenarios.items():
            lines = []
            t0 = time.perf_counter()
            for path, conditional in items:
                status, headers, _ = get(port, path, key)
                assert status == 200, (status, path)
                lines.append(f"{path}\t{headers['etag'] if conditional else ''}")
            first_ms = (time.perf_counter() - t0) / len(items) * 1000
            paths_file = tmp / f"{name.replace(' ', '_')}.txt"
            paths_file.write_text("\n".join(lines) + "\n")
            r = wrk(port, paths_file, key, args.duration, args.connections, pin)
            rps = r["requests"] / (r["duration_us"] / 1e6)
            first = "(cached)" if name == "styled 304" else f"{first_ms:8.1f} ms"
            print(
                f"{name:12} {first:>14} {rps:13.0f} {r['p50_us'] / 1000:8.2f} {r['p99_us'] / 1000:8.2f} "
                f"{int(r['bad_status'] + r['socket_errors']):5d}"
            )
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
