"""Reading a brief's sources without letting a brief reach inside the machine or the network it runs on.

A brief is input from a marketer, and its ``sources`` are fetched by the pipeline: left unchecked, a brief
could make a run read ``/etc/passwd`` into the warehouse, query a database port on 127.0.0.1 or a cloud
metadata address, or stall a run with a page that never ends. So:

- URLs: only ``http``/``https``. The host is resolved and every address checked before connecting; loopback,
  private, shared, link-local, multicast, unspecified and reserved addresses are refused (also inside
  IPv4-mapped, 6to4 and NAT64 IPv6 forms) unless the host or address is in the allow-list
  (``SPLANTS_SOURCE_ALLOW``, for intranet sources). The request goes to the address that was checked (the
  URL's host travels in the ``Host`` header and TLS SNI), so a second DNS answer cannot point it elsewhere.
  Redirects are followed by hand, at most 5, each hop checked the same way. Proxies from the environment
  are ignored (a proxy would resolve the host itself, out of reach of the check).
- Bodies are streamed with a byte cap (``SPLANTS_SOURCE_MAX_BYTES``, 5 MB) and the whole fetch, redirects
  included, has one deadline (``SPLANTS_SOURCE_DEADLINE_S``, 20 s), so a server dripping a byte a second
  cannot hold a run.
- Files: only regular files inside the data directory (symlinks resolved first; ``..`` refused outright).

httpx has no SSRF guard of its own, and the packages that add one to it are young and cover neither the
byte cap, the deadline nor the file rules, so the guard is written here, small and tested
(``splants_dagster_tests/robustness/test_sources.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import ssl
import stat
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin

import httpx

from splants_dagster import settings

ALLOW_ENV = "SPLANTS_SOURCE_ALLOW"
MAX_BYTES_ENV = "SPLANTS_SOURCE_MAX_BYTES"
DEADLINE_ENV = "SPLANTS_SOURCE_DEADLINE_S"
USER_AGENT = "splants-dagster/0.1 (+https://github.com/splants/splants-dagster; research fetcher)"
REDIRECTS = (301, 302, 303, 307, 308)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# IPv6 forms that carry an IPv4 address inside: the IPv4 address decides
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not public, not "private" either


class SourceRefused(Exception):
    """The source breaks the policy: it was never contacted or opened."""


class SourceFailed(Exception):
    """The source was allowed but could not be read (network error, HTTP error, over a limit)."""


@dataclass(frozen=True)
class AllowRule:
    """One allow-list entry: a host name, or an address or network, optionally limited to one port."""

    host: str | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> AllowRule:
        text = entry.strip().lower()
        port: int | None = None
        bracketed = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d+))?", text)
        if bracketed:
            text, port = bracketed.group(1), int(bracketed.group(2)) if bracketed.group(2) else None
        elif text.count(":") == 1:
            text, _, port_text = text.partition(":")
            if not port_text.isdigit():
                raise ValueError(f"{entry.strip()!r} has a port that is not a number")
            port = int(port_text)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"{entry.strip()!r} has a port outside 1-65535")
        try:
            return cls(network=ipaddress.ip_network(text, strict=False), port=port)
        except ValueError:
            pass
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?", text):
            raise ValueError(
                f"{entry.strip()!r} is not a host name, IP address or network (CIDR), each optionally with :port"
            )
        return cls(host=text.rstrip("."), port=port)

    def allows_host(self, host: str, port: int) -> bool:
        return self.host is not None and self.host == host and self.port in (None, port)

    def allows_address(self, ip: IP, port: int) -> bool:
        return (
            self.network is not None
            and ip.version == self.network.version
            and ip in self.network
            and self.port in (None, port)
        )


def parse_allow(value: str) -> tuple[AllowRule, ...]:
    """``SPLANTS_SOURCE_ALLOW``: comma-separated host names, addresses or CIDRs, each optionally ``:port``."""
    return tuple(AllowRule.parse(part) for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class FetchPolicy:
    """What a source may be and how much of it is read. :meth:`from_env` reads the settings."""

    allow: tuple[AllowRule, ...] = ()
    max_bytes: int = settings.BY_NAME[MAX_BYTES_ENV].default
    deadline_s: float = settings.BY_NAME[DEADLINE_ENV].default  # the whole fetch, redirects included
    timeout_s: float = 15.0  # each connect or read
    max_redirects: int = 5

    @classmethod
    def from_env(cls, timeout_s: float | None = None) -> FetchPolicy:
        """The policy from ``SPLANTS_SOURCE_ALLOW``, ``SPLANTS_SOURCE_MAX_BYTES`` and
        ``SPLANTS_SOURCE_DEADLINE_S``; a bad value raises ``settings.SettingsError`` (a ``ValueError``)
        naming the variable and value."""
        return cls(
            allow=settings.value(ALLOW_ENV) or (),
            max_bytes=settings.value(MAX_BYTES_ENV),
            deadline_s=settings.value(DEADLINE_ENV),
            timeout_s=timeout_s if timeout_s is not None else cls.timeout_s,
        )


def non_public_reason(ip: IP) -> str | None:
    """Why an address is not a public internet address (None when it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = non_public_reason(embedded)
            return f"{inner} (inside IPv6 address {ip})" if inner else None
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip in SHARED if ip.version == 4 else False, "shared (carrier-grade NAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-public"),
    )
    for flagged, kind in checks:
        if flagged:
            return f"{kind} address {ip}"
    return None


@dataclass(frozen=True)
class Target:
    """A checked hop: the URL, and the addresses (all checked) the request may be sent to, in order."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def address(self) -> str:
        return self.addresses[0]


def _host_and_port(url: httpx.URL) -> tuple[str, int]:
    if url.scheme not in ("http", "https"):
        raise SourceRefused(f"scheme {url.scheme or '(none)'!r} is not allowed (only http and https)")
    if not url.host:
        raise SourceRefused("the URL has no host")
    return url.host.lower().rstrip("."), url.port or (443 if url.scheme == "https" else 80)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(url: httpx.URL, policy: FetchPolicy, resolve: Resolver = system_resolver) -> Target:
    """The address to send ``url`` to, or :class:`SourceRefused` saying why it may not be fetched. Every
    address the host resolves to must pass: one bad answer refuses the host."""
    host, port = _host_and_port(url)
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise SourceFailed(f"cannot resolve {host}: {exc.strerror or exc}") from None
    if not addresses:
        raise SourceFailed(f"cannot resolve {host}: no address")
    if any(rule.allows_host(host, port) for rule in policy.allow):
        return Target(url, host, port, tuple(addresses))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(rule.allows_address(ip, port) for rule in policy.allow):
            continue
        reason = non_public_reason(ip)
        if reason:
            shown = host if host == address else f"{host} ({address})"
            raise SourceRefused(f"{shown} port {port} is a {reason}; add it to {ALLOW_ENV} to fetch it")
    return Target(url, host, port, tuple(addresses))


@dataclass
class Page:
    url: str  # the final URL, after redirects
    body: bytes
    content_type: str
    encoding: str | None
    redirects: list[str] = field(default_factory=list)


def _client(policy: FetchPolicy, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=policy.timeout_s,
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: it would resolve hosts past the check
        verify=verify,
    )


async def _get(target: Target, policy: FetchPolicy, verify, page: Page) -> httpx.URL | None:
    """One hop: the next URL when the answer is a redirect, else ``None`` with ``page`` filled in. The
    checked addresses are tried in order until one accepts the connection (an IPv6 answer on a host
    without IPv6 routing, say)."""
    for address in target.addresses[:-1]:
        try:
            return await _get_from(address, target, policy, verify, page)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue
    return await _get_from(target.addresses[-1], target, policy, verify, page)


async def _get_from(
    address: str, target: Target, policy: FetchPolicy, verify, page: Page
) -> httpx.URL | None:
    url = target.url.copy_with(host=address)
    headers = {"User-Agent": USER_AGENT, "Host": target.url.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
    async with (
        _client(policy, verify) as client,
        client.stream("GET", url, headers=headers, extensions=extensions) as response,
    ):
        if response.status_code in REDIRECTS and response.headers.get("location"):
            location = response.headers["location"]
            try:
                return httpx.URL(urljoin(str(target.url), location))
            except (httpx.InvalidURL, ValueError):
                raise SourceFailed(f"redirect to an invalid URL: {location[:200]}") from None
        if response.status_code >= 400:
            raise SourceFailed(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > policy.max_bytes:
            raise SourceFailed(
                f"page is {int(declared)} bytes, over the {policy.max_bytes}-byte cap ({MAX_BYTES_ENV})"
            )
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > policy.max_bytes:
                raise SourceFailed(f"page is over the {policy.max_bytes}-byte cap ({MAX_BYTES_ENV})")
            chunks.append(chunk)
        page.body = b"".join(chunks)
        page.content_type = response.headers.get("content-type", "")
        page.encoding = response.charset_encoding
        page.url = str(target.url)
        return None


async def fetch_page(
    ref: str,
    policy: FetchPolicy,
    resolve: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
) -> Page:
    """The body of ``ref`` under ``policy``: :class:`SourceRefused` when the URL or a redirect breaks the
    policy, :class:`SourceFailed` when it cannot be read within the limits. ``verify``: TLS verification
    (a context with an intranet CA, say); certificates are always checked against the URL's host name."""
    page = Page(ref, b"", "", None)
    try:
        url = httpx.URL(ref)
    except (httpx.InvalidURL, ValueError) as exc:
        raise SourceRefused(f"not a valid URL: {exc}") from None
    try:
        async with asyncio.timeout(policy.deadline_s):
            for _ in range(policy.max_redirects + 1):
                try:
                    target = await check_url(url, policy, resolve)
                except SourceRefused as exc:
                    if page.redirects:
                        raise SourceRefused(f"redirect to {url} refused: {exc}") from None
                    raise
                following = await _get(target, policy, verify, page)
                if following is None:
                    return page
                page.redirects.append(str(following))
                url = following
    except TimeoutError:
        raise SourceFailed(f"not read within the {policy.deadline_s:g}s deadline ({DEADLINE_ENV})") from None
    except (httpx.HTTPError, OSError) as exc:
        raise SourceFailed(f"{type(exc).__name__}: {exc}") from None
    raise SourceFailed(f"more than {policy.max_redirects} redirects")


def open_source_file(ref: str, data_dir: Path, max_bytes: int) -> bytes:
    """The bytes of a file source, which must be a regular file inside ``data_dir`` (symlinks resolved)."""
    if SCHEME.match(ref):
        raise SourceRefused(f"scheme {ref.split(':', 1)[0]!r} is not allowed (only http and https)")
    relative = PurePosixPath(ref)
    if ".." in relative.parts:
        raise SourceRefused("'..' is not allowed in a file source: name a file inside the data directory")
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise SourceRefused(f"file sources must be inside the data directory {root}")
    try:
        # O_NONBLOCK: a FIFO left in the data directory must not hang the run at open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise SourceFailed(f"file not found: {path}") from None
    except OSError as exc:
        raise SourceFailed(f"cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SourceRefused(f"{path} is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SourceFailed(f"file is over the {max_bytes}-byte cap ({MAX_BYTES_ENV})")
    return data


def is_url(ref: str) -> bool:
    return ref.lower().startswith(("http://", "https://"))


async def gather_limited(jobs: Sequence[Awaitable], limit: int = 4) -> list:
    """Run ``jobs`` at most ``limit`` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job):
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))
