"""The public base URL that a label's QR code points to: printed on packs for years, so checked before issuing.

A label printed with `http://127.0.0.1:8000/…` or a private address can never be verified by the phone that scans
it; outside the embedded development mode such a base URL is refused, as is plain HTTP (a verification page must
not be alterable on the way).
"""

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class BaseUrlRefused(ValueError):
    pass


def _is_local_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES) or ("." not in host and ":" not in host):
        return True  # a single-label name resolves only inside some network
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_base_url(base_url: str | None, environment: str) -> str:
    """The base URL if labels may carry it in this environment; raises BaseUrlRefused saying what to set."""
    if not base_url:
        raise BaseUrlRefused(
            "no public base URL is set: set PCF_PUBLIC_BASE_URL to the address where phones "
            "reach this service (e.g. https://pcf.example.cn)"
        )
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BaseUrlRefused(f"PCF_PUBLIC_BASE_URL {base_url!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise BaseUrlRefused(f"PCF_PUBLIC_BASE_URL {base_url!r} must not have a query or fragment")
    if environment == "dev":
        return base_url
    if _is_local_host(parts.hostname):
        raise BaseUrlRefused(
            f"PCF_PUBLIC_BASE_URL {base_url!r} is a loopback, private or local address: a phone "
            "that scans the label cannot reach it"
        )
    if parts.scheme != "https":
        raise BaseUrlRefused(f"PCF_PUBLIC_BASE_URL {base_url!r} must use https outside the dev environment")
    return base_url
