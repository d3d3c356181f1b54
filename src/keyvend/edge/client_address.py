"""The caller's address and scheme, believed from a proxy only when it is a trusted one.

uvicorn's ProxyHeadersMiddleware wraps the whole app (`proxy_middleware`): when the peer is
one of KEYVEND_TRUSTED_PROXIES it rewrites `scope["client"]` from X-Forwarded-For (the
right-most address that is not a trusted proxy is the client) and `scope["scheme"]` from
X-Forwarded-Proto. Everything inside (the fast lane, the dispatcher, the pages, the cookies)
then reads the scope and never a forwarding header.
"""

from __future__ import annotations

import ipaddress

from starlette.middleware import Middleware
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

MAX_IP = 64  # what a proxy forwards becomes a rate-limit key: keep it bounded


def proxy_middleware(trusted_proxies: list[str]) -> list[Middleware]:
    """The proxy-headers layer for these proxies; none at all when no proxy is trusted."""
    if not trusted_proxies:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_hosts(trusted_proxies))]


def trusted_hosts(entries: list[str]) -> list[str]:
    """Settings entries as uvicorn reads them: it takes "10.0.0.7/8" for a host name, not a
    network, so networks are written without host bits."""
    hosts = []
    for entry in entries:
        network = ipaddress.ip_network(entry, strict=False)
        single = network.prefixlen == network.max_prefixlen
        hosts.append(str(network.network_address) if single else str(network))
    return hosts


def client_ip(scope: Scope) -> str:
    """The caller's IP, as the proxy layer left it in the scope."""
    client = scope.get("client")
    return str(client[0])[:MAX_IP] if client else "unknown"
