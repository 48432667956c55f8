"""The outbound-request policy: every URL a user gives (a PACT recipient's API) is fetched only if it leads to the
public internet, checked when it is registered and again at connect time.

OWASP Server-Side Request Forgery Prevention Cheat Sheet: resolve the name, refuse loopback, private, link-local,
shared, reserved, multicast and unspecified addresses (IPv4 and IPv6, IPv4-mapped included), and check again at
connect time, on the address actually connected to — a name that resolved to a public address when it was
registered may resolve to 127.0.0.1 later (DNS rebinding). Networks a deployment does trust (a partner's API in the
same closed factory network) are allowed explicitly by PCF_OUTBOUND_ALLOWED_NETWORKS. What the user is told stays
generic; the details go to the server log.
"""

import ipaddress
import logging
import socket
import ssl
from functools import lru_cache
from urllib.parse import urlsplit

import httpcore
import httpx

from footprint_api.core.settings import get_settings

log = logging.getLogger(__name__)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """The destination is not allowed by the outbound policy (the message is safe to show to the user)."""


@lru_cache(maxsize=8)
def _allowed_networks(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


def allowed(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks(tuple(get_settings().outbound_allowed_networks))):
        return True
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _resolve(host: str, port: int) -> list[Address]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        log.info("outbound: %s does not resolve: %s", host, exc)
        raise OutboundRefused("the host name does not resolve") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def check_url(url: str) -> str:
    """The URL if it is https and every address its host resolves to is allowed; else OutboundRefused."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise OutboundRefused("only https URLs with a host name are allowed")
    if parts.username or parts.password:
        raise OutboundRefused("credentials in the URL are not allowed")
    addresses = _resolve(parts.hostname, parts.port or 443)
    refused = [a for a in addresses if not allowed(a)]
    if refused:
        log.warning("outbound: %s refused, resolves to %s", url, ", ".join(map(str, refused)))
        raise OutboundRefused(
            "the host resolves to an address that is not on the public internet "
            "(loopback, private, link-local or reserved)"
        )
    return url


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to an allowed address (the check at connect time)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        for address in _resolve(host, port):
            if allowed(address):
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            log.warning("outbound: connection to %s (%s) refused at connect time", host, address)
        raise httpcore.ConnectError("destination not allowed by the outbound policy")


def _ssl_context(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    import certifi  # httpx's own default trust store

    return ssl.create_default_context(cafile=certifi.where())


def client(verify: ssl.SSLContext | str | bool = True, timeout: float = 30) -> httpx.Client:
    """An httpx client whose every connection passes the policy (no proxies from the environment, no redirects).

    httpx has no public hook for the connection's network backend: the transport's connection pool is replaced by
    one with the guarded backend (tests/test_outbound.py fails if this stops taking effect)."""
    context = _ssl_context(verify)
    transport = httpx.HTTPTransport(verify=context, trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=_GuardedBackend())
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
