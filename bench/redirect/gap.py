"""Where the mix's extra cost over the hot code lies: one factor of the mix at a time, in process.

Serves (in process, on uvloop, 64 requests at a time, like ``inprocess.py --concurrency 64``)
the hot scenario, then the hot code scanned by the mix's visitors (user agents, languages,
forwarded addresses, query strings), then the mix's plain codes (no rules, no counters), then
the whole mix, then the mix's codes with rules or a scan limit alone; prints the CPU per scan
of each, best of three passes, twice.

Usage::

    taskset -c 0 .venv/bin/python bench/redirect/gap.py
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import inprocess  # noqa: E402 - sibling modules of this script
import uvloop  # noqa: E402
import workload  # noqa: E402
from inprocess import Lifespan, Traffic  # noqa: E402


async def main() -> None:
    """Set up one store with the mix and the hot code, then measure each variant."""
    tmp = Path(tempfile.mkdtemp())
    os.environ.update(
        SCANROUTE_DATA_DIR=str(tmp),
        SCANROUTE_TRUSTED_PROXIES="127.0.0.1/32",
        SCANROUTE_LOG_LEVEL="ERROR",
        SCANROUTE_DRAIN_INTERVAL="3600",
    )
    from run import create_codes

    mix = workload.mix_codes()
    plain = [c for c in mix if not c.get("rules") and not c.get("scan_limit")]
    hot = workload.hot_codes()
    create_codes(tmp, mix + hot)
    from scanroute.web.app import create_app_from_env

    app = create_app_from_env()
    life = Lifespan(app)
    await life.startup()
    mixt = Traffic([c["slug"] for c in mix], mix=True)
    hott = Traffic([c["slug"] for c in hot], mix=False)
    N = 20000
    hot_scopes = [hott.scope() for _ in range(N)]
    mix_scopes = [mixt.scope() for _ in range(N)]
    plain_slugs = [c["slug"] for c in plain]
    ruled_slugs = [c["slug"] for c in mix if c not in plain]
    rnd = random.Random(2)

    def with_path(s: dict[str, Any], p: str) -> dict[str, Any]:
        return {**s, "path": p, "raw_path": p.encode()}

    variants = {
        "hot": hot_scopes,
        "hot code, mix visitors (UA, languages, XFF, queries)": [with_path(s, "/hot") for s in mix_scopes],
        "mix visitors, plain codes only (no rules, no counters)": [
            with_path(s, "/" + rnd.choice(plain_slugs)) for s in mix_scopes
        ],
        "mix visitors, plain codes, no query": [
            with_path({**s, "query_string": b""}, "/" + rnd.choice(plain_slugs)) for s in mix_scopes
        ],
        "mix": mix_scopes,
        "mix visitors, codes with rules or a scan limit only": [
            with_path(s, "/" + rnd.choice(ruled_slugs)) for s in mix_scopes
        ],
    }
    for scopes in variants.values():  # warm-up: routes, counters, memos
        await inprocess.drive(app, scopes[:3000], 64, 64)
    for _round in range(2):
        for name, scopes in variants.items():
            best = 1e9
            for _ in range(3):
                _, cpu, _ = await inprocess.drive(app, scopes, 64, 64)
                best = min(best, cpu / N * 1e6)
            print(f"{best:5.1f} µs  {name}")
        print()
    os._exit(0)  # the measurement is done; skip draining the spool of a temporary store


if __name__ == "__main__":
    uvloop.run(main())
