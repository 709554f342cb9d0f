"""GeoLocator: iptocc country by default, City/Country/ASN ``.mmdb`` files written by the test.

The MaxMind DB format (https://maxmind.github.io/MaxMind-DB/) is small enough to write here:
a binary search tree of 24-bit records, 16 zero bytes, the data section, then the metadata
marker and map. The files are opened by the real maxminddb reader (C extension, mmap).
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

import iptocc
import maxminddb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanroute.capture.geo import NO_GEO, Geo, GeoError, GeoLocator

# --- a minimal MaxMind DB writer -------------------------------------------------------------


class U16(int):
    """Encode as uint16 (metadata fields have fixed types)."""


class U64(int):
    """Encode as uint64."""


_METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 29 + 256:
        head, extra = 29, bytes([size - 29])
    elif size < 285 + 65536:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65821).to_bytes(3, "big")
    if type_ <= 7:
        return bytes([(type_ << 5) | head]) + extra
    return bytes([head, type_ - 7]) + extra


def _uint(type_: int, value: int, width: int) -> bytes:
    payload = value.to_bytes(width, "big").lstrip(b"\x00")
    return _control(type_, len(payload)) + payload


def encode(value: Any) -> bytes:
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(2, len(raw)) + raw
    if isinstance(value, U16):
        return _uint(5, value, 2)
    if isinstance(value, U64):
        return _uint(9, value, 8)
    if isinstance(value, int):
        return _uint(6, value, 4)  # uint32
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, dict):
        body = b"".join(encode(k) + encode(v) for k, v in value.items())
        return _control(7, len(value)) + body
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(type(value))


def write_mmdb(
    path: Path,
    entries: dict[str, dict[str, Any]],
    *,
    database_type: str = "GeoLite2-City",
    ip_version: int = 6,
) -> Path:
    """Write ``{cidr: record}`` as a MaxMind DB (IPv4 networks live under ``::/96``)."""
    data = bytearray()
    nodes: list[list[tuple[str, int] | None]] = [[None, None]]
    for cidr, record in entries.items():
        net = ipaddress.ip_network(cidr)
        # An IPv4 network's integer is < 2**32, i.e. it sits under ::/96 of a 128-bit tree.
        value = int(net.network_address)
        if ip_version == 6:
            bits_len, prefix = 128, net.prefixlen + (96 if net.version == 4 else 0)
        else:
            assert net.version == 4
            bits_len, prefix = 32, net.prefixlen
        offset = len(data)
        data += encode(record)
        node = 0
        for i in range(prefix):
            bit = (value >> (bits_len - 1 - i)) & 1
            if i == prefix - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None:
                nodes.append([None, None])
                nodes[node][bit] = ("node", len(nodes) - 1)
                node = len(nodes) - 1
            else:
                assert child[0] == "node", "overlapping networks are not supported"
                node = child[1]
    node_count = len(nodes)

    def record_value(rec: tuple[str, int] | None) -> int:
        if rec is None:
            return node_count
        kind, n = rec
        return n if kind == "node" else node_count + 16 + n

    tree = b"".join(
        record_value(left).to_bytes(3, "big") + record_value(right).to_bytes(3, "big")
        for left, right in nodes
    )
    metadata = {
        "node_count": node_count,
        "record_size": U16(24),
        "ip_version": U16(ip_version),
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_700_000_000),
        "description": {"en": "scanroute test database"},
    }
    path.write_bytes(tree + bytes(16) + bytes(data) + _METADATA_MARKER + encode(metadata))
    return path


GEOLITE_LONDON = {
    "city": {"geoname_id": 2643743, "names": {"en": "London", "de": "London"}},
    "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
    "location": {"latitude": 51.5142, "longitude": -0.0931},
    "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
    "traits": {"autonomous_system_number": 20712},
}
DBIP_PARIS = {
    "city": {"names": {"en": "Paris"}},
    "continent": {"code": "EU", "names": {"en": "Europe"}},
    "country": {"iso_code": "FR", "is_in_european_union": True, "names": {"en": "France"}},
    "location": {"latitude": 48.8566, "longitude": 2.3522},
    "subdivisions": [{"names": {"en": "Île-de-France"}}],
}


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return write_mmdb(
        tmp_path / "city.mmdb",
        {
            "81.2.69.0/24": GEOLITE_LONDON,
            "2a02:c7c::/32": {**GEOLITE_LONDON, "city": {"names": {"en": "Manchester"}}},
            # A documentation-free public block with a country but no city/subdivision.
            "5.145.160.0/20": {"country": {"iso_code": "de"}},
        },
    )


# --- tests -----------------------------------------------------------------------------------


def test_writer_produces_a_file_maxminddb_reads(city_db: Path) -> None:
    with maxminddb.open_database(str(city_db)) as reader:
        assert reader.get("81.2.69.160") == GEOLITE_LONDON
        assert reader.get("81.2.70.1") is None
        assert reader.metadata().database_type == "GeoLite2-City"


def test_default_country_comes_from_iptocc() -> None:
    geo = GeoLocator(None)
    assert geo.lookup("8.8.8.8") == Geo(country="US")
    assert geo.lookup("81.2.69.160").country == "GB"
    assert geo.lookup(ipaddress.ip_address("8.8.4.4")).country == "US"


def test_ipv6_and_mapped_ipv4() -> None:
    geo = GeoLocator(None)
    assert geo.lookup("::ffff:8.8.8.8").country == "US"
    v6 = geo.lookup("2a00:1450:4001:80b::200e")
    assert v6.country is not None
    assert len(v6.country) == 2
    assert v6.city is None
    assert v6.asn is None


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.4",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "::ffff:10.0.0.1",
        "not-an-ip",
        "",
        "1.2.3.4.5",
    ],
)
def test_private_loopback_and_garbage_have_no_geo(ip: str, city_db: Path) -> None:
    assert GeoLocator(None).lookup(ip) == NO_GEO
    assert GeoLocator(str(city_db)).lookup(ip) == NO_GEO


def test_none_address_has_no_geo() -> None:
    assert GeoLocator(None).lookup(None) == NO_GEO


def test_geolite2_city_layout(city_db: Path) -> None:
    assert GeoLocator(city_db).lookup("81.2.69.160").city == "London"  # a Path works too
    geo = GeoLocator(str(city_db))
    assert geo.lookup("81.2.69.160") == Geo("GB", "England", "London", 20712)
    assert geo.lookup("2a02:c7c:1234::1") == Geo("GB", "England", "Manchester", 20712)
    # Country only in the file: upper-cased, no region/city.
    assert geo.lookup("5.145.161.1") == Geo(country="DE")
    # Not in the file: falls back to iptocc for the country, nothing else.
    assert geo.lookup("8.8.8.8") == Geo(country="US")


def test_dbip_city_layout(tmp_path: Path) -> None:
    path = write_mmdb(
        tmp_path / "dbip-city-lite.mmdb",
        {"90.0.0.0/9": DBIP_PARIS},
        database_type="DBIP-City-Lite",
    )
    assert GeoLocator(str(path)).lookup("90.12.34.56") == Geo("FR", "Île-de-France", "Paris")


def test_asn_database(tmp_path: Path) -> None:
    path = write_mmdb(
        tmp_path / "asn.mmdb",
        {
            "8.8.8.0/24": {
                "autonomous_system_number": 15169,
                "autonomous_system_organization": "G",
            },
            "2001:4860::/32": {"autonomous_system_number": 15169},
        },
        database_type="GeoLite2-ASN",
    )
    geo = GeoLocator(str(path))
    assert geo.lookup("8.8.8.8") == Geo(country="US", asn=15169)
    assert geo.lookup("2001:4860:4860::8888").asn == 15169
    assert geo.lookup("1.1.1.1").asn is None


def test_city_and_asn_together(tmp_path: Path, city_db: Path) -> None:
    asn = write_mmdb(
        tmp_path / "asn.mmdb",
        {"81.2.69.0/24": {"autonomous_system_number": 64500}},
        database_type="DBIP-ASN-Lite (compat=GeoLite2-ASN)",
    )
    plain_city = write_mmdb(tmp_path / "c.mmdb", {"81.2.69.0/24": {**GEOLITE_LONDON, "traits": {}}})
    geo = GeoLocator(str(plain_city), asn_mmdb_path=str(asn))
    assert geo.lookup("81.2.69.1") == Geo("GB", "England", "London", 64500)
    # The City file's traits win when it has them.
    assert GeoLocator(str(city_db), asn_mmdb_path=str(asn)).lookup("81.2.69.1").asn == 20712


def test_ipv6_lookup_in_ipv4_only_database_does_not_raise(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "v4.mmdb", {"81.2.69.0/24": GEOLITE_LONDON}, ip_version=4)
    geo = GeoLocator(str(path))
    assert geo.lookup("81.2.69.5").city == "London"
    v6 = geo.lookup("2a00:1450:4001:80b::200e")
    assert v6.city is None
    assert v6.country is not None


def test_missing_file_raises_at_construction(tmp_path: Path) -> None:
    with pytest.raises(GeoError, match="not found"):
        GeoLocator(str(tmp_path / "nope.mmdb"))
    with pytest.raises(GeoError, match="not found"):
        GeoLocator(str(tmp_path))  # a directory


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is not a maxmind database" * 10,
        bytes(range(256)) * 4,
    ],
)
def test_corrupt_file_raises_at_construction(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.mmdb"
    path.write_bytes(content)
    with pytest.raises(GeoError, match=r"bad\.mmdb"):
        GeoLocator(str(path))


def test_truncated_file_raises_at_construction(tmp_path: Path, city_db: Path) -> None:
    raw = city_db.read_bytes()
    cut = tmp_path / "cut.mmdb"
    cut.write_bytes(raw[: len(raw) // 3])  # metadata gone
    with pytest.raises(GeoError):
        GeoLocator(str(cut))


def test_close_releases_the_reader(city_db: Path) -> None:
    geo = GeoLocator(str(city_db))
    geo.close()
    # After close a lookup must still not raise (it degrades to iptocc).
    assert geo.lookup("81.2.69.160").country == "GB"


@given(st.ip_addresses(v=4))
def test_the_country_only_fast_path_agrees_with_the_general_one(addr: ipaddress.IPv4Address) -> None:
    """An address object takes the fast path (no .mmdb); its text takes the general one."""
    geo = GeoLocator()
    assert geo.lookup(addr) == geo.lookup(str(addr))
    assert geo.lookup(addr).country == (iptocc.country_code(str(addr)) if addr.is_global else None)
