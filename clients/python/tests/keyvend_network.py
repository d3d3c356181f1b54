"""What the live-mode tests need beyond a server: a TCP proxy that can cut the line, and a
PostgreSQL schema of their own for several real servers."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

PG_ADMIN_DSN = os.environ.get("KEYVEND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class TcpProxy:
    """Forwards a loopback port to `target` ("http://host:port"); `cut()` drops every
    connection and turns new ones away until `resume()`. `heads` holds the first bytes each
    connection sent (its request head), to see which headers a client sent."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.heads: list[bytes] = []
        self._open = threading.Event()
        self._open.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Drop every connection; refuse new ones until `resume()`."""
        self._open.clear()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def resume(self) -> None:
        """Forward new connections again."""
        self._open.set()

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        _shut(self._listener)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                downstream.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                downstream.close()
                continue
            with self._lock:
                self._sockets |= {downstream, upstream}
            threading.Thread(target=self._pump, args=(downstream, upstream, True)).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, False)).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    self.heads.append(data)
                    record = False
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(sink)
            with self._lock:
                self._sockets.discard(source)
            source.close()


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new, empty schema on the test PostgreSQL, dropped afterwards; yields its URL."""
    schema = f"kvc_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        url = make_url(PG_ADMIN_DSN).set(
            drivername="postgresql+psycopg", query={"options": f"-csearch_path={schema}"}
        )
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
