"""IP geolocation for scan capture: country, region, city and ASN of the full client address.

Owns the lookup that must happen BEFORE the address is truncated (DESIGN.md §4). The country
comes from iptocc (RIR data shipped with the package) unless a user-supplied ``.mmdb`` file gives
a geolocated one. Region, city and ASN need such a file, read with maxminddb in its default mmap
mode:

* GeoLite2-City / GeoIP2-City and DB-IP City Lite (same layout): ``country.iso_code``,
  ``subdivisions[0]``, ``city``; ``traits.autonomous_system_number`` when present;
* GeoLite2-Country / DB-IP Country: country only;
* GeoLite2-ASN / DB-IP ASN Lite: ``autonomous_system_number``.

Region and city are the English names (``names.en``), which every layout above carries; DB-IP
has no subdivision ISO code. A missing, unreadable or corrupt file raises :class:`GeoError` when
the locator is built, never per request; a lookup never raises.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from socket import inet_ntoa
from typing import Any

import iptocc
import maxminddb

from scanroute.capture.privacy import ip_text

__all__ = ["NO_GEO", "Geo", "GeoError", "GeoLocator", "country_lookup_parts"]


_MIXED_V4_NETS = (0xC00000, 0xFFFFFF)  # 192.0.0.0/24 and 255.255.255.0/24 mix global and special
_GLOBAL_V4_NETS: dict[int, bool] = {}


def _is_global(addr: IPv4Address | IPv6Address) -> bool:
    """``addr.is_global``, memoised per IPv4 /24 (every special-purpose IPv4 range is /24-aligned
    except inside the two /24s in ``_MIXED_V4_NETS``): ``ipaddress`` checks ~20 networks per call."""
    if addr.version != 4:
        return addr.is_global
    net = int(addr) >> 8
    known = _GLOBAL_V4_NETS.get(net)
    if known is None:
        known = addr.is_global
        if net not in _MIXED_V4_NETS:
            if len(_GLOBAL_V4_NETS) > 65_536:
                _GLOBAL_V4_NETS.clear()
            _GLOBAL_V4_NETS[net] = known
    return known


class GeoError(Exception):
    """A configured geolocation database cannot be used."""


@dataclass(frozen=True, slots=True)
class Geo:
    """Where an address is: ISO 3166-1 alpha-2 country, region and city names, AS number."""

    country: str | None = None
    region: str | None = None
    city: str | None = None
    asn: int | None = None


NO_GEO = Geo()
"""The result for private, loopback, reserved or unparseable addresses."""
_BY_COUNTRY: dict[str | None, Geo] = {None: NO_GEO}


def _country_geo(country: str | None) -> Geo:
    """The (shared, immutable) ``Geo`` of a country alone."""
    geo = _BY_COUNTRY.get(country)
    if geo is None:
        geo = _BY_COUNTRY[country] = Geo(country=country)
    return geo


class _Db:
    """One opened ``.mmdb`` file and what its records hold."""

    __slots__ = ("kind", "path", "reader")

    def __init__(self, path: str) -> None:
        self.path = path
        if not os.path.isfile(path):
            raise GeoError(f"geolocation database not found: {path!r}")
        try:
            self.reader = maxminddb.open_database(path)
            meta = self.reader.metadata()
            db_type = str(meta.database_type)
            ip_version = int(meta.ip_version)
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            raise GeoError(f"cannot read geolocation database {path!r}: {exc}") from exc
        if ip_version not in (4, 6):
            raise GeoError(f"geolocation database {path!r}: unsupported ip_version {ip_version}")
        self.kind = "asn" if "ASN" in db_type.upper() else "location"
        self._probe()

    def _probe(self) -> None:
        """Decode one record so that a corrupt data section fails here, not per request."""
        for probe in ("8.8.8.8", "1.1.1.1", "81.2.69.160"):
            try:
                self.reader.get(probe)
            except (ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
                raise GeoError(f"corrupt geolocation database {self.path!r}: {exc}") from exc

    def get(self, addr: IPv4Address | IPv6Address) -> Mapping[str, Any] | None:
        try:
            record = self.reader.get(addr)
        except (ValueError, RuntimeError, TypeError, KeyError, IndexError):
            # IPv6 address in an IPv4-only database, or a damaged record: no data.
            return None
        return record if isinstance(record, Mapping) else None

    def close(self) -> None:
        self.reader.close()


def _name(node: object) -> str | None:
    if not isinstance(node, Mapping):
        return None
    names = node.get("names")
    if isinstance(names, Mapping):
        en = names.get("en")
        if isinstance(en, str) and en:
            return en
    return None


def _iso(node: object) -> str | None:
    if isinstance(node, Mapping):
        code = node.get("iso_code")
        if isinstance(code, str) and len(code) == 2:
            return code.upper()
    return None


def _asn(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


class GeoLocator:
    """Looks addresses up in iptocc and, when configured, ``.mmdb`` files.

    ``mmdb_path`` may name a City, Country or ASN database; ``asn_mmdb_path`` optionally adds an
    ASN database beside a City one.
    """

    __slots__ = ("_dbs",)

    def __init__(
        self,
        mmdb_path: str | os.PathLike[str] | None = None,
        *,
        asn_mmdb_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Open the databases; raises :class:`GeoError` if one is missing or corrupt."""
        self._dbs: tuple[_Db, ...] = tuple(_Db(os.fspath(p)) for p in (mmdb_path, asn_mmdb_path) if p)

    @property
    def country_only(self) -> bool:
        """Whether lookups give iptocc's country alone (no database configured)."""
        return not self._dbs

    def close(self) -> None:
        """Release the memory maps."""
        for db in self._dbs:
            db.close()

    def lookup(self, ip: str | IPv4Address | IPv6Address | None) -> Geo:
        """Geolocate the FULL address (call before truncating it). Never raises.

        Private, loopback, link-local, reserved and unparseable addresses give all-``None``.
        """
        if ip is None:
            return NO_GEO
        if not self._dbs and type(ip) is IPv4Address:  # the default set-up: country only
            if not _is_global(ip):
                return NO_GEO
            return _country_geo(iptocc.country_code(inet_ntoa(int(ip).to_bytes(4, "big"))))
        if isinstance(ip, str):
            try:
                addr: IPv4Address | IPv6Address = ip_address(ip.strip())
            except ValueError:
                return NO_GEO
        else:
            addr = ip
        if addr.version == 6:
            mapped = addr.ipv4_mapped
            if mapped is not None:
                addr = mapped
        if not _is_global(addr):
            return NO_GEO

        country: str | None = None
        region: str | None = None
        city: str | None = None
        asn: int | None = None
        for db in self._dbs:
            record = db.get(addr)
            if record is None:
                continue
            if db.kind == "asn":
                asn = asn or _asn(record.get("autonomous_system_number"))
                continue
            country = country or _iso(record.get("country"))
            subdivisions = record.get("subdivisions")
            if region is None and isinstance(subdivisions, list) and subdivisions:
                region = _name(subdivisions[0])
            city = city or _name(record.get("city"))
            traits = record.get("traits")
            if asn is None and isinstance(traits, Mapping):
                asn = _asn(traits.get("autonomous_system_number"))
            if asn is None:
                asn = _asn(record.get("autonomous_system_number"))
        if country is None:
            try:
                country = iptocc.country_code(ip_text(addr))
            except (ValueError, TypeError):  # pragma: no cover - iptocc returns None on junk
                country = None
        return Geo(country=country, region=region, city=city, asn=asn)


def country_lookup_parts() -> tuple[Any, ...]:
    """What ``scanroute.native``'s ``FastContext`` needs to do a country-only
    :meth:`GeoLocator.lookup` of an IPv4 address itself, with the same memos: iptocc's lookup,
    the /24 memo of global networks and its filler, and the ``Geo`` per country and its filler."""
    return (iptocc.country_code, _GLOBAL_V4_NETS, _is_global, _BY_COUNTRY, _country_geo)
