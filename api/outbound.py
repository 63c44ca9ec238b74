"""Requests the service makes to addresses it was told about (FHIR servers named by a CDS
Hooks call, JWK Sets of trusted issuers): to where they say, and nowhere else.

A URL on an allow-list can still name a host that resolves to this machine, the cloud
metadata service (169.254.169.254) or another internal address, or resolve to a public
address when checked and to an internal one when connected (DNS rebinding). So the
transport resolves the host itself, refuses it if *any* address it resolves to is not
allowed, and connects to the address it checked: the request's URL is rewritten to that
address while the Host header and the TLS server name (SNI and certificate check) stay the
host's. Nothing is resolved twice.

Allowed: globally routable addresses; private ranges listed in CDS_FHIR_PRIVATE_NETWORKS
(a hospital network); on a test bench (CDS_TEST_BENCH) also loopback, link-local and any
private range. Never: unspecified (0.0.0.0, ::) and multicast. IPv4 addresses embedded in
IPv6 (mapped, 6to4, Teredo, NAT64) are judged as the IPv4 address they reach.
No proxy from the environment is used (it would connect on our behalf, unchecked).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class RefusedAddress(httpx.ConnectError):
    """The host resolves to an address the service may not connect to. The message names
    the host and the kind of address, for the log; callers never show it to users."""


@dataclass(frozen=True)
class AddressPolicy:
    private_networks: tuple[Network, ...] = ()
    test_bench: bool = False

    def refuses(self, text: str) -> str | None:
        """Why the address is refused, or None when it is allowed."""
        ip: Address = ipaddress.ip_address(text.split("%", 1)[0])  # no IPv6 zone id
        ip = _embedded_ipv4(ip) or ip
        if ip.is_unspecified or ip.is_multicast:
            return "unspecified or multicast"
        if self.test_bench:
            return None
        if ip.is_loopback:
            return "loopback"
        if ip.is_link_local:
            return "link-local (e.g. cloud metadata)"
        if any(ip in net for net in self.private_networks if net.version == ip.version):
            return None
        if not ip.is_global:
            return "private or reserved"
        return None


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, connecting only to the checked address of each host."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver | None = None) -> None:
        self.policy = policy
        self._resolve = resolver or system_resolver
        self._inner = httpx.AsyncHTTPTransport(retries=0, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = await self._resolve(host, port)
        except OSError as exc:
            raise httpx.ConnectError(
                f"{host} could not be resolved ({type(exc).__name__})", request=request
            ) from None
        if not addresses:
            raise httpx.ConnectError(f"{host} has no address", request=request)
        refused = {why for why in map(self.policy.refuses, addresses) if why}
        if refused:
            raise RefusedAddress(
                f"{host} resolves to a refused address ({', '.join(sorted(refused))})",
                request=request,
            )
        request.url = request.url.copy_with(host=addresses[0])
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def policy_from(private_networks: Iterable[Network], test_bench: bool) -> AddressPolicy:
    return AddressPolicy(tuple(private_networks), test_bench)


class UnreadableBody(ValueError):
    """A response body that was not read whole: over the cap, or an encoding not read."""


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a streamed response, inflated if gzipped, and never more than `max_bytes`
    of it: zlib is told how much it may produce, so a bomb costs at most the cap in memory
    and time. Raises UnreadableBody saying why (no content from the body in the reason)."""
    if response.is_stream_consumed:  # built in memory, already read (httpx.MockTransport)
        if len(response.content) > max_bytes:
            raise UnreadableBody(f"larger than {max_bytes} bytes")
        return response.content
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise UnreadableBody(f"unsupported Content-Encoding {encoding[:40]!r}")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            room = max_bytes + 1 - len(body)
            body += inflate.decompress(chunk, room) if inflate else chunk
            if len(body) > max_bytes:
                raise UnreadableBody(f"larger than {max_bytes} bytes")
        if inflate:
            body += inflate.flush(max_bytes + 1 - len(body))
            if len(body) > max_bytes or inflate.unconsumed_tail:
                raise UnreadableBody(f"larger than {max_bytes} bytes")
            if not inflate.eof:
                raise UnreadableBody("truncated gzip")
    except zlib.error:
        raise UnreadableBody("not gzip") from None
    return bytes(body)
