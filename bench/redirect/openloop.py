"""Open-loop latency of the redirect: requests at a fixed rate, timed from when they were due.

``run.py`` drives the servers with wrk, a closed loop: each of its 64 connections sends its next
request only when the previous answer has arrived, so at saturation its latency is mostly the
queue that the load generator itself keeps full, and a stall delays the requests that would
have been sent meanwhile instead of counting them late (coordinated omission). This script asks
the question a visitor cares about: at a given scan rate, how long does a scan wait for its
redirect? It sends requests on a fixed schedule (``--rates``, requests per second) over
``--connections`` keep-alive connections, and times each from the moment it was due, not from
when a connection was free to send it (so queueing, stalls and saturation all show).

It serves the baseline (``baseline.py``) and scanroute one after the other, each pinned to core
0 with the same uvicorn settings as ``run.py``; this client runs on core 1 (asyncio with
uvloop, in this process). The traffic is the same as ``scan.lua``'s (``inprocess.Traffic``).
After the last rate it stops scanroute gracefully and checks that the scans stored equal both
the redirects the server counted and the 302 responses this client received (every request is
answered before the check: nothing is in flight). Exit status 1 if a scan was lost.

Usage::

    .venv/bin/python bench/redirect/openloop.py [--scenario mix|hot] [--rates 1000,3000,5000]
        [--duration 10] [--connections 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402 - sibling modules of this script
import workload  # noqa: E402
from inprocess import Traffic  # noqa: E402

CLIENT_CORE = 1
TICK = 0.001  # the scheduler's period: requests due within a tick leave together
DRAIN_TIMEOUT = 30.0  # seconds to wait for the answers still due at the end of a phase


@dataclass
class Phase:
    """One server at one rate."""

    server: str
    rate: int
    sent: int = 0
    seconds: float = 0.0
    status: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    server_cpu: float = 0.0

    def achieved(self) -> float:
        """Answers per second over the phase."""
        return sum(self.status.values()) / self.seconds if self.seconds else 0.0


class _Conn(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses its answer (status, Content-Length)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.due = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float) -> None:
        self.due = due
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop > 0 else len(head)])
            total = end + 4 + length
            if len(self.buf) < total:
                return
            status = int(head[9:12])
            del self.buf[:total]
            self.client.answered(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.lost += 1


class Client:
    """Sends requests on a schedule over a pool of connections; records latency from due time."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.next_request = 0
        self.idle: collections.deque[_Conn] = collections.deque()
        self.waiting: collections.deque[float] = collections.deque()  # due times without a connection
        self.latencies: list[float] = []
        self.status: collections.Counter[str] = collections.Counter()
        self.outstanding = 0
        self.lost = 0

    async def connect(self, port: int, count: int) -> None:
        """Open ``count`` connections to the server."""
        loop = asyncio.get_running_loop()
        for _ in range(count):
            _, conn = await loop.create_connection(lambda: _Conn(self), run.HOST, port)
            self.idle.append(conn)

    def _request(self) -> bytes:
        request = self.requests[self.next_request]
        self.next_request = (self.next_request + 1) % len(self.requests)
        return request

    def _dispatch(self, due: float) -> None:
        self.outstanding += 1
        if self.idle:
            self.idle.popleft().send(self._request(), due)
        else:
            self.waiting.append(due)

    def answered(self, conn: _Conn, status: int) -> None:
        """One answer: record it, then give the connection the oldest waiting request."""
        now = time.perf_counter()
        self.latencies.append(now - conn.due)
        self.status[f"{status // 100}xx"] += 1
        self.outstanding -= 1
        if self.waiting:
            conn.send(self._request(), self.waiting.popleft())
        else:
            self.idle.append(conn)

    async def phase(self, rate: int, seconds: float) -> tuple[int, float]:
        """Send at ``rate`` for ``seconds``, then wait for every answer; returns (sent, seconds)."""
        self.latencies = []
        self.status = collections.Counter()
        start = time.perf_counter()
        sent = 0
        total = int(rate * seconds)
        while sent < total:
            now = time.perf_counter()
            due_count = min(total, int((now - start) * rate) + 1)
            while sent < due_count:
                self._dispatch(start + sent / rate)
                sent += 1
            await asyncio.sleep(TICK)
        deadline = time.perf_counter() + DRAIN_TIMEOUT
        while self.outstanding and time.perf_counter() < deadline and not self.lost:
            await asyncio.sleep(TICK)
        if self.outstanding:
            raise RuntimeError(f"{self.outstanding} requests unanswered ({self.lost} connections lost)")
        return sent, time.perf_counter() - start


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p99.9": at(0.999), "max": ordered[-1] * 1000}


def raw_requests(slugs: list[str], mix: bool, count: int) -> list[bytes]:
    """``count`` HTTP/1.1 requests drawn from the benchmark's traffic mix."""
    traffic = Traffic(slugs, mix=mix)
    out = []
    for _ in range(count):
        scope = traffic.scope()
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        lines = [f"GET {target} HTTP/1.1".encode()]
        lines += [name + b": " + value for name, value in scope["headers"]]
        out.append(b"\r\n".join(lines) + b"\r\n\r\n")
    return out


async def measure(
    name: str, server: run.Server, requests: list[bytes], args: argparse.Namespace
) -> list[Phase]:
    """Warm up, then one phase per rate against a started server."""
    client = Client(requests)
    await client.connect(server.port, args.connections)
    await client.phase(args.rates[0], args.warmup)
    warm_3xx = client.status["3xx"]
    phases = []
    for rate in args.rates:
        ticks = run.tree_ticks(server.proc.pid)
        sent, seconds = await client.phase(rate, args.duration)
        cpu = (run.tree_ticks(server.proc.pid) - ticks) / os.sysconf("SC_CLK_TCK") / seconds
        phase = Phase(name, rate, sent, seconds, dict(client.status), percentiles(client.latencies), cpu)
        phases.append(phase)
        lat = phase.latency_ms
        print(
            f"  {name:9} {rate:>6,}/s  answered {phase.achieved():>8,.0f}/s  p50 {lat['p50']:6.2f}  "
            f"p90 {lat['p90']:6.2f}  p99 {lat['p99']:7.2f}  p99.9 {lat['p99.9']:7.2f}  "
            f"max {lat['max']:7.1f} ms  srv CPU {cpu:4.0%}",
            flush=True,
        )
    phases.append(Phase(name, 0, status={"3xx": warm_3xx}))  # the warm-up's answers, for the check
    return phases


def serve_baseline(tmp: Path, args: argparse.Namespace) -> run.Server:
    """Start ``baseline.py`` as ``run.py`` does."""
    port = run.free_port()
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "baseline:app", "--host", run.HOST]
    argv += ["--port", str(port), *run.UVICORN_FLAGS]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCANROUTE_", "BASELINE_"))}
    return run.Server("baseline", run.pinned(run.SERVER_CORE, argv, True), env, tmp / "baseline.log", port)


def serve_scanroute(data_dir: Path) -> run.Server:
    """Start ``scanroute serve`` on a prepared data directory, as ``run.py`` does."""
    port = run.free_port()
    argv = [
        str(Path(sys.executable).with_name("scanroute")),
        "serve",
        "--host",
        run.HOST,
        "--port",
        str(port),
    ]
    argv += ["--workers", "1"]
    env = run.scanroute_env(data_dir, port, [])
    return run.Server(
        "scanroute", run.pinned(run.SERVER_CORE, argv, True), env, data_dir / "server.log", port
    )


async def main_async(args: argparse.Namespace, tmp: Path) -> int:
    """Both servers at every rate, then scanroute's loss check."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - a dependency of the project
        pass
    codes = workload.hot_codes() if args.scenario == "hot" else workload.mix_codes()
    slugs = [c["slug"] for c in codes]
    requests = raw_requests(slugs, args.scenario == "mix", 50_000)
    print(
        f"Open-loop redirect latency: {args.scenario}, {args.connections} connections, "
        f"{args.duration:.0f} s per rate after {args.warmup:.0f} s of warm-up; "
        "servers on core 0, client on core 1"
    )
    results: list[Phase] = []
    baseline = serve_baseline(tmp, args)
    with run.serving(baseline) as srv:
        srv.wait_ready("/healthz")
        results += [p for p in await measure("baseline", srv, requests, args) if p.rate]
        srv.stop()
    data_dir = tmp / "scanroute"
    data_dir.mkdir()
    run.create_codes(data_dir, codes)
    scanroute = serve_scanroute(data_dir)
    with run.serving(scanroute) as srv:
        srv.wait_ready("/healthz")
        phases = await measure("scanroute", srv, requests, args)
        served = run.served_redirects(srv.port)
        clean = srv.stop()
    results += [p for p in phases if p.rate]
    received = sum(p.status.get("3xx", 0) for p in phases)
    others = sum(v for p in phases for k, v in p.status.items() if k != "3xx")
    stored = run.stored_scans(data_dir)[0].get("redirect", 0)
    ok = stored == served == received and others == 0 and clean
    print(
        f"\nZero-loss check: {'PASS' if ok else 'FAIL'}: stored {stored:,} redirect scans; server sent "
        f"{served:,}; client received {received:,} 302s and {others:,} other answers; clean exit {clean}"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"results": [asdict(p) for p in results], "loss_check": ok}, indent=2)
        )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["hot", "mix"], default="mix")
    parser.add_argument("--rates", default="1000,3000,5000", help="requests per second, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up at the first rate (3)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections (64)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    args.rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if not args.rates or min(args.rates) <= 0:
        parser.error("--rates: give positive requests per second, e.g. 1000,3000")
    os.sched_setaffinity(0, {CLIENT_CORE})
    with tempfile.TemporaryDirectory(prefix="scanroute-openloop-") as tmp:
        return asyncio.run(main_async(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
