"""What no cache may keep, what browsers must not guess, and files only their owner reads."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.migrate import upgrade
from tests.conftest import Api


def test_api_answers_are_never_stored_by_a_cache(api: Api, active_order: dict[str, Any]) -> None:
    answers = [
        api.client.post("/api/guest/serviceapikey/check", json={"key": active_order["key"]}),
        api.client.post("/api/guest/serviceapikey/check", json={"key": "NOPE"}),
        api.client.get(f"/api/guest/serviceapikey/get_info?key={active_order['key']}"),
        api.client.post(
            "/api/admin/order/service",
            json={"id": active_order["id"]},
            auth=("admin", api.admin_token),
        ),
        api.client.post("/api/admin/order/service", json={"id": active_order["id"]}),
        api.client.post("/api/guest/nope/nope"),
    ]
    assert [a.headers.get("cache-control") for a in answers] == ["no-store"] * len(answers)
    assert answers[3].json()["result"]["api_key"] == active_order["key"]


def test_static_files_are_not_sniffed_and_the_docs_page_has_a_content_policy(api: Api) -> None:
    css = api.client.get("/static/keyvend.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert docs.headers["x-content-type-options"] == "nosniff"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_is_0700_and_the_database_and_secret_are_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "keyvend-data"
    db = build_database(Settings(data_dir=data_dir))  # generated secret, SQLite in the data dir
    upgrade(db.engine)
    db.dispose()
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secret.key") == 0o600
    assert mode(data_dir / "keyvend.db") == 0o600
    for extra in ("keyvend.db-wal", "keyvend.db-shm"):
        if (data_dir / extra).exists():
            assert mode(data_dir / extra) == 0o600
