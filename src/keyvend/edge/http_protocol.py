"""uvicorn's httptools protocol with the limits a server facing the internet needs.

uvicorn (on httptools) reads a request head of any size and waits for it for ever, and a new
connection that sends nothing is held until the client lets go. So a single client could fill
a worker's memory with one huge header, or its file descriptors with idle half-open
connections (slowloris), and lock everyone else out. This protocol adds:
- a cap on the request head (request line and headers): over it, 431 and the connection closes;
- a time limit for the head to arrive, from the connection's first moment or a request's first
  byte: past it, the connection closes;
- a cap on open connections per client address in each worker (trusted proxies are exempt:
  they carry everyone's connections); over it, a new connection is closed at once.
`keyvend serve` starts uvicorn with `--http keyvend.edge.http_protocol:GuardedHttpTools`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from functools import lru_cache
from typing import Any, NamedTuple

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from keyvend.config import Settings

MAX_HEAD_BYTES = 64 * 1024
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 33\r\nconnection: close\r\n\r\n"
    b"Request header fields too large.\n"
)
_open_by_address: Counter[str] = Counter()  # per worker process: connections per client


class Limits(NamedTuple):
    head_timeout: float
    per_client: int
    exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@lru_cache(maxsize=1)
def limits() -> Limits:
    """Read once per worker, from the same KEYVEND_* settings the app reads."""
    settings = Settings()
    networks = tuple(ipaddress.ip_network(e, strict=False) for e in settings.trusted_proxies)
    return Limits(settings.header_timeout, settings.max_connections_per_client, networks)


class GuardedHttpTools(HttpToolsProtocol):
    """HttpToolsProtocol with a head size cap, a head time limit and a per-client cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits()
        self._address = ""
        self._head_bytes = 0
        self._in_head = True
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else ""
        _open_by_address[self._address] += 1
        if _open_by_address[self._address] > self._limits.per_client and not self._exempt():
            transport.close()
            return
        self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        _open_by_address[self._address] -= 1
        if _open_by_address[self._address] <= 0:
            del _open_by_address[self._address]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self.transport.write(_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # a further request on a kept-alive connection
            self._in_head, self._head_bytes = True, 0
            self._wait_for_head()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_waiting()
        super().on_headers_complete()

    def _wait_for_head(self) -> None:
        self._stop_waiting()
        self._head_timer = self.loop.call_later(self._limits.head_timeout, self._head_too_slow)

    def _stop_waiting(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self.transport.close()

    def _exempt(self) -> bool:
        try:
            address = ipaddress.ip_address(self._address)
        except ValueError:
            return False
        return any(address in network for network in self._limits.exempt)
