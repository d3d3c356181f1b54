"""Two real `keyvend serve` processes on one PostgreSQL and one Redis behave as one system."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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

REDIS_URL = "redis://127.0.0.1:6379/9"  # a database of its own, flushed by this test


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Poll the port until the server accepts connections (it has no readiness signal)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"keyvend serve did not listen on {port}")


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two servers, one database, one Redis; the admin token to drive them."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, secret_key=SECRET)
    db = build_database(settings)
    upgrade(db.engine)
    extension.ensure_installed(db)
    token = staff.create_admin(db, StaffCreate(email="ops@example.com")).api_token
    db.dispose()
    servers: list[subprocess.Popen[bytes]] = []
    urls = []
    for name in ("a", "b"):
        port = free_port()
        env = {
            **os.environ,
            "KEYVEND_DATA_DIR": str(tmp_path / name),
            "KEYVEND_DATABASE_URL": postgres_url,
            "KEYVEND_REDIS_URL": REDIS_URL,
            "KEYVEND_SECRET_KEY": SECRET,
            "KEYVEND_RATE_LIMIT_GUEST": "1000/day",
            "KEYVEND_RATE_LIMIT_GUEST_MISS": "5/day",
            "KEYVEND_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        servers.append(proc)
        wait_until_listening(port, proc)
        urls.append(f"http://127.0.0.1:{port}")
    try:
        yield {"a": urls[0], "b": urls[1], "token": token}
    finally:
        for proc in servers:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


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
