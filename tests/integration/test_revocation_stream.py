"""The revocation stream and the server key cache across real `keyvend serve` processes.

Two servers on one PostgreSQL (a schema of this module's own): a change made through one
reaches the stream subscribers and the key cache of the other, which learns of it only
through LISTEN/NOTIFY. Then one server of two workers on SQLite, where the workers learn of
each other's changes by polling the events table.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from keyvend.domain.event_types import fingerprint
from keyvend.schemas.account import StaffCreate
from keyvend.services import extension, staff
from tests.conftest import PG_ADMIN_DSN, SECRET
from tests.support import databases
from tests.support.live_server import free_port, serve_in_process
from tests.support.sse import STREAM, Message, Stream, subscribe

DEADLINE = 15.0  # seconds; the feed's lag is milliseconds
BAD_TOKEN = 201


HEARTBEAT = 0.5  # seconds between keep-alive comments (15 by default): idle tests stay short


def keyvend_serve(
    name: str, tmp_path: Path, *, database_url: str | None = None, workers: int = 1
) -> AbstractContextManager[str]:
    """`keyvend serve` in a process of its own on a free port."""
    port = free_port()
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(tmp_path / name),
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_RATE_LIMIT_ENABLED": "false",
        "KEYVEND_WORKER_INTERVAL": "0",
        "KEYVEND_LOG_LEVEL": "warning",
        "KEYVEND_STREAM_HEARTBEAT": str(HEARTBEAT),
    }
    if database_url:
        env["KEYVEND_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
    return serve_in_process([*command, "--workers", str(workers)], port=port, env=env)


def prepared(settings: Settings) -> str:
    """Migrate the database of `settings`, install the extension; the admin's token."""
    db = build_database(settings)
    try:
        upgrade(db.engine)
        extension.ensure_installed(db)
        return staff.create_admin(db, StaffCreate(email="ops@example.com")).api_token
    finally:
        db.dispose()


class Shop:
    """The admin API of one server, and the key checks applications make."""

    def __init__(self, base: str, admin_token: str) -> None:
        self.base = base
        self.auth = ("admin", admin_token)

    def admin(self, path: str, **params: Any) -> Any:
        body = self._post(f"admin/{path}", auth=self.auth, **params)
        assert body["error"] is None, body
        return body["result"]

    def check(self, key: str) -> Any:
        """True/False, or the error message."""
        body = self._post("guest/serviceapikey/check", key=key)
        return body["result"] if body["error"] is None else body["error"]["message"]

    def sell(self) -> tuple[int, str]:
        """A new active key: (order id, key)."""
        pid = self.admin("product/prepare", title="Pro", type="apikey")
        cid = self.admin("client/create", email=f"c{time.time_ns()}@example.com", first_name="C")
        oid = self.admin("order/create", client_id=cid, product_id=pid, activate=True)
        return oid, self.admin("order/service", id=oid)["api_key"]

    def application_token(self) -> str:
        return str(self.admin("application/create", name=f"app {time.time_ns()}")["token"])

    def _post(self, path: str, auth: tuple[str, str] | None = None, **params: Any) -> Any:
        response = httpx.post(f"{self.base}/api/{path}", json=params, auth=auth, timeout=10)
        assert response.status_code < 500, response.text
        return response.json()


def changes_for(stream: Stream, key: str, count: int) -> list[Message]:
    """Read on until `count` messages about `key` arrived; those messages."""
    wanted = fingerprint(key)
    found: list[Message] = []
    while len(found) < count:
        message = stream.next()
        if message.event == "message" and message.data["fingerprint"] == wanted:
            found.append(message)
    return found


def eventually(shop: Shop, key: str, expected: Any) -> None:
    """Poll the check until it answers `expected`, failing after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while (answer := shop.check(key)) != expected:
        assert time.monotonic() < deadline, f"still {answer!r} after {DEADLINE} s"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Servers a and b on one PostgreSQL schema; an application token."""
    tmp_path = tmp_path_factory.mktemp("stream-cluster")
    with ExitStack() as stack:
        url = stack.enter_context(databases.empty_schema(PG_ADMIN_DSN))
        token = prepared(Settings(data_dir=tmp_path, database_url=url, secret_key=SECRET))
        a, b = (stack.enter_context(keyvend_serve(n, tmp_path, database_url=url)) for n in "ab")
        shop_a = Shop(a, token)
        yield {"a": shop_a, "b": Shop(b, token), "app": shop_a.application_token()}


def test_a_reset_through_one_server_reaches_a_subscriber_of_the_other(
    cluster: dict[str, Any],
) -> None:
    a, b = cluster["a"], cluster["b"]
    with subscribe(b.base, cluster["app"]) as stream:
        (ready,) = stream.until("ready")
        # Sold once the stream is ready (see the SQLite test below for why).
        order_id, key = a.sell()
        a.admin("serviceapikey/reset", order_id=order_id)
        activated, change = changes_for(stream, key, 2)
    assert activated.data["change"] == "order.activated"
    assert change.data == {"fingerprint": fingerprint(key), "change": "key.reset"}
    assert change.id is not None and int(change.id) > int(ready.id or 0)
    new_key = a.admin("order/service", id=order_id)["api_key"]
    for secret in (key, new_key):
        assert not any(secret.lower() in line.lower() for line in stream.raw)


def test_last_event_id_replays_what_a_subscriber_missed(cluster: dict[str, Any]) -> None:
    a, b = cluster["a"], cluster["b"]
    with subscribe(b.base, cluster["app"]) as stream:
        stream.until("ready")
        order_id, key = a.sell()
        (seen,) = changes_for(stream, key, 1)  # the activation: the last change heard
    a.admin("order/suspend", id=order_id)  # while nobody listens
    a.admin("order/unsuspend", id=order_id)
    with subscribe(b.base, cluster["app"], last_event_id=seen.id) as stream:
        replayed = stream.until("ready")
    mine = [
        m for m in replayed if m.event == "message" and m.data["fingerprint"] == fingerprint(key)
    ]
    assert [m.data["change"] for m in mine] == ["order.suspended", "order.unsuspended"]
    assert int(replayed[-1].id or 0) >= int(mine[-1].id or 0)


def test_the_stream_refuses_a_missing_or_wrong_application_token(cluster: dict[str, Any]) -> None:
    b = cluster["b"]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        response = httpx.get(b.base + STREAM, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["result"] is None
        assert response.json()["error"]["code"] == BAD_TOKEN


def test_a_check_cached_by_one_server_answers_a_suspend_through_the_other(
    cluster: dict[str, Any],
) -> None:
    a, b = cluster["a"], cluster["b"]
    order_id, key = a.sell()
    assert b.check(key) is True  # b caches the key
    assert b.check(key) is True
    a.admin("order/suspend", id=order_id)
    eventually(b, key, False)
    a.admin("order/unsuspend", id=order_id)
    eventually(b, key, True)
    a.admin("serviceapikey/reset", order_id=order_id)
    eventually(b, key, "API key does not exist")


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server of two worker processes on a SQLite file; an application token."""
    tmp_path = tmp_path_factory.mktemp("stream-sqlite")
    token = prepared(Settings(data_dir=tmp_path / "s", secret_key=SECRET))
    with keyvend_serve("s", tmp_path, workers=2) as base:
        shop = Shop(base, token)
        yield {"shop": shop, "app": shop.application_token()}


def test_on_sqlite_a_change_reaches_every_subscriber_whichever_worker_serves_them(
    two_workers: dict[str, Any],
) -> None:
    shop = two_workers["shop"]
    with ExitStack() as stack:
        # Four connections: the workers share the socket, so both serve some of them.
        streams = [stack.enter_context(subscribe(shop.base, two_workers["app"])) for _ in range(4)]
        for stream in streams:
            stream.until("ready")
        # Sold after the streams are ready: a change committed just before a stream starts
        # may come live (after `ready`) from a worker whose feed has not read it yet.
        order_id, key = shop.sell()
        shop.admin("serviceapikey/update", order_id=order_id, valid=False)
        shop.admin("serviceapikey/reset", order_id=order_id)
        for stream in streams:
            assert [m.data["change"] for m in changes_for(stream, key, 3)] == [
                "order.activated",
                "key.disabled",
                "key.reset",
            ]
            assert not any(key.lower() in line.lower() for line in stream.raw)


def test_on_sqlite_every_worker_answers_a_change_made_by_another(
    two_workers: dict[str, Any],
) -> None:
    shop = two_workers["shop"]
    order_id, key = shop.sell()
    for _ in range(8):  # new connections each: both workers check (and cache) the key
        assert shop.check(key) is True
    shop.admin("order/suspend", id=order_id)
    deadline = time.monotonic() + DEADLINE
    answers: list[Any] = []
    while len(answers) < 8:  # eight answers in a row, from whichever workers, all False
        answers = [*answers, False] if shop.check(key) is False else []
        assert time.monotonic() < deadline, "a worker kept answering from its stale cache"


def test_an_idle_stream_gets_a_heartbeat(two_workers: dict[str, Any]) -> None:
    with subscribe(two_workers["shop"].base, two_workers["app"]) as stream:
        stream.until("ready")
        assert stream.comment().startswith(":")
