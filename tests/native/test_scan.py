"""The compiled scan id and visitor hash (``scanroute.native.scanpath``) against their Python
references (``capture.event.new_scan_id_python``, ``capture.privacy.keyed_hash_python``)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.capture import event, privacy
from scanroute.native import scanpath

if os.environ.get("SCANROUTE_PURE_PYTHON") == "1":
    pytest.skip("installed without the C extension on purpose", allow_module_level=True)

ALPHABET = set("0123456789abcdefghijklmnopqrstuv")


def test_the_compiled_versions_are_in_use() -> None:
    assert scanpath is not None
    assert event.new_scan_id is scanpath.new_scan_id
    assert privacy.keyed_hash is scanpath.keyed_hash


def _clock_ms(scan_id: str) -> int:
    """The 48-bit millisecond clock at the front of an id (base32hex of clock + random bytes)."""
    raw = base64.b32hexdecode(scan_id.upper())
    return int.from_bytes(raw[:6], "big")


@pytest.mark.parametrize("make", [scanpath.new_scan_id, event.new_scan_id_python], ids=["compiled", "python"])
def test_scan_ids_carry_the_clock_and_are_unique(make: object) -> None:
    assert callable(make)
    before = time.time_ns() // 1_000_000
    ids = [make() for _ in range(50_000)]
    after = time.time_ns() // 1_000_000
    assert all(len(i) == 24 and set(i) <= ALPHABET for i in ids)
    assert len(set(ids)) == len(ids)
    clocks = [_clock_ms(i) for i in ids]
    assert before <= clocks[0] <= clocks[-1] <= after
    assert clocks == sorted(clocks)  # time-ordered
    # the last 14 characters are random: every character turns up about equally often
    counts = Counter(c for i in ids for c in i[10:])
    expected = len(ids) * 14 / 32
    assert all(abs(n - expected) < 0.06 * expected for n in counts.values())
    assert len(counts) == 32


def test_both_generators_encode_the_clock_the_same_way() -> None:
    for _ in range(100):
        python_id, compiled_id = event.new_scan_id_python(), scanpath.new_scan_id()
        if _clock_ms(python_id) == _clock_ms(compiled_id):  # the same millisecond
            assert python_id[:9] == compiled_id[:9]
            assert int(python_id[9], 32) >> 2 == int(compiled_id[9], 32) >> 2  # its 3 low bits
            return
    pytest.fail("never drew two ids in the same millisecond")


@pytest.mark.parametrize("make", [scanpath.new_scan_id, event.new_scan_id_python], ids=["compiled", "python"])
def test_a_forked_child_does_not_repeat_its_parents_ids(make: object) -> None:
    assert callable(make)
    make()  # random bytes buffered before the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, make().encode())
        os._exit(0)
    os.close(write_end)
    try:
        ours = make()
        theirs = os.read(read_end, 64).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert len(theirs) == 24
    assert theirs[10:] != ours[10:]


_text = st.text(st.characters(codec="utf-8") | st.characters(categories=["Cs"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    salt=st.binary(min_size=16, max_size=64),
    workspace=st.integers(-(2**63), 2**63 - 1),
    ip=_text,
    ua=_text,
)
def test_the_compiled_visitor_hash_is_the_reference(salt: bytes, workspace: int, ip: str, ua: str) -> None:
    keyed = hashlib.blake2b(key=salt, digest_size=16)
    expected = privacy.keyed_hash_python(keyed, workspace, ip, ua)
    assert scanpath.keyed_hash(keyed, workspace, ip, ua) == expected
    assert privacy.visitor_hash(salt, workspace, ip, ua) == expected
    assert keyed.hexdigest() == hashlib.blake2b(key=salt, digest_size=16).hexdigest()  # left untouched


def test_the_visitor_hash_rejects_what_it_cannot_hash() -> None:
    keyed = hashlib.blake2b(key=b"k" * 32, digest_size=16)
    with pytest.raises(TypeError):
        scanpath.keyed_hash(keyed, 1, b"203.0.113.0", "ua")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        scanpath.keyed_hash(keyed, 2**63, "203.0.113.0", "ua")
