"""Privacy primitives: truncation, visitor hash, salt ring, exclusions, DNT/GPC."""

from __future__ import annotations

import hashlib
import ipaddress
import struct
import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.capture.privacy import (
    NetworkSet,
    SaltRing,
    expired_days,
    is_excluded,
    keyed_hash,
    new_salt,
    parse_ip,
    parse_networks,
    tracking_refused,
    truncate_ip,
    utc_day,
    visitor_hash,
)

DAY = date(2025, 3, 10)
SALT_A = b"a" * 32
SALT_B = b"b" * 32


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("198.51.100.255", "198.51.100.0"),
        ("8.8.8.8", "8.8.8.0"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.0"),
        ("2001:db8:1234:5678:9abc::1", "2001:db8:1234::"),
        ("2001:0db8:00ff:ffff:ffff:ffff:ffff:ffff", "2001:db8:ff::"),
        ("::1", "::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("::ffff:c633:6409", "198.51.100.0"),
    ],
)
def test_truncate_ip(ip: str, expected: str) -> None:
    assert truncate_ip(ip) == expected
    assert truncate_ip(ipaddress.ip_address(ip)) == expected


def test_truncate_ip_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        truncate_ip("999.1.1.1")


@given(st.ip_addresses())
def test_truncation_keeps_only_the_network_part(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    base = addr
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        base = addr.ipv4_mapped
    prefix = 24 if base.version == 4 else 48
    network = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    assert ipaddress.ip_address(truncate_ip(addr)) == network.network_address


def test_visitor_hash_is_keyed_blake2b_128() -> None:
    h = visitor_hash(SALT_A, 7, "203.0.113.0", "UA/1.0")
    assert len(h) == 32
    assert int(h, 16) >= 0
    assert h == visitor_hash(SALT_A, 7, "203.0.113.0", "UA/1.0")
    # Keyed with the salt: the same message under another key (or unkeyed) differs.
    assert h != visitor_hash(SALT_B, 7, "203.0.113.0", "UA/1.0")
    unkeyed = hashlib.blake2b(b"7203.0.113.0UA/1.0", digest_size=16).hexdigest()
    assert h != unkeyed


def test_visitor_hash_is_the_documented_construction() -> None:
    """Pinned to the construction (key = salt; message = workspace as a signed 64-bit and the IP's
    length as an unsigned 32-bit, big-endian, then the IP and the user agent in UTF-8), computed
    here independently: a change would split every visitor of the day an upgrade lands on."""
    ip, ua = "203.0.113.0", "UA/1.0 é"
    message = struct.pack(">qI", 7, len(ip.encode())) + ip.encode() + ua.encode()
    expected = hashlib.blake2b(message, key=SALT_A, digest_size=16).hexdigest()
    assert visitor_hash(SALT_A, 7, ip, ua) == expected
    assert keyed_hash(SaltRing(salts={DAY: SALT_A}).keyed(DAY), 7, ip, ua) == expected
    assert (
        keyed_hash(SaltRing(salts={DAY: SALT_A}).keyed_previous(DAY + timedelta(days=1)), 7, ip, ua)
        == expected
    )


@pytest.mark.parametrize(
    ("other"),
    [
        (8, "203.0.113.0", "UA/1.0"),
        (7, "203.0.114.0", "UA/1.0"),
        (7, "203.0.113.0", "UA/1.1"),
        # Field boundaries are unambiguous: moving characters between fields changes the hash.
        (7, "203.0.113.0U", "A/1.0"),
        (72, "03.0.113.0", "UA/1.0"),
    ],
)
def test_visitor_hash_differs_across_inputs(other: tuple[int, str, str]) -> None:
    assert visitor_hash(SALT_A, 7, "203.0.113.0", "UA/1.0") != visitor_hash(SALT_A, *other)


def test_new_salt_is_random_32_bytes() -> None:
    salts = {new_salt() for _ in range(20)}
    assert len(salts) == 20
    assert all(isinstance(s, bytes) and len(s) == 32 for s in salts)


def test_utc_day() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert utc_day(datetime(2025, 3, 10, 2, 0, tzinfo=tokyo)) == date(2025, 3, 9)
    assert utc_day(datetime(2025, 3, 10, 23, 59)) == date(2025, 3, 10)
    assert utc_day() == datetime.now(UTC).date()


def test_salt_ring_without_storage_creates_and_keeps_salts() -> None:
    ring = SaltRing()
    today = ring.current(DAY)
    assert len(today) == 32
    assert ring.current(DAY) is today
    assert ring.previous(DAY) is None  # never created for the past
    assert ring.known_days() == [DAY]
    tomorrow = ring.current(DAY + timedelta(days=1))
    assert tomorrow != today
    assert ring.previous(DAY + timedelta(days=1)) == today


def test_salt_ring_uses_loader_and_creator() -> None:
    stored: dict[date, bytes] = {DAY - timedelta(days=1): SALT_A}
    loads: list[date] = []

    def loader(day: date) -> bytes | None:
        loads.append(day)
        return stored.get(day)

    def creator(day: date, salt: bytes) -> bytes:
        return stored.setdefault(day, salt)  # insert-if-absent, return the winner

    ring = SaltRing(loader, creator)
    today = ring.current(DAY)
    assert stored[DAY] == today
    assert ring.previous(DAY) == SALT_A
    ring.current(DAY)
    ring.previous(DAY)
    assert loads == [DAY, DAY - timedelta(days=1)]  # cached after the first load


def test_salt_ring_creator_race_uses_the_stored_winner() -> None:
    def creator(day: date, salt: bytes) -> bytes:
        return SALT_B  # another worker stored its salt first

    ring = SaltRing(lambda day: None, creator)
    assert ring.current(DAY) == SALT_B


def test_salt_ring_previous_none_is_cached_but_put_overrides() -> None:
    calls = 0

    def loader(day: date) -> bytes | None:
        nonlocal calls
        calls += 1
        return None

    ring = SaltRing(loader)
    assert ring.previous(DAY) is None
    assert ring.previous(DAY) is None
    assert calls == 1
    ring.put(DAY - timedelta(days=1), SALT_A)
    assert ring.previous(DAY) == SALT_A


def test_keyed_hashers_give_continuity_across_midnight() -> None:
    ring = SaltRing(salts={DAY: SALT_A})
    yesterday_hash = keyed_hash(ring.keyed(DAY), 1, "203.0.113.0", "UA")
    assert ring.keyed_previous(DAY) is None  # no salt the day before
    next_day = DAY + timedelta(days=1)
    today_hash = keyed_hash(ring.keyed(next_day), 1, "203.0.113.0", "UA")
    previous_hash = keyed_hash(ring.keyed_previous(next_day), 1, "203.0.113.0", "UA")
    assert previous_hash == yesterday_hash  # the same visitor is recognised after midnight
    assert today_hash != yesterday_hash  # but today's identifier is unlinkable without salts
    assert today_hash == visitor_hash(ring.current(next_day), 1, "203.0.113.0", "UA")
    assert keyed_hash(ring.keyed(next_day), 2, "203.0.113.0", "UA") != today_hash  # another workspace


def test_expired_salts_older_than_48h() -> None:
    days = [DAY - timedelta(days=n) for n in range(5)] + [DAY + timedelta(days=1)]
    assert expired_days(DAY, days) == [
        DAY - timedelta(days=4),
        DAY - timedelta(days=3),
        DAY - timedelta(days=2),
    ]
    ring = SaltRing(salts={d: new_salt() for d in days})
    assert ring.expired(DAY) == [DAY - timedelta(days=n) for n in (4, 3, 2)]
    assert ring.known_days() == [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]
    # Against storage's list of days: the ring reports them without needing to hold them.
    assert ring.expired(DAY, stored=[DAY - timedelta(days=9), DAY]) == [DAY - timedelta(days=9)]


def test_keyed_hashers_go_with_their_salts() -> None:
    """The ring keeps a BLAKE2b keyed with each salt in use (cheaper hashing); that state holds
    the salt's secret, so it must be destroyed with the salt."""
    old, new = DAY - timedelta(days=2), DAY
    ring = SaltRing(salts={old: SALT_A, new: SALT_B})
    assert keyed_hash(ring.keyed(old), 1, "203.0.113.0", "UA") == visitor_hash(SALT_A, 1, "203.0.113.0", "UA")
    assert keyed_hash(ring.keyed(new), 1, "203.0.113.0", "UA") == visitor_hash(SALT_B, 1, "203.0.113.0", "UA")
    keyed = ring._keyed  # private: what memory keeps is the point here
    assert set(keyed) == {SALT_A, SALT_B}
    assert ring.expired(DAY) == [old]
    assert SALT_A not in keyed
    assert keyed_hash(ring.keyed(new), 1, "203.0.113.0", "UA") == visitor_hash(SALT_B, 1, "203.0.113.0", "UA")
    assert set(keyed) == {SALT_B}


def test_creating_a_new_day_prunes_salts_from_memory() -> None:
    old = DAY - timedelta(days=2)
    ring = SaltRing(salts={old: SALT_A, DAY - timedelta(days=1): SALT_B})
    ring.current(DAY)
    assert old not in ring.known_days()
    assert ring.previous(DAY) == SALT_B


@pytest.mark.parametrize("bad", [b"", b"short", b"x" * 65])
def test_salt_ring_rejects_bad_salts(bad: bytes) -> None:
    with pytest.raises(ValueError):
        SaltRing(salts={DAY: bad})
    with pytest.raises(ValueError):
        SaltRing().put(DAY, bad)
    with pytest.raises(ValueError):
        SaltRing(lambda day: bad).current(DAY)


def test_salt_ring_is_thread_safe_on_first_use() -> None:
    ring = SaltRing()
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(ring.current(DAY))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1


def test_parse_networks_and_is_excluded() -> None:
    nets = parse_networks(["10.0.0.0/8", "192.0.2.7", " 2001:db8::/32 ", "172.16.1.1/12"])
    assert is_excluded("10.200.3.4", nets)
    assert is_excluded("192.0.2.7", nets)
    assert not is_excluded("192.0.2.8", nets)
    assert is_excluded("2001:db8:ffff::1", nets)
    assert is_excluded("172.31.255.255", nets)  # host bits allowed in config
    assert is_excluded("::ffff:10.0.0.1", nets)  # mapped IPv6 is treated as IPv4
    assert is_excluded(ipaddress.ip_address("10.0.0.1"), nets)
    assert not is_excluded("8.8.8.8", nets)
    assert not is_excluded("garbage", nets)
    assert not is_excluded(None, nets)
    assert not is_excluded("10.0.0.1", ())


def test_network_set_membership() -> None:
    nets = NetworkSet.parse(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])
    assert nets
    assert not NetworkSet(())
    assert ipaddress.ip_address("10.255.0.1") in nets
    assert ipaddress.ip_address("11.0.0.1") not in nets
    assert ipaddress.ip_address("192.0.2.7") in nets
    assert ipaddress.ip_address("192.0.2.8") not in nets
    assert ipaddress.ip_address("2001:db8:1::1") in nets
    assert ipaddress.ip_address("2001:db9::1") not in nets
    assert ipaddress.ip_address("::ffff:10.0.0.1") in nets
    assert "10.0.0.1" not in nets  # only address objects are members
    assert None not in nets


@given(
    st.ip_addresses(),
    st.lists(
        st.ip_addresses().flatmap(
            lambda a: st.integers(0, a.max_prefixlen).map(
                lambda p: ipaddress.ip_network(f"{a}/{p}", strict=False)
            )
        ),
        max_size=5,
    ),
)
def test_network_set_agrees_with_ipaddress(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> None:
    assert (addr in NetworkSet(networks)) is is_excluded(addr, networks)


def test_mapped_ipv6_networks_become_ipv4() -> None:
    nets = parse_networks(["::ffff:10.0.0.0/104", "::ffff:192.0.2.1"])
    assert nets == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.1/32"))
    assert is_excluded("10.1.1.1", nets)
    assert is_excluded("::ffff:10.1.1.1", nets)


def test_parse_networks_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        parse_networks(["10.0.0.0/8", "10.0.0.0/33"])


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"dnt": "1"}, True),
        ({"dnt": " 1 "}, True),
        ({"dnt": "0"}, False),
        ({"sec-gpc": "1"}, True),
        ({"sec-gpc": "0"}, False),
        ({"dnt": "0", "sec-gpc": "1"}, True),
        ({"dnt": "yes"}, False),
        ({"user-agent": "x"}, False),
    ],
)
def test_tracking_refused(headers: dict[str, str], refused: bool) -> None:
    assert tracking_refused(headers) is refused


def _reference_parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


_ADDRESS_TEXT = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
    st.text(alphabet="0123456789abcdefABCDEF:.%[] x", max_size=45),
    st.text(max_size=20),
)


@settings(max_examples=500)
@given(_ADDRESS_TEXT)
def test_parse_ip_agrees_with_ipaddress(text: str) -> None:
    assert parse_ip(text) == _reference_parse(text)


@pytest.mark.parametrize(
    "text", ["01.2.3.4", "1.2.3", "1.2.3.4 ", "256.1.1.1", "::1.2.3.4", "fe80::1%eth0", "1::2::3", ""]
)
def test_parse_ip_edge_cases(text: str) -> None:
    assert parse_ip(text) == _reference_parse(text)
