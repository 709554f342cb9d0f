"""The floor of a scan: what the few steps no capturing redirect can skip cost, in a tight loop.

Each step is scanroute's own function, timed with ``timeit`` on the same input over and over
(hot caches: the cheapest each can ever be). Their sum is a lower bound for the CPU of any scan
path that keeps the durability and privacy contracts (spool line written before the response,
country looked up on the full address, only the truncated address and a keyed hash kept),
before routing, user-agent and bot lookups, the event's other fields and the response itself.
Compare it with what ``run.py --calibrate`` shows the ratio target leaves room for.

Usage::

    taskset -c 0 .venv/bin/python bench/redirect/floor.py
"""

from __future__ import annotations

import os
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

from scanroute.capture.event import ScanEvent, encode_event, new_scan_id
from scanroute.capture.geo import GeoLocator
from scanroute.capture.privacy import new_salt, parse_ip, truncate_ip, visitor_hash
from scanroute.capture.request_text import read_headers as _headers

IPHONE = (
    b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    b"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
HEADERS = [
    (b"host", b"127.0.0.1:8080"),
    (b"user-agent", IPHONE),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"accept-language", b"de-DE,de;q=0.9"),
    (b"x-forwarded-for", b"81.2.69.142"),
]
EVENT = ScanEvent(
    id=new_scan_id(),
    ws=1,
    slug="m0123",
    ts=1_796_318_822_000_000,
    outcome="redirect",
    code=123,
    dest="https://shop.example.com/c0/landing?utm_source=qr&utm_medium=pack&sr_sid=06h3psg7ctt6qm7cgb7u2h8d",
    campaign=3,
    device="mobile",
    os="iOS",
    browser="Mobile Safari",
    lang="de-de",
    country="DE",
    ip_net="81.2.69.0",
    visitor="0" * 32,
)


def best_us(fn: Callable[[], object], number: int) -> float:
    """The best of five timings of ``number`` calls, in µs per call."""
    fn()
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    """Time each step and print them with their sum."""
    spool = Path(tempfile.mkdtemp(prefix="scanroute-floor-")) / "spool.jsonl"
    fd = os.open(spool, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    line = encode_event(EVENT) + b"\n"
    geo = GeoLocator(None)
    ip = parse_ip("81.2.69.142")
    assert ip is not None
    salt = new_salt()
    user_agent = IPHONE.decode()
    steps: list[tuple[str, Callable[[], object], int]] = [
        ("read the wanted request headers", lambda: _headers(HEADERS), 200_000),
        ("parse the client address", lambda: parse_ip("81.2.69.142"), 200_000),
        ("country of the full address (iptocc)", lambda: geo.lookup(ip), 50_000),
        ("truncate the address (/24)", lambda: truncate_ip(ip), 200_000),
        ("keyed visitor hash", lambda: visitor_hash(salt, 1, "81.2.69.0", user_agent), 200_000),
        ("new scan id", new_scan_id, 200_000),
        ("encode the scan event", lambda: encode_event(EVENT), 200_000),
        (f"write() {len(line)} B to the spool", lambda: os.write(fd, line), 100_000),
    ]
    total = 0.0
    for label, fn, number in steps:
        cost = best_us(fn, number)
        total += cost
        print(f"{label:<40}{cost:7.2f} µs")
    print(f"{'sum (a lower bound per scan)':<40}{total:7.2f} µs")
    os.close(fd)
    spool.unlink()
    spool.parent.rmdir()


if __name__ == "__main__":
    main()
