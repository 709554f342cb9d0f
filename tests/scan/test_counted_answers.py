"""The compiled answer to scans of codes that count (``PlainScan.answer_routed``: visitor history,
caps, a scan limit, with ``MemoryCounters``' dictionaries) against its reference, the Python
path (``ScanHandler._counted_now``: ``Counters.known``, ``decide``, ``record_now``): the same
replies, the same events and the same counts after the same sequence of scans."""

from __future__ import annotations

import copy
import os
from datetime import date
from typing import Any

import pytest

from scanroute.capture.context import ScanContext
from scanroute.capture.event import ScanEvent, decode_event, encode_event
from scanroute.redirect.counters import MemoryCounters
from scanroute.redirect.handler import Reply, ScanHandler
from scanroute.redirect.route import Route
from tests.conftest import Tenant
from tests.scan.conftest import ANDROID, IPHONE, SLACKBOT, Scanner
from tests.scan.test_plain_answers import _normalised, _route, _scope

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        os.environ.get("SCANROUTE_PURE_PYTHON") == "1", reason="installed without the C extension"
    ),
]

COUNTED: dict[str, dict[str, Any]] = {
    "history": {
        "rules": [
            {"when": {"nth_scan": {"min": 3}}, "to": "https://example.com/third"},
            {"when": {"visitor": "returning"}, "to": "https://example.com/again#top"},
            {"when": {"visitor": "first"}, "to": "https://example.com/hello"},
        ],
        "utm": {"source": "qr"},
    },
    "caps": {
        "rules": [
            {"when": {"os": ["iOS"]}, "to": "https://example.com/ios-offer", "cap": 3},
            {
                "when": {},
                "variants": [
                    {"to": "https://example.com/a", "weight": 1, "cap": 2, "label": "A"},
                    {"to": "https://example.com/b", "weight": 1},
                ],
                "cap": 6,
            },
        ],
        "campaign": "Caps",
    },
    "limit": {"scan_limit": 7, "append_scan_id": False},
    "everything": {
        "rules": [
            {"when": {"visitor": "returning", "os": ["Android"]}, "to": "https://example.com/back", "cap": 2},
            {"when": {"language": ["de"]}, "to": "https://example.com/de"},
        ],
        "scan_limit": 9,
        "timezone": "America/New_York",
    },
}

HUMAN = [(b"accept", b"text/html"), (b"accept-language", b"de-DE,en;q=0.5")]
VISITORS: list[tuple[dict[str, Any], bool]] = [
    ({"headers": [(b"user-agent", IPHONE.encode()), *HUMAN]}, False),
    ({"headers": [(b"user-agent", ANDROID.encode()), *HUMAN[:1]], "client": ("203.0.113.7", 1)}, False),
    ({"headers": [(b"user-agent", ANDROID.encode())], "client": ("203.0.113.8", 1)}, False),  # a scanner
    ({"headers": [(b"user-agent", SLACKBOT.encode())]}, False),  # a bot: counts nothing
    ({"headers": [(b"user-agent", IPHONE.encode())]}, True),  # HEAD: records and counts nothing
    ({"headers": [(b"user-agent", ANDROID.encode())], "query": b"sr_optout"}, False),
    ({"headers": [(b"user-agent", IPHONE.encode())], "client": ("", 0)}, False),  # no address
]


def _state(counters: MemoryCounters) -> tuple[Any, ...]:
    history, loaded, caps = counters.state()
    return list(history.items()), set(loaded), copy.deepcopy(caps)


def _restore(counters: MemoryCounters, saved: tuple[Any, ...]) -> None:
    """Back to a saved state, in place (the compiled path holds these very dictionaries)."""
    history, loaded, caps = counters.state()
    history.clear()
    history.update(saved[0])
    loaded.clear()
    loaded.update(saved[1])
    caps.clear()
    caps.update(copy.deepcopy(saved[2]))


def _python(handler: ScanHandler, ctx: ScanContext, route: Route, head: bool) -> Any:
    plain, handler._plain = handler._plain, None
    try:
        return handler._counted_now(ctx, route, head)
    finally:
        handler._plain = plain


@pytest.mark.parametrize("code", list(COUNTED))
async def test_compiled_and_python_count_and_answer_alike(
    scanner: Scanner, tenant: Tenant, code: str
) -> None:
    slug = f"counted-{code}"
    scanner.create(tenant.workspace_id, slug=slug, destination="https://example.com/d", **COUNTED[code])
    handler, route = await _route(scanner, slug)
    assert route.routed_plan is not None
    assert route.plan is None
    plain = handler._plain
    assert plain is not None
    counters = handler.counters
    assert isinstance(counters, MemoryCounters)
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    # (without an address a variant is drawn by scan id, which differs between the two runs)
    visitors = [v for v in VISITORS if code != "caps" or v[0].get("client") != ("", 0)]
    scans = [(contexts.build(_scope(slug, **request)), head) for request, head in visitors * 3]
    assert {ctx.bot.is_bot for ctx, _ in scans} == {True, False}  # humans count, bots do not
    await handler.answer(scans[0][0])  # loads the code's counts (the awaited path)
    handler._sync_day(plain)
    start = _state(counters)

    compiled = []
    for ctx, head in scans:
        answered = plain.answer_routed(ctx, route.routed_plan, head)
        if answered is False:  # the scan limit reached: Python's page
            answered = _python(handler, ctx, route, head)
            assert answered is not None
            assert answered[0].outcome == "limit"
        compiled.append(answered)
    after_compiled = _state(counters)

    _restore(counters, start)
    reference = [_python(handler, ctx, route, head) for ctx, head in scans]
    assert _state(counters) == after_compiled  # the same counts
    for (ctx, head), got, want in zip(scans, compiled, reference, strict=True):
        assert want is not None
        assert _normalised(*got) == _normalised(*want), (ctx.user_agent[:20], head)
    assert after_compiled != start  # the sequence did count something


async def test_history_routes_returning_visitors(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id, slug="counted-h", destination="https://example.com/d", **COUNTED["history"]
    )
    handler, route = await _route(scanner, "counted-h")
    plain = handler._plain
    assert plain is not None
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    human = [(b"user-agent", ANDROID.encode()), (b"accept-language", b"en-US"), (b"accept", b"text/html")]
    ctx = contexts.build(_scope("counted-h", human, client=("198.51.100.9", 1)))
    assert not ctx.bot.is_bot  # humans only: bots are not counted
    handler._sync_day(plain)
    assert plain.answer_routed(ctx, route.routed_plan, False) is False  # history not loaded yet
    first = await handler.answer(ctx)  # loads it
    lines = [plain.answer_routed(ctx, route.routed_plan, False)[1] for _ in range(2)]
    events = [decode_event(line) for line in (first[1], *lines)]
    assert [e.dest.partition("?")[0] for e in events] == [  # type: ignore[union-attr]
        "https://example.com/hello",
        "https://example.com/again",
        "https://example.com/third",
    ]
    assert [e.returning for e in events] == [False, True, True]
    assert [e.rule for e in events] == [2, 1, 0]


async def test_counted_codes_need_memory_counters(scanner: Scanner, tenant: Tenant) -> None:
    """Without ``set_counters`` (Redis counters) a counted code is always Python's."""
    from scanroute.native import scanpath

    assert scanpath is not None
    scanner.create(tenant.workspace_id, slug="counted-x", destination="https://example.com/d", scan_limit=5)
    handler, route = await _route(scanner, "counted-x")
    fresh = scanpath.PlainScan(
        event_type=ScanEvent,
        encode=encode_event,
        reply_type=Reply,
        context_type=ScanContext,
        host_fn=lambda _: None,
        headers=(),
    )
    fresh.set_day(0, 2**62, handler.salts.keyed(date.today()))
    ctx = scanner.app.runtime.contexts.build(_scope("counted-x", [(b"user-agent", IPHONE.encode())]))  # type: ignore[union-attr]
    assert fresh.answer_routed(ctx, route.routed_plan, False) is False
