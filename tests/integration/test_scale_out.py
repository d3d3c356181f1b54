"""Two real `keyvend serve` processes on one PostgreSQL and one Redis behave as one system."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from keyvend.schemas.account import StaffCreate
from keyvend.services import extension, staff
from tests.conftest import SECRET
from tests.support.live_server import free_port, serve_in_process

REDIS_URL = "redis://127.0.0.1:6379/9"  # a database of its own, flushed by this test
# Both tests count on the budgets in that one Redis database: a test on another xdist worker (or
# in another run on this machine) waits for this lock instead of spending them at the same time.
REDIS_LOCK = Path("/tmp/keyvend-tests-redis-9.lock")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """REDIS_URL, flushed, for this test alone while it runs."""
    with REDIS_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        redis.Redis.from_url(REDIS_URL).flushdb()
        yield REDIS_URL


@pytest.fixture
def cluster(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two servers, one database (a schema of this test's own), one Redis; the admin token."""
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, secret_key=SECRET)
    db = build_database(settings)
    upgrade(db.engine)
    extension.ensure_installed(db)
    token = staff.create_admin(db, StaffCreate(email="ops@example.com")).api_token
    db.dispose()
    with ExitStack() as servers:
        urls = [servers.enter_context(keyvend_serve(name, postgres_url, tmp_path)) for name in "ab"]
        yield {"a": urls[0], "b": urls[1], "token": token}


def keyvend_serve(name: str, database_url: str, tmp_path: Path) -> AbstractContextManager[str]:
    """`keyvend serve` in a process of its own on a free port."""
    port = free_port()
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(tmp_path / name),
        "KEYVEND_DATABASE_URL": database_url,
        "KEYVEND_REDIS_URL": REDIS_URL,
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_RATE_LIMIT_GUEST": "1000/day",
        "KEYVEND_RATE_LIMIT_GUEST_MISS": "5/day",
        "KEYVEND_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
    return serve_in_process(command, port=port, env=env)


def call(base: str, path: str, auth: tuple[str, str] | None = None, **params: Any) -> Any:
    response = httpx.post(f"{base}/api/{path}", json=params, auth=auth, timeout=10)
    assert response.status_code < 500, response.text
    return response


def result(base: str, path: str, auth: tuple[str, str] | None = None, **params: Any) -> Any:
    body = call(base, path, auth, **params).json()
    assert body["error"] is None, body
    return body["result"]


def test_a_reset_or_suspend_through_one_server_is_seen_by_the_other_on_the_next_check(
    cluster: dict[str, Any],
) -> None:
    a, b, admin = cluster["a"], cluster["b"], ("admin", cluster["token"])
    pid = result(a, "admin/product/prepare", admin, title="Pro", type="apikey")
    cid = result(a, "admin/client/create", admin, email="c@example.com", first_name="C")
    oid = result(a, "admin/order/create", admin, client_id=cid, product_id=pid, activate=True)
    old_key = result(a, "admin/order/service", admin, id=oid)["api_key"]
    assert result(b, "guest/serviceapikey/check", key=old_key) is True

    result(a, "admin/serviceapikey/reset", admin, order_id=oid)
    gone = call(b, "guest/serviceapikey/check", key=old_key).json()
    assert gone["error"]["message"] == "API key does not exist"
    new_key = result(b, "admin/order/service", admin, id=oid)["api_key"]
    assert result(b, "guest/serviceapikey/check", key=new_key) is True

    result(b, "admin/order/suspend", admin, id=oid, reason="unpaid")
    assert result(a, "guest/serviceapikey/check", key=new_key) is False
    result(a, "admin/order/unsuspend", admin, id=oid)
    assert result(b, "guest/serviceapikey/check", key=new_key) is True


def test_the_rate_limit_budget_is_shared_between_the_servers(cluster: dict[str, Any]) -> None:
    a, b = cluster["a"], cluster["b"]
    statuses = [
        call(server, "guest/serviceapikey/check", key=f"MISSING-{n}").status_code
        for n, server in enumerate([a, b, a, b, a, b])
    ]
    # guest_miss is 5/day for the one client IP: five misses in all, not five per server.
    assert statuses == [200] * 5 + [429]
    refused = call(a, "guest/serviceapikey/check", key="MISSING-again")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
