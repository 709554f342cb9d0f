"""Analytics benchmark: load N generated scans in bulk, then time the analytics API over 30 days.

    .venv/bin/python bench/analytics/run.py --backend sqlite --scans 10000000
    .venv/bin/python bench/analytics/run.py --backend postgres --scans 10000000
    .venv/bin/python bench/analytics/run.py --backend sqlite --reuse        # time queries again

Loads the demo workspace (``scanroute.demo``: 3 campaigns, 20 placements, 40 codes, plus
``--extra-codes``) and ``--scans`` scans of history over ``--days`` days through the bulk path
(``analytics.loader``), then calls every analytics endpoint through the full HTTP stack
(FastAPI ``TestClient``, in process) for the last ``--window`` days of data, ``--repeat`` times
each after two warm-up calls. Prints a Markdown table (median and p95 in ms) and writes the
numbers as JSON next to this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from scanroute.analytics.clock import zone
from scanroute.analytics.loader import load
from scanroute.bootstrap import build
from scanroute.demo import DEMO_SLUG, ensure_demo
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.settings import Settings
from scanroute.storage.schema import scans, workspaces
from scanroute.web.app import create_app
from scanroute.workload import Spec

HERE = Path(__file__).parent
PG = os.environ.get("SCANROUTE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERIES: list[tuple[str, str, dict[str, str]]] = [
    ("summary", "summary", {}),
    ("summary, compare=previous", "summary", {"compare": "previous"}),
    ("summary, country=DE", "summary", {"country": "DE"}),
    ("timeseries day", "timeseries", {"granularity": "day"}),
    ("timeseries week", "timeseries", {"granularity": "week"}),
    ("timeseries hour", "timeseries", {"granularity": "hour"}),
    ("timeseries day, device=mobile", "timeseries", {"granularity": "day", "device": "mobile"}),
    *[
        (f"breakdown {by}", "breakdown", {"by": by})
        for by in (
            "campaign",
            "placement",
            "code",
            "creative",
            "device",
            "os",
            "browser",
            "country",
            "city",
            "hour_of_day",
            "day_of_week",
        )
    ],
    ("breakdown campaign, country=US", "breakdown", {"by": "campaign", "country": "US"}),
    ("funnel", "funnel", {}),
    ("attribution linear by campaign", "attribution", {"model": "linear", "by": "campaign"}),
]


def database(backend: str, data: Path, reuse: bool) -> str:
    """The benchmark database URL (recreated unless ``reuse``)."""
    if backend == "sqlite":
        path = data / "bench.db"
        if not reuse:
            for p in data.glob("bench.db*"):
                p.unlink()
        return f"sqlite:///{path}"
    name = "scanroute_bench_analytics"
    if not reuse:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(PG).set(database=name).render_as_string(hide_password=False)


def _load() -> list[float]:
    """The 1-, 5- and 15-minute load averages (the machine is shared)."""
    return [round(x, 2) for x in os.getloadavg()]


def timed(
    client: TestClient, headers: dict[str, str], path: str, params: dict[str, str], repeat: int
) -> list[float]:
    """Milliseconds of ``repeat`` calls after two warm-ups (each answer checked)."""
    for _ in range(2):
        assert client.get(f"/api/v1/analytics/{path}", params=params, headers=headers).status_code == 200
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(f"/api/v1/analytics/{path}", params=params, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    ap.add_argument("--scans", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--window", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--extra-codes", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", type=Path, default=Path("/tmp/scanroute-bench-analytics"))
    ap.add_argument("--reuse", action="store_true", help="keep the loaded database; only time queries")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    url = database(args.backend, args.data, args.reuse)
    ctr = build(
        Settings(database_url=url, data_dir=args.data, base_url="http://bench"), apply_migrations=True
    )
    ensure_demo(ctr, activity=False)  # only the generated history: the bulk path proper
    with ctr.db.read() as conn:
        ws = conn.execute(select(workspaces).where(workspaces.c.slug == DEMO_SLUG)).one()
        loaded_scans = conn.execute(select(func.count()).select_from(scans)).scalar_one() if args.reuse else 0
    result: dict[str, Any] = {
        "backend": args.backend,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "loadavg": {"start": _load()},
    }
    if not args.reuse:
        if args.extra_codes:
            owner = Principal(workspace_id=ws.id, role=Role.OWNER)
            ctr.codes.create_many(
                owner,
                [
                    CodeCreate(
                        destination=f"https://democoffee.example/x{i}",
                        campaign=1 + i % 3,
                        placement=1 + i % 20,
                    )
                    for i in range(args.extra_codes)
                ],
            )
        t0 = time.perf_counter()
        report = load(
            ctr.db,
            ws.id,
            Spec(scans=args.scans, days=args.days, seed=args.seed),
            progress=lambda n: print(f"\r{n:>12,} scans", end="", file=sys.stderr, flush=True),
        )
        print(file=sys.stderr)
        result.update(
            scans=report.scans,
            beacons=report.beacons,
            conversions=report.conversions,
            load_seconds=round(report.load_seconds, 1),
            index_and_rollup_seconds=round(report.rebuild_seconds, 1),
            finish_phases=report.phases,
            total_seconds=round(time.perf_counter() - t0, 1),
        )
        end = report.workload.end
    else:
        result["scans"] = loaded_scans
        with ctr.db.read() as conn:
            end = conn.execute(select(func.max(scans.c.ts))).scalar_one()
    # the last complete local day (the history ends inside the local day of its last scan)
    last = end.astimezone(zone(ws.timezone)).date() - timedelta(days=1)
    first = last - timedelta(days=args.window - 1)
    span = {"from": first.isoformat(), "to": last.isoformat()}
    # a key of its own: the demo's credentials file is per data directory, which both backends share
    key = ctr.keys.issue(ws.id, "bench", Role.OWNER, None)[0]
    headers = {"Authorization": f"Bearer {key}"}
    result["loadavg"]["queries_start"] = _load()
    rows = []
    with TestClient(create_app(ctr), base_url="http://bench") as client:
        answer = client.get("/api/v1/analytics/summary", params=span, headers=headers)
        assert answer.status_code == 200, answer.text
        summary = answer.json()
        result["window"] = span
        result["window_kpis"] = {
            k: summary[k]
            for k in ("scans", "bot_scans", "unique_visitors", "conversions", "revenue", "cost", "roi")
        }
        for label, path, params in QUERIES:
            ms = timed(client, headers, path, span | params, args.repeat)
            rows.append(
                {
                    "query": label,
                    "median_ms": round(statistics.median(ms), 1),
                    "p95_ms": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 1),
                }
            )
            print(f"{label:<34}{rows[-1]['median_ms']:>9.1f}{rows[-1]['p95_ms']:>9.1f}", file=sys.stderr)
    result["queries"] = rows
    result["loadavg"]["end"] = _load()
    ctr.close()
    out = HERE / f"results-{args.backend}-{result['scans']}{'-reuse' if args.reuse else ''}.json"
    out.write_text(
        json.dumps(result, indent=2, default=lambda v: str(v) if isinstance(v, Decimal) else v) + "\n"
    )
    print("\n| query | median ms | p95 ms |\n|---|---:|---:|")
    for r in rows:
        print(f"| {r['query']} | {r['median_ms']} | {r['p95_ms']} |")
    print(f"\n{json.dumps({k: v for k, v in result.items() if k != 'queries'}, default=str)}")


if __name__ == "__main__":
    main()
