"""A real `keyvend serve` writes its key usage to the database within the flush interval."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate, StaffCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import client, order, product, staff
from tests.conftest import SECRET
from tests.support.keys import key_via_service
from tests.support.live_server import free_port, serve_in_process

DEADLINE = 30.0  # seconds: far beyond the 0.2 s interval, for a loaded machine


def call(base: str, path: str, auth: tuple[str, str] | None = None, **params: Any) -> Any:
    body = httpx.post(f"{base}/api/{path}", json=params, auth=auth, timeout=10).json()
    assert body["error"] is None, body
    return body["result"]


def test_usage_counted_by_a_real_server_appears_within_the_flush_interval(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    admin = ("admin", staff.create_admin(db, StaffCreate(email="ops@example.com")).api_token)
    pid = product.prepare(db, ProductCreate(title="Starter"))
    product.update(db, pid, ProductUpdate(status="enabled"))
    cid = client.create(db, ClientCreate(email="jo@example.com", first_name="Jo")).id
    oid = order.create(db, OrderCreate(client_id=cid, product_id=pid, activate=True))
    key = key_via_service(db, oid)
    port = free_port()
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(tmp_path / "serve"),
        "KEYVEND_DATABASE_URL": str(settings.database_url),
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_CONFIG": str(tmp_path / "absent.toml"),
        "KEYVEND_USAGE_FLUSH_INTERVAL": "0.2",
        "KEYVEND_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
    with serve_in_process(command, port=port, env=env) as base:
        for _ in range(3):
            assert call(base, "guest/serviceapikey/check", key=key) is True
        assert call(base, "guest/serviceapikey/verify", key=key)["code"] == "VALID"
        deadline = time.monotonic() + DEADLINE
        while (found := call(base, "admin/serviceapikey/usage", admin, order_id=oid))["total"] < 4:
            assert time.monotonic() < deadline, f"usage not flushed in {DEADLINE}s: {found}"
            time.sleep(0.05)
    assert found["total"] == 4 and found["outcomes"] == {"VALID": 4}
    assert found["last_used_at"] is not None
    assert sum(day["total"] for day in found["daily"]) == 4
