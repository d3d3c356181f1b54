"""Two real `keyvend serve` processes on one PostgreSQL and one Redis enforce one quota.

With KEYVEND_REDIS_URL every verify spends through one Lua script in Redis, so a key's quota
and per-key rate limit are exact across servers; an application's token works on both.
"""

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
from tests.conftest import PG_ADMIN_DSN, SECRET
from tests.support import databases
from tests.support.concurrency import all_at_once
from tests.support.live_server import free_port, serve_in_process

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own, flushed by these tests
REDIS_LOCK = Path("/tmp/keyvend-tests-redis-14.lock")
BAD_TOKEN = {"message": "Authentication Failed: unknown application token", "code": 201}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two servers, one database (a schema of this module's own), one Redis (flushed, held
    by this module alone while it runs); the admin token. The tests share it, each with
    keys and applications of its own."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    with ExitStack() as stack:
        lock = stack.enter_context(REDIS_LOCK.open("w"))
        fcntl.flock(lock, fcntl.LOCK_EX)
        redis.Redis.from_url(REDIS_URL).flushdb()
        postgres_url = stack.enter_context(databases.empty_schema(PG_ADMIN_DSN))
        settings = Settings(data_dir=tmp_path, database_url=postgres_url, secret_key=SECRET)
        db = build_database(settings)
        upgrade(db.engine)
        extension.ensure_installed(db)
        token = staff.create_admin(db, StaffCreate(email="ops@example.com")).api_token
        db.dispose()
        urls = [stack.enter_context(keyvend_serve(name, postgres_url, tmp_path)) for name in "ab"]
        yield {"a": urls[0], "b": urls[1], "admin": ("admin", token)}


def keyvend_serve(name: str, database_url: str, tmp_path: Path) -> AbstractContextManager[str]:
    """`keyvend serve` in a process of its own on a free port."""
    port = free_port()
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(tmp_path / name),
        "KEYVEND_DATABASE_URL": database_url,
        "KEYVEND_REDIS_URL": REDIS_URL,
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_RATE_LIMIT_GUEST": "100000/day",
        "KEYVEND_RATE_LIMIT_GUEST_MISS": "5/day",
        "KEYVEND_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
    return serve_in_process(command, port=port, env=env)


def call(
    base: str,
    path: str,
    auth: tuple[str, str] | None = None,
    token: str | None = None,
    **params: Any,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    response = httpx.post(f"{base}/api/{path}", json=params, auth=auth, headers=headers, timeout=30)
    assert response.status_code < 500, response.text
    return response


def result(base: str, path: str, auth: tuple[str, str] | None = None, **params: Any) -> Any:
    body = call(base, path, auth, **params).json()
    assert body["error"] is None, body
    return body["result"]


def metered_key(cluster: dict[str, Any], **config: Any) -> str:
    """Through server a: an active key whose product's config holds `config`."""
    a, admin = cluster["a"], cluster["admin"]
    pid = result(a, "admin/product/prepare", admin, title="Metered", type="apikey")
    result(a, "admin/product/update_config", admin, id=pid, config=config)
    cid = result(a, "admin/client/create", admin, email=f"c{pid}@example.com", first_name="C")
    oid = result(a, "admin/order/create", admin, client_id=cid, product_id=pid, activate=True)
    return str(result(a, "admin/order/service", admin, id=oid)["api_key"])


def test_fifty_concurrent_verifies_on_two_servers_spend_a_quota_of_ten_exactly(
    cluster: dict[str, Any],
) -> None:
    key = metered_key(cluster, quota=10, quota_period="total")
    servers = [cluster["a"], cluster["b"]] * 25

    def verify(base: str) -> str:
        return str(result(base, "guest/serviceapikey/verify", key=key)["code"])

    codes = all_at_once([lambda base=base: verify(base) for base in servers])
    assert codes.count("VALID") == 10
    assert codes.count("USAGE_EXCEEDED") == 40
    for base in (cluster["a"], cluster["b"]):
        after = result(base, "guest/serviceapikey/verify", key=key, cost=0)
        assert after["quota"] == {"limit": 10, "remaining": 0, "reset_at": None}
        assert after["code"] == "VALID"  # a look asks nothing of a spent quota


def test_a_per_key_rate_limit_is_shared_by_the_servers(cluster: dict[str, Any]) -> None:
    key = metered_key(cluster, rate_limit="4/day")
    codes = [
        result(base, "guest/serviceapikey/verify", key=key)["code"]
        for base in [cluster["a"], cluster["b"]] * 3
    ]
    assert codes == ["VALID"] * 4 + ["RATE_LIMITED"] * 2


def test_an_application_token_works_on_both_servers_and_spares_the_ips_miss_budget(
    cluster: dict[str, Any],
) -> None:
    a, b, admin = cluster["a"], cluster["b"], cluster["admin"]
    key = metered_key(cluster, quota=100)
    created = result(a, "admin/application/create", admin, name="Shop")
    token = created["token"]
    for base in (a, b):
        checked = call(base, "guest/serviceapikey/check", token=token, key=key)
        assert checked.json() == {"result": True, "error": None}
        verified = call(base, "guest/serviceapikey/verify", token=token, key=key).json()
        assert verified["result"]["code"] == "VALID"
    # guest_miss is 5/day for this IP across both servers; the token's misses never count.
    for n in range(20):
        missed = call([a, b][n % 2], "guest/serviceapikey/verify", token=token, key=f"BAD-{n}")
        assert missed.status_code == 200 and missed.json()["result"]["code"] == "NOT_FOUND"
    for base in (a, b):
        wrong = call(base, "guest/serviceapikey/check", token="kva_wrong", key=key)
        assert (wrong.status_code, wrong.json()) == (401, {"result": None, "error": BAD_TOKEN})
    fresh = result(a, "admin/application/reset_token", admin, id=created["id"])["token"]
    for base in (a, b):
        assert call(base, "guest/serviceapikey/check", token=fresh, key=key).json()["result"]
    old = call(a, "guest/serviceapikey/check", token=token, key=key)
    assert old.status_code == 401  # at once on the server that reset it
