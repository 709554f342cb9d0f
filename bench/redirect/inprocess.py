"""In-process driver of scanroute's redirect path: CPU cost per scan without sockets or a server.

Builds a container on a fresh SQLite store in a temporary directory, creates the codes of a
scenario (``workload.py``), starts the edge's lifespan (spool, drainer, caches) and calls the ASGI
app directly with scopes like uvicorn's, drawn from the same traffic mix as ``scan.lua``. Prints
wall and CPU microseconds per scan and the CPU of each thread (the event loop is the thread whose
id is the process id; the drainer and visitor-history lookups run in pool threads).

Usage::

    taskset -c 0 .venv/bin/python bench/redirect/inprocess.py [--scenario hot|mix] [--requests N]
        [--uvloop] [--passes N] [--concurrency 64] [--profile] [--profile-drain]

``--uvloop`` runs on uvloop as the server does; ``--passes N`` repeats the measured requests
and shows the cheapest pass. ``--profile`` adds the top functions of the request path
(cProfile). To separate the request path from storing scans, run with
``SCANROUTE_DRAIN_INTERVAL=3600`` (the drainer then waits until shutdown); ``--profile-drain``
then drains the whole spool once under cProfile. The event loop yields every ``--yield-every``
requests so background tasks run as they would between network events; ``--concurrency 64``
runs 64 requests at a time instead, as a loaded server's loop iteration does (their spool lines
then share one write).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402 - a sibling module of this script


class Traffic:
    """Python twin of scan.lua's request picking (slug, visitor, query)."""

    def __init__(self, slugs: list[str], *, mix: bool, seed: int = 1) -> None:
        self.rnd = random.Random(seed)
        self.slugs = slugs
        self.mix = mix
        agents = workload.agents() if mix else [workload.Agent(workload.HOT_AGENT, 1)]
        self.agents = agents
        self.agent_weights = [a.weight for a in agents]
        self.pool: list[list[tuple[bytes, bytes]]] = []

    def _visitor(self) -> list[tuple[bytes, bytes]]:
        rnd = self.rnd
        agent = rnd.choices(self.agents, self.agent_weights)[0]
        headers = [(b"user-agent", agent.ua.encode())]
        if agent.bot:
            headers.append((b"accept", b"*/*"))
        else:
            headers.append((b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"))
            headers.append((b"accept-encoding", b"gzip, deflate, br"))
            if self.mix:
                values, weights = zip(*workload.LANGUAGES, strict=True)
                lang = rnd.choices(values, weights)[0]
            else:
                lang = "en-US,en;q=0.9"
            if lang:
                headers.append((b"accept-language", lang.encode()))
        if self.mix:
            prefixes, weights = zip(*workload.NETWORKS, strict=True)
            ip = f"{rnd.choices(prefixes, weights)[0]}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
            headers.append((b"x-forwarded-for", ip.encode()))
        return headers

    def scope(self) -> dict[str, Any]:
        """One request's ASGI scope."""
        rnd = self.rnd
        if self.pool and self.mix and rnd.random() < workload.RETURNING_SHARE:
            visitor = rnd.choice(self.pool)
        else:
            visitor = self._visitor()
            if len(self.pool) < 2000:
                self.pool.append(visitor)
            else:
                self.pool[rnd.randrange(2000)] = visitor
        query = ""
        if self.mix:
            values, weights = zip(*workload.QUERIES, strict=True)
            query = rnd.choices(values, weights)[0].lstrip("?")
        path = f"/{rnd.choice(self.slugs)}"
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8080),
            "client": ("127.0.0.1", 40000 + rnd.randrange(20000)),
            "scheme": "http",
            "method": "GET",
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(b"host", b"127.0.0.1:8080"), *visitor],
            "state": {},
        }


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process ("name/tid"), from /proc (Linux)."""
    out: dict[str, float] = {}
    hz = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"{name}/{task.name}"] = (int(fields[11]) + int(fields[12])) / hz
    return out


async def drive(
    app: Any, scopes: list[dict[str, Any]], yield_every: int, concurrency: int = 1
) -> tuple[float, float, dict[int, int]]:
    """Call the app once per scope, ``concurrency`` calls at a time (as a loaded server's loop
    iteration runs its ready requests); returns wall and CPU seconds (all threads), statuses."""
    statuses: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    started, cpu = time.perf_counter(), time.process_time()
    if concurrency > 1:
        for i in range(0, len(scopes), concurrency):
            await asyncio.gather(*(app(scope, receive, send) for scope in scopes[i : i + concurrency]))
        return time.perf_counter() - started, time.process_time() - cpu, statuses
    for i, scope in enumerate(scopes):
        await app(scope, receive, send)
        if i % yield_every == 0:
            await asyncio.sleep(0)
    return time.perf_counter() - started, time.process_time() - cpu, statuses


def print_stats(profiler: cProfile.Profile, args: argparse.Namespace) -> None:
    """The top functions of a profile."""
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


def profile_drain(app: Any, args: argparse.Namespace) -> None:
    """Drain this worker's spool into the store once, in this thread, under cProfile.

    Meant for ``SCANROUTE_DRAIN_INTERVAL=3600`` (the spool then holds every scan of the run).
    Reaches into the edge's runtime (``app.runtime.drainer``), so it follows that code's shape.
    """
    drainer = getattr(getattr(app, "runtime", None), "drainer", None)
    if drainer is None:
        print("cannot find app.runtime.drainer: skipping the drain profile")
        return
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    moved = drainer.drain_all()
    profiler.disable()
    took = time.perf_counter() - started
    per = took / moved * 1e6 if moved else 0.0
    print(f"drain: {moved} scans stored in {took:.2f} s = {per:.1f} µs/scan under cProfile")
    print_stats(profiler, args)


class Lifespan:
    """Drives an ASGI app's lifespan protocol (start-up, then shutdown)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.answered = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"].endswith(("complete", "failed")):
            self.answered.set()
        if message["type"].endswith("failed"):
            raise RuntimeError(message.get("message", "lifespan failed"))

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the answer."""
        self.task = asyncio.create_task(self.app({"type": "lifespan"}, self.queue.get, self._send))
        await self.queue.put({"type": "lifespan.startup"})
        await self.answered.wait()

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app to finish (drains the spool)."""
        await self.queue.put({"type": "lifespan.shutdown"})
        if self.task is not None:
            await self.task


async def main_async(args: argparse.Namespace, data_dir: Path) -> None:
    """Set up, warm up, measure (optionally under cProfile), shut down."""
    os.environ["SCANROUTE_DATA_DIR"] = str(data_dir)
    os.environ["SCANROUTE_TRUSTED_PROXIES"] = "127.0.0.1/32"
    os.environ["SCANROUTE_LOG_LEVEL"] = "WARNING"
    from run import create_codes

    codes = workload.hot_codes() if args.scenario == "hot" else workload.mix_codes()
    create_codes(data_dir, codes)
    from scanroute.web.app import create_app_from_env

    app = create_app_from_env()
    traffic = Traffic([c["slug"] for c in codes], mix=args.scenario == "mix")
    life = Lifespan(app)
    await life.startup()
    try:
        await drive(app, [traffic.scope() for _ in range(args.warmup)], args.yield_every, args.concurrency)
        scopes = [traffic.scope() for _ in range(args.requests)]
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        threads_before = thread_cpu()
        seconds, cpu, statuses = await drive(app, scopes, args.yield_every, args.concurrency)
        threads_after = thread_cpu()
        for _ in range(args.passes - 1):  # best of N passes over the same scopes (noisy hosts)
            again = await drive(app, scopes, args.yield_every, args.concurrency)
            if again[1] < cpu:
                seconds, cpu = again[0], again[1]
            for status, n in again[2].items():
                statuses[status] = statuses.get(status, 0) + n
        if profiler is not None:
            profiler.disable()
        print(
            f"{args.scenario}: {args.requests} scans in {seconds:.2f} s = "
            f"{seconds / args.requests * 1e6:.1f} µs/scan ({args.requests / seconds:,.0f} scans/s "
            f"on one core{', under cProfile' if profiler else ''}); CPU (all threads) "
            f"{cpu / args.requests * 1e6:.1f} µs/scan; statuses {statuses}"
        )
        used = {k: v - threads_before.get(k, 0.0) for k, v in threads_after.items()}
        busy = sorted(((v, k) for k, v in used.items() if v > 0), reverse=True)
        print("CPU by thread: " + ", ".join(f"{k} {v / args.requests * 1e6:.1f} µs/scan" for v, k in busy))
        if profiler is not None:
            print_stats(profiler, args)
        if args.profile_drain:
            profile_drain(app, args)
    finally:
        started = time.perf_counter()
        await life.shutdown()
        took = time.perf_counter() - started
        print(
            f"shutdown (final drain of what the drainer had not moved yet) took {took:.2f} s; with "
            "SCANROUTE_DRAIN_INTERVAL=3600 that is the store's cost of every scan above plus warm-up"
        )


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["hot", "mix"], default="mix")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--yield-every", type=int, default=64)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="requests in flight at once (1: one after the other; 64: like wrk's 64 connections)",
    )
    parser.add_argument(
        "--passes", type=int, default=1, help="passes over the same requests; the cheapest is shown (1)"
    )
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (as the server does)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument(
        "--profile-drain",
        action="store_true",
        help="after the run, drain the spool once under cProfile (use SCANROUTE_DRAIN_INTERVAL=3600)",
    )
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scanroute-inproc-"))
    try:
        if args.uvloop:
            import uvloop

            uvloop.run(main_async(args, tmp))
        else:
            asyncio.run(main_async(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
