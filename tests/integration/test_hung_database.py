"""A PostgreSQL that stops answering (a paused server, a partition) never freezes a worker.

The app talks to the real PostgreSQL through a TCP relay that the test can freeze: it keeps
every connection open and simply stops passing bytes, as a SIGSTOPped server or a dropped
route looks to a client. While frozen, calls that need no database keep answering at once,
calls that need it answer 503 within the database timeout, and once the relay thaws the
same app recovers by itself.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyvend.app import build_database, create_app
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from tests.conftest import SECRET
from tests.support.keys import issue_key


class FreezableRelay:
    """Forwards TCP to PostgreSQL; `frozen` holds every byte back without closing anything."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.thawed = threading.Event()
        self.thawed.set()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.thawed.clear()

    def thaw(self) -> None:
        self.thawed.set()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.sock.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            self.open += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.thawed.wait()  # frozen: the bytes wait here, the connection stays open
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.thaw()
        self.sock.close()
        for conn in self.open:
            conn.close()


@pytest.fixture
def relay() -> Iterator[FreezableRelay]:
    server = FreezableRelay(("127.0.0.1", 5432))
    yield server
    server.close()


@pytest.fixture
def relayed(tmp_path: Path, postgres_url: str, relay: FreezableRelay) -> Iterator[dict[str, Any]]:
    """An app on PostgreSQL through the relay (database timeout 1 s) and a key to check."""
    direct = Settings(data_dir=tmp_path, database_url=postgres_url, secret_key=SECRET)
    db = build_database(direct)
    upgrade(db.engine)
    key = issue_key(db)
    db.dispose()
    through = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    settings = direct.model_copy(
        update={"database_url": through, "database_timeout": 1.0, "rate_limit_enabled": False}
    )
    app_db = build_database(settings)
    yield {"app": create_app(settings, database=app_db), "key": key}
    relay.thaw()
    app_db.dispose()


def test_a_frozen_database_gives_503s_in_time_and_the_worker_keeps_answering(
    relay: FreezableRelay, relayed: dict[str, Any]
) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=relayed["app"])
        async with httpx.AsyncClient(transport=transport, base_url="http://kv") as http:
            check = {"key": relayed["key"]}
            before = await http.post("/api/guest/serviceapikey/check", json=check)
            assert before.json() == {"result": True, "error": None}
            relay.freeze()
            stuck_check = asyncio.create_task(
                http.post("/api/guest/serviceapikey/check", json=check)
            )
            stuck_call = asyncio.create_task(http.post("/api/guest/product/get_list", json={}))
            stuck_page = asyncio.create_task(http.get("/products"))
            await asyncio.sleep(0)  # both are under way and waiting for the database
            docs = await http.get("/openapi.json")  # needs no database: answers meanwhile
            assert docs.status_code == 200
            assert not stuck_check.done()
            for answer in await asyncio.gather(stuck_check, stuck_call):
                assert answer.status_code == 503
                assert answer.json()["error"]["code"] == 503
                assert answer.headers["retry-after"] == "1"
            page = await stuck_page
            assert page.status_code == 503 and "Service unavailable" in page.text
            relay.thaw()
            for _ in range(3):  # the stuck threads come back; then checks work again
                after = await http.post("/api/guest/serviceapikey/check", json=check)
                if after.status_code == 200:
                    break
            assert after.json() == {"result": True, "error": None}

    asyncio.run(scenario())
