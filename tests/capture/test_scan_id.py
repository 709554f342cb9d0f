"""Scan ids: 24 base32hex characters = 48-bit millisecond clock + 72 random bits."""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter

from scanroute.attribution.intake import SCAN_ID
from scanroute.capture.event import new_scan_id


def _bits(scan_id: str) -> int:
    return int.from_bytes(base64.b32hexdecode(scan_id.upper()), "big")


def test_ids_carry_the_clock_and_sort_by_it() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_scan_id() for _ in range(5_000)]
    after = time.time_ns() // 1_000_000
    assert all(SCAN_ID.match(i) for i in ids)
    clocks = [_bits(i) >> 72 for i in ids]
    assert before <= clocks[0]
    assert clocks[-1] <= after
    assert clocks == sorted(clocks)
    for (a, ca), (b, cb) in zip(
        zip(ids, clocks, strict=False), zip(ids[1:], clocks[1:], strict=False), strict=False
    ):
        if ca < cb:
            assert a < b  # a later millisecond sorts later as text


def test_random_part_is_unique_and_uniform() -> None:
    ids = [new_scan_id() for _ in range(40_000)]
    assert len(set(ids)) == len(ids)
    low = Counter((_bits(i) >> 70) & 3 for i in ids)  # the two random bits in the 10th character
    assert set(low) == {0, 1, 2, 3}
    assert min(low.values()) > 9_000
    last = Counter(i[-1] for i in ids)
    assert len(last) == 32
    assert min(last.values()) > 1_000


def test_threads_never_mix_one_millisecond_with_anothers_prefix() -> None:
    out: list[list[str]] = [[] for _ in range(4)]

    def work(mine: list[str]) -> None:
        for _ in range(20_000):
            mine.append(new_scan_id())

    threads = [threading.Thread(target=work, args=(o,)) for o in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for mine in out:
        clocks = [_bits(i) >> 72 for i in mine]
        assert clocks == sorted(clocks)  # a foreign prefix would jump back or forward
        assert clocks[-1] - clocks[0] < 60_000
