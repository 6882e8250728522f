"""Host names and addresses in one canonical spelling, so a policy matches what is meant.

A browser reaches the same machine through many spellings: `LOCALHOST.`, `127.1`,
`0x7f.0.0.1`, `2130706433`, `[::ffff:127.0.0.1]`, `app.localhost`. A domain policy that
compared strings would let each of them past a block on `127.0.0.1` or `localhost`.
Here every host is reduced to one form (lower case, no root dot, an IP address as
`ipaddress` prints it, an IPv4-mapped IPv6 address as its IPv4), and a pattern that
names an address or `localhost` matches every spelling of it.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import anyio

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 host: decimal, `0x` hex or leading-zero octal."""
    if not part:
        return None
    base = 10
    if part[:2].lower() == "0x":
        part, base = part[2:] or "0", 16
    elif len(part) > 1 and part[0] == "0":
        part, base = part[1:], 8
    try:
        return int(part, base)
    except ValueError:
        return None


def _whatwg_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """`127.1`, `0x7f000001`, `2130706433`: the IPv4 forms a browser's URL parser accepts."""
    parts = host.split(".")
    if len(parts) > 4 or not parts[-1] or not any(c.isdigit() for c in parts[-1][:1]):
        return None
    nums = [_ipv4_number(p) for p in parts]
    if any(n is None for n in nums):
        return None
    values = [n for n in nums if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    number = values[-1]
    for i, n in enumerate(values[:-1]):
        number += n << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def address(host: str) -> IPAddress | None:
    """The IP address a host spells, in any spelling, or None for a name."""
    h = host.strip().lower().rstrip(".").strip("[]")
    if not h:
        return None
    ip: IPAddress | None
    try:
        ip = ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        ip = _whatwg_ipv4(h)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def canonical(host: str) -> str:
    """One spelling per host: lower case, no trailing root dot, addresses normalised."""
    ip = address(host)
    if ip is not None:
        return str(ip)
    return host.strip().lower().rstrip(".")


def url_host(url: str) -> str:
    """The canonical host of a URL ('' when it has none)."""
    try:
        return canonical(urlsplit(url).hostname or "")
    except ValueError:
        return ""


def _bare(pattern: str) -> str:
    pattern = pattern.lower().strip()
    if "://" in pattern:
        pattern = urlsplit(pattern).hostname or ""
    return pattern


def is_localhost(host: str) -> bool:
    """`localhost` and its subdomains, which Chromium always resolves to loopback."""
    h = canonical(host)
    return h == "localhost" or h.endswith(".localhost")


def matches(host: str, pattern: str, *, block: bool = False) -> bool:
    """Whether a host matches a policy pattern (`*.example.com`, a name, an address).

    An address pattern matches every spelling of that address. In a blocklist
    (`block`), `localhost` also matches its subdomains and every loopback address: all
    of them reach the same machine. An allowlist entry is never widened."""
    host = canonical(host)
    raw = _bare(pattern)
    if not raw:
        return False
    if raw.startswith("*."):
        rest = canonical(raw[2:])
        return host == rest or fnmatch.fnmatchcase(host, "*." + rest)
    if any(c in raw for c in "*?["):
        return fnmatch.fnmatchcase(host, raw.rstrip("."))
    want = address(raw)
    if want is not None:
        got = address(host)
        return got is not None and got == want
    pat = canonical(raw)
    if block and pat == "localhost":
        ip = address(host)
        return is_localhost(host) or (ip is not None and ip.is_loopback)
    return host == pat


def blocks_addresses(blocked: Sequence[str]) -> bool:
    """Whether a blocklist names addresses (or localhost), so names must be resolved."""
    return any(address(_bare(p)) is not None or canonical(_bare(p)) == "localhost" for p in blocked)


class Resolver:
    """Names to addresses, cached briefly: what a blocked address is checked against.

    The browser resolves on its own as well, so a name whose answer changes between our
    look-up and the browser's (DNS rebinding) is not covered; the README says so.
    """

    TTL_S = 30.0
    TIMEOUT_S = 5.0

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, list[IPAddress]]] = {}

    async def addresses(self, host: str) -> list[IPAddress]:
        host = canonical(host)
        ip = address(host)
        if ip is not None:
            return [ip]
        hit = self._cache.get(host)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.TTL_S:
            return hit[1]
        found: list[IPAddress] = []
        with anyio.move_on_after(self.TIMEOUT_S):
            try:
                infos = await anyio.getaddrinfo(host, None)
            except OSError:
                infos = []
            for info in infos:
                got = address(str(info[4][0]))
                if got is not None and got not in found:
                    found.append(got)
        self._cache[host] = (now, found)
        return found


def any_blocked(addresses: Iterable[IPAddress], blocked: Sequence[str]) -> str | None:
    """The blocked pattern one of `addresses` falls under, if any."""
    for ip in addresses:
        for pattern in blocked:
            if matches(str(ip), pattern, block=True):
                return pattern
    return None
