"""Privacy primitives for scan capture: IP truncation, visitor hashing, salts, refusal signals.

Owns the rules of DESIGN.md §4 "Counting": raw IPs are never stored (IPv4 is cut to its /24,
IPv6 to its /48, IPv4-mapped IPv6 is treated as IPv4); unique visitors per day come from a keyed
BLAKE2b hash of (workspace, truncated IP, user agent) whose key is a random salt rotated every UTC
day, the previous day's salt being kept for 48 h in total and then destroyed.

Everything here is pure: :class:`SaltRing` keeps salts in memory and asks the caller-supplied
loader (and optional creator) for the ones it does not hold; where the salts live is the storage
layer's job.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from scanroute.native import scanpath

__all__ = [
    "SALT_BYTES",
    "SALT_RETENTION_DAYS",
    "IPAddress",
    "IPNetwork",
    "NetworkSet",
    "SaltCreator",
    "SaltLoader",
    "SaltRing",
    "expired_days",
    "ip_text",
    "is_excluded",
    "keyed_hash",
    "keyed_hash_python",
    "new_salt",
    "normalize_ip",
    "parse_ip",
    "parse_networks",
    "tracking_refused",
    "truncate_ip",
    "utc_day",
    "visitor_hash",
]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

SALT_BYTES = 32
"""Length of a daily salt (BLAKE2b accepts keys of up to 64 bytes)."""

SALT_RETENTION_DAYS = 2
"""A salt is used on its own day and as "previous" on the next: 48 h, then destroyed."""

_V6_PREFIX = 48
_V6_MASK = ((1 << 128) - 1) ^ ((1 << (128 - _V6_PREFIX)) - 1)
_HASH_HEADER = struct.Struct(">qI")

SaltLoader = Callable[[date], bytes | None]
"""Returns the stored salt of a UTC day, or ``None`` when no salt was stored for it."""

SaltCreator = Callable[[date, bytes], bytes]
"""Stores ``salt`` for the day unless one already exists, and returns the salt now stored.

Must be atomic across processes (insert-if-absent, then read back) so that every worker hashes
with the same salt.
"""


def normalize_ip(ip: str | IPAddress) -> IPAddress:
    """Parse ``ip`` and unwrap IPv4-mapped IPv6 (``::ffff:a.b.c.d``) to plain IPv4.

    Raises ``ValueError`` when ``ip`` is not an IP address.
    """
    addr = ip_address(ip) if isinstance(ip, str) else ip
    if addr.version == 6:
        mapped = addr.ipv4_mapped
        if mapped is not None:
            return mapped
    return addr


def parse_ip(text: str) -> IPAddress | None:
    """Parse an address quickly (``inet_pton``), unwrapping IPv4-mapped IPv6; junk → ``None``.

    About ten times faster than ``ipaddress.ip_address`` on a string; accepts exactly what it
    accepts, including IPv6 scope ids (``fe80::1%eth0``).
    """
    try:
        if ":" not in text:
            return IPv4Address(socket.inet_pton(socket.AF_INET, text))
        if "%" in text:
            addr: IPAddress = ip_address(text)
        else:
            addr = IPv6Address(socket.inet_pton(socket.AF_INET6, text))
    except (OSError, ValueError):
        return None
    if addr.version == 6:
        mapped = addr.ipv4_mapped
        if mapped is not None:
            return mapped
    return addr


def ip_text(addr: IPAddress) -> str:
    """``str(addr)``, with a fast path for IPv4."""
    if addr.version == 4:
        return socket.inet_ntoa(addr.packed)
    return str(addr)


def truncate_ip(ip: str | IPAddress) -> str:
    """Return the network address of ``ip``'s /24 (IPv4) or /48 (IPv6) as a string.

    ``203.0.113.77`` → ``203.0.113.0``; ``2001:db8:1234:5678::1`` → ``2001:db8:1234::``;
    ``::ffff:198.51.100.9`` → ``198.51.100.0``. This is the only form of an address that may be
    persisted. Raises ``ValueError`` when ``ip`` is not an IP address.
    """
    addr = ip if type(ip) is IPv4Address else normalize_ip(ip)
    if addr.version == 4:
        n = int(addr)
        return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.0"
    return str(IPv6Address(int(addr) & _V6_MASK))


def visitor_hash(salt: bytes, workspace_id: int, truncated_ip: str, user_agent: str) -> str:
    """Keyed BLAKE2b (16-byte digest, hex) of (workspace, truncated IP, user agent), keyed by salt.

    The fields are length-prefixed so that no two different inputs share a message.
    """
    return keyed_hash(hashlib.blake2b(key=salt, digest_size=16), workspace_id, truncated_ip, user_agent)


def keyed_hash_python(keyed: Any, workspace_id: int, truncated_ip: str, user_agent: str) -> str:
    """:func:`visitor_hash` with a BLAKE2b object already keyed (a copy of it is updated: keying
    hashes a whole block, as much work again as the message itself)."""
    ip_b = truncated_ip.encode("utf-8", "surrogatepass")
    h = keyed.copy()
    h.update(_HASH_HEADER.pack(workspace_id, len(ip_b)) + ip_b + user_agent.encode("utf-8", "surrogatepass"))
    return str(h.hexdigest())


keyed_hash: Callable[[Any, int, str, str], str] = (
    scanpath.keyed_hash if scanpath is not None else keyed_hash_python
)
"""The visitor hash with a BLAKE2b keyed by the day's salt (``SaltRing.keyed``): a copy of it,
updated with the length-prefixed fields (see :func:`visitor_hash`); compiled when installed."""


def new_salt() -> bytes:
    """A fresh random salt: ``secrets.token_bytes(32)``."""
    return secrets.token_bytes(SALT_BYTES)


def utc_day(now: datetime | None = None) -> date:
    """The UTC calendar day of ``now`` (default: now); a naive ``now`` is taken as UTC."""
    if now is None:
        return datetime.now(UTC).date()
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(UTC).date()


def expired_days(day: date, days: Iterable[date]) -> list[date]:
    """The days among ``days`` whose salts must be destroyed on ``day`` (older than 48 h)."""
    cutoff = day - timedelta(days=SALT_RETENTION_DAYS)
    return sorted({d for d in days if d <= cutoff})


class SaltRing:
    """Daily salts held in memory, filled on demand from a caller-provided loader.

    ``current(day)`` is the salt of ``day``: taken from memory, else from ``loader``, else a new
    salt is made (``new_salt()``) and handed to ``creator`` (which stores it unless another
    process won the race, and returns the winner). Without a creator, the new salt lives only in
    this ring (single-process use and tests). ``previous(day)`` is the salt of the day before,
    or ``None`` when none existed; it is never created. Thread-safe.
    """

    __slots__ = ("_creator", "_keyed", "_loader", "_lock", "_missing", "_salts")

    def __init__(
        self,
        loader: SaltLoader | None = None,
        creator: SaltCreator | None = None,
        *,
        salts: Mapping[date, bytes] | None = None,
    ) -> None:
        """Create a ring; ``salts`` pre-seeds it (e.g. from a bulk load at start-up)."""
        self._loader = loader
        self._creator = creator
        self._salts: dict[date, bytes] = dict(salts or {})
        self._missing: set[date] = set()
        self._keyed: dict[bytes, Any] = {}  # salt → BLAKE2b keyed with it (see keyed_hash)
        self._lock = threading.Lock()
        for day, salt in self._salts.items():
            _check_salt(day, salt)

    def put(self, day: date, salt: bytes) -> None:
        """Record the salt of ``day`` (for example after a reload by the rotation job)."""
        _check_salt(day, salt)
        with self._lock:
            self._salts[day] = salt
            self._missing.discard(day)

    def known_days(self) -> list[date]:
        """The days whose salts this ring holds, sorted."""
        return sorted(self._salts)

    def current(self, day: date) -> bytes:
        """The salt of ``day``, loading or creating it on first use."""
        salt = self._salts.get(day)
        if salt is not None:
            return salt
        with self._lock:
            salt = self._salts.get(day)
            if salt is not None:
                return salt
            salt = self._loader(day) if self._loader is not None else None
            if salt is None:
                fresh = new_salt()
                salt = self._creator(day, fresh) if self._creator is not None else fresh
            _check_salt(day, salt)
            self._salts[day] = salt
            self._missing.discard(day)
            self._prune(day)
            return salt

    def previous(self, day: date) -> bytes | None:
        """The salt of the day before ``day``, or ``None`` if there was none (never created)."""
        prev = day - timedelta(days=1)
        salt = self._salts.get(prev)
        if salt is not None or prev in self._missing:
            return salt
        with self._lock:
            salt = self._salts.get(prev)
            if salt is not None:
                return salt
            salt = self._loader(prev) if self._loader is not None else None
            if salt is None:
                self._missing.add(prev)
                return None
            _check_salt(prev, salt)
            self._salts[prev] = salt
            return salt

    def keyed(self, day: date) -> Any:
        """BLAKE2b keyed with the day's salt: the day's visitor hashes are ``keyed_hash`` of it
        (destroyed with the salt)."""
        return self._keyed_by(self.current(day))

    def keyed_previous(self, day: date) -> Any:
        """:meth:`keyed` for the day before ``day``; ``None`` when it had no salt. Hashing with
        it too recognises a visitor across midnight."""
        salt = self.previous(day)
        return None if salt is None else self._keyed_by(salt)

    def _keyed_by(self, salt: bytes) -> Any:
        keyed = self._keyed.get(salt)
        if keyed is None:
            if len(self._keyed) >= 2 * SALT_RETENTION_DAYS:  # only the last days' salts are in use
                self._keyed.clear()
            keyed = self._keyed[salt] = hashlib.blake2b(key=salt, digest_size=16)
        return keyed

    def expired(self, day: date, stored: Iterable[date] | None = None) -> list[date]:
        """Days whose salts are older than 48 h on ``day`` and must be destroyed.

        Looks at ``stored`` (e.g. the days the storage layer holds) when given, else at the
        days this ring holds. The ring itself forgets those days.
        """
        candidates = self.known_days() if stored is None else stored
        result = expired_days(day, candidates)
        with self._lock:
            for d in result:
                self._salts.pop(d, None)
                self._missing.discard(d)
            if result:  # a keyed hasher holds its salt's secret as much as the salt itself
                self._keyed.clear()
        return result

    def _prune(self, day: date) -> None:
        cutoff = day - timedelta(days=SALT_RETENTION_DAYS)
        pruned = [d for d in self._salts if d <= cutoff]
        for d in pruned:
            del self._salts[d]
        if pruned:
            self._keyed.clear()
        self._missing = {d for d in self._missing if d > cutoff}


def _check_salt(day: date, salt: bytes) -> None:
    if not isinstance(salt, bytes) or not 16 <= len(salt) <= 64:
        raise ValueError(f"salt for {day.isoformat()} must be 16 to 64 bytes")


def parse_networks(networks: Sequence[str]) -> tuple[IPNetwork, ...]:
    """Parse configured CIDRs (or bare addresses); raises ``ValueError`` naming a bad entry.

    Host bits are allowed (``10.1.2.3/8`` means ``10.0.0.0/8``). IPv4-mapped IPv6 networks
    (``::ffff:10.0.0.0/104``) become IPv4 networks, as addresses are unwrapped before matching.
    """
    parsed: list[IPNetwork] = []
    for raw in networks:
        try:
            net = ip_network(raw.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"invalid IP network {raw!r}: {exc}") from None
        if isinstance(net, IPv6Network) and net.prefixlen >= 96:
            mapped = net.network_address.ipv4_mapped
            if mapped is not None:
                net = IPv4Network((mapped, net.prefixlen - 96))
        parsed.append(net)
    return tuple(parsed)


class NetworkSet:
    """Fixed networks with cheap membership tests (integer masks; ~4x faster than ``in net``).

    ``addr in networks`` unwraps IPv4-mapped IPv6 addresses; anything else not an address is
    simply not a member.
    """

    __slots__ = ("_v4", "_v6", "networks")

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        """Index ``networks`` (see :func:`parse_networks` for configured strings)."""
        self.networks: tuple[IPNetwork, ...] = tuple(networks)
        self._v4 = tuple((int(n.network_address), int(n.netmask)) for n in self.networks if n.version == 4)
        self._v6 = tuple((int(n.network_address), int(n.netmask)) for n in self.networks if n.version == 6)

    @classmethod
    def parse(cls, cidrs: Sequence[str]) -> NetworkSet:
        """Parse configured CIDRs; raises ``ValueError`` naming a bad entry."""
        return cls(parse_networks(cidrs))

    def __bool__(self) -> bool:
        return bool(self.networks)

    @property
    def v4(self) -> tuple[tuple[int, int], ...]:
        """The IPv4 networks as (network, mask) integers: all that an IPv4 address is tested
        against."""
        return self._v4

    def __contains__(self, addr: object) -> bool:
        if type(addr) is IPv4Address:  # the usual case first, without a generator
            n = int(addr)
            for net, mask in self._v4:  # noqa: SIM110 - a loop: no generator per lookup
                if n & mask == net:
                    return True
            return False
        if isinstance(addr, IPv4Address):
            candidates = self._v4
        elif isinstance(addr, IPv6Address):
            mapped = addr.ipv4_mapped
            if mapped is not None:
                return mapped in self
            candidates = self._v6
        else:
            return False
        n = int(addr)
        return any(n & mask == net for net, mask in candidates)


def is_excluded(ip: str | IPAddress | None, networks: Iterable[IPNetwork]) -> bool:
    """Whether ``ip`` falls in one of the excluded ``networks`` (unparseable or ``None``: no)."""
    if ip is None:
        return False
    try:
        addr = normalize_ip(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def tracking_refused(headers: Mapping[str, str]) -> bool:
    """``DNT: 1`` or ``Sec-GPC: 1`` in ``headers`` (names lower-cased, values decoded)."""
    dnt = headers.get("dnt")
    if dnt is not None and dnt.strip() == "1":
        return True
    gpc = headers.get("sec-gpc")
    return gpc is not None and gpc.strip() == "1"
