"""The two ways a client follows the revocation stream: a daemon thread, an asyncio task.

Both start on the client's first use (`ensure`), not at construction: a client made at import
time in a server that forks its workers would otherwise follow in the parent only, and the
sync follower starts again (with an empty cache) in a forked child for the same reason.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from contextlib import suppress

import httpx

from keyvend_client.errors import Unauthorized
from keyvend_client.live import READ_TIMEOUT, Backoff, StreamSession, is_stream

_forks = [0]  # how many forks led to this process: a follower's thread runs in its parent's


def _forked() -> None:
    _forks[0] += 1


os.register_at_fork(after_in_child=_forked)


def stream_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """The client's timeouts, but reads wait out a missed heartbeat or two."""
    base = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    return httpx.Timeout(connect=base.connect, read=READ_TIMEOUT, write=base.write, pool=base.pool)


class LiveFollower:
    """Follows the stream on a daemon thread of its own, with a connection of its own."""

    def __init__(self, url: str, session: StreamSession, timeout: httpx.Timeout) -> None:
        self.session = session
        self._url = url
        self._timeout = timeout
        self._process = -1  # the fork count of the process the thread runs in
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: httpx.Response | None = None

    def ensure(self) -> None:
        """Start following unless this process already does (or the client was closed)."""
        if self._process == _forks[0] or self._stop.is_set():
            return
        with self._lock:
            if self._process == _forks[0] or self._stop.is_set():
                return
            if self._process >= 0:
                self.session.forked()
            self._process = _forks[0]
            self._thread = threading.Thread(target=self._run, name="keyvend-live", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop following: the open connection is shut so that the thread ends at once."""
        self._stop.set()
        response = self._response
        if response is not None:
            _shut(response)
        thread = self._thread
        if thread is not None and self._process == _forks[0] and thread.is_alive():
            thread.join(10)
        self.session.closed()

    def _run(self) -> None:
        backoff = Backoff()
        with httpx.Client(timeout=self._timeout) as http:
            while not self._stop.is_set():
                error: Exception | None = None
                try:
                    self._follow(http)
                except Unauthorized:
                    self.session.refused()
                    return
                except Exception as exc:  # never dies of a failure: logs it and reconnects
                    error = exc
                if self._stop.is_set():
                    return
                least = self.session.broke(error)
                if self.session.reached_live:
                    backoff.reset()
                self._stop.wait(backoff.next(least))

    def _follow(self, http: httpx.Client) -> None:
        with http.stream("GET", self._url, headers=self.session.request_headers()) as response:
            if not is_stream(response):
                response.read()
            parser = self.session.opened(response)
            self._response = response
            try:
                if self._stop.is_set():  # stop() ran before the response could be shut
                    return
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        self.session.handle(event)
            finally:
                self._response = None


def _shut(response: httpx.Response) -> None:
    """Shut the socket under `response`: a read blocked on it in another thread returns."""
    stream = response.extensions.get("network_stream")
    sock = None if stream is None else stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class AsyncLiveFollower:
    """Follows the stream in a task of the client's event loop, with a connection of its own."""

    def __init__(self, url: str, session: StreamSession, timeout: httpx.Timeout) -> None:
        self.session = session
        self._url = url
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def ensure(self) -> None:
        """Start following unless already (call it inside the event loop)."""
        if self._task is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="keyvend-live")

    async def stop(self) -> None:
        """Stop following: the task is cancelled and awaited."""
        self._closed = True
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        self.session.closed()

    async def _run(self) -> None:
        backoff = Backoff()
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            while True:
                error: Exception | None = None
                try:
                    await self._follow(http)
                except Unauthorized:
                    self.session.refused()
                    return
                except Exception as exc:  # never dies of a failure: logs it and reconnects
                    error = exc
                least = self.session.broke(error)
                if self.session.reached_live:
                    backoff.reset()
                await asyncio.sleep(backoff.next(least))

    async def _follow(self, http: httpx.AsyncClient) -> None:
        headers = self.session.request_headers()
        async with http.stream("GET", self._url, headers=headers) as response:
            if not is_stream(response):
                await response.aread()
            parser = self.session.opened(response)
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    self.session.handle(event)
