"""No plaintext API key, API token or password in the database files, the tables or the logs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from keyvend.db.models import Admin, ApiKeyService, Client
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from tests.conftest import SECRET, Api


def variants(key: str) -> set[str]:
    """The forms a key could leak in: as issued, either case, without dashes."""
    bare = key.replace("-", "")
    return {key, key.upper(), key.lower(), key.swapcase(), bare, bare.upper(), bare.lower()}


@pytest.fixture
def secrets(api: Api, customer: dict[str, Any], product_id: int) -> dict[str, Any]:
    """A populated database: keys of several formats (one reset), a session, two accounts."""
    keys: list[str] = []
    configs = [
        None,
        {"case": "lower", "prefix": "sk_live_"},
        {"case": "mixed", "split": 0, "length": 48},
    ]
    for config in configs:
        extra = {"config": config} if config else {}
        oid = api.admin(
            "order/create", client_id=customer["id"], product_id=product_id, activate=True, **extra
        )
        keys.append(api.admin("order/service", id=oid)["api_key"])
    api.admin("serviceapikey/reset", order_id=oid)
    keys.append(api.admin("order/service", id=oid)["api_key"])  # the old one stays listed too
    login = api.client.post(
        "/api/guest/client/login", json={"email": customer["email"], "password": "jo-pass-123"}
    )
    session = login.cookies["keyvend_session"]
    new_client_token = api.ok("client/profile/api_key_reset", auth=customer["auth"])
    plain = [k for key in keys for k in variants(key)]
    plain += [api.admin_token, customer["token"], new_client_token, session, SECRET]
    plain += ["admin-pass-1", "jo-pass-123"]
    return {"keys": keys, "plain": plain, "token": new_client_token}


def leaks(blob: bytes, plain: list[str]) -> list[str]:
    return [text for text in plain if text.encode() in blob]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_file_and_its_wal_hold_no_plaintext_key_token_or_password(
    db: Database, secrets: dict[str, Any]
) -> None:
    path = Path(str(make_url(str(db.engine.url)).database))
    wal = path.with_name(path.name + "-wal")
    assert path.stat().st_size > 0
    assert wal.exists(), "the engine runs SQLite in WAL mode, so recent writes live in -wal"
    assert wal.stat().st_size > 0
    for file in (path, wal):
        assert leaks(file.read_bytes(), secrets["plain"]) == [], file.name


def test_no_table_row_holds_a_plaintext_key_token_or_password(
    db: Database, secrets: dict[str, Any]
) -> None:
    tables = inspect(db.engine).get_table_names()
    assert {"admins", "clients", "orders", "service_apikey", "sessions"} <= set(tables)
    with db.engine.connect() as connection:
        dump = b"\n".join(
            as_bytes(value)
            for table in tables
            for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"')  # noqa: S608
            for value in row
        )
    assert leaks(dump, secrets["plain"]) == []


def as_bytes(value: Any) -> bytes:
    """A column value as the bytes it holds (blobs as they are, the rest as text)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def test_api_tokens_are_stored_as_their_digests(
    api: Api, db: Database, customer: dict[str, Any], secrets: dict[str, Any]
) -> None:
    with db.unit_of_work(read_only=True) as uow:
        admin_digest = uow.session.scalar(select(Admin.api_token_digest))
        client_digest = uow.session.scalar(
            select(Client.api_token_digest).where(Client.id == customer["id"])
        )
    assert admin_digest == db.vault.token_digest(api.admin_token)
    assert client_digest == db.vault.token_digest(secrets["token"])
    for digest in (admin_digest, client_digest):
        assert len(digest) == 64
        int(digest, 16)


def test_passwords_are_stored_as_argon2id_hashes(api: Api, db: Database, customer: Any) -> None:
    clients.create(db, ClientCreate(email="nopass@example.com", first_name="Generated"))
    with db.unit_of_work(read_only=True) as uow:
        hashes = list(uow.session.scalars(select(Admin.password_hash)))
        hashes += list(uow.session.scalars(select(Client.password_hash)))
    assert len(hashes) == 3
    assert all(h.startswith("$argon2id$") for h in hashes), hashes
    assert not any("pass" in h for h in hashes)


def test_keys_are_stored_as_a_lookup_digest_and_a_ciphertext_that_decrypts_to_the_key(
    db: Database, secrets: dict[str, Any]
) -> None:
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(
            select(ApiKeyService.key_digest, ApiKeyService.key_ciphertext).order_by(
                ApiKeyService.id
            )
        ).all()
    current = [secrets["keys"][0], secrets["keys"][1], secrets["keys"][3]]
    assert [bytes(row.key_digest) for row in rows] == [db.vault.key_digest(k) for k in current]
    assert [db.vault.decrypt_key(bytes(row.key_ciphertext)) for row in rows] == current
    for row, key in zip(rows, current, strict=True):
        assert key.encode() not in bytes(row.key_ciphertext)
        assert len(bytes(row.key_digest)) == 32


def test_keys_never_reach_the_logs(
    api: Api,
    customer: dict[str, Any],
    active_order: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQL and its parameters too
    key = active_order["key"]
    seen = [key]
    api.guest("serviceapikey/check", key=key)
    api.guest("serviceapikey/check", key=key.lower())
    api.guest("serviceapikey/get_info", key=key)
    api.error("guest/serviceapikey/check", key=key.replace("-", ""))
    api.error("guest/serviceapikey/check", key="ZZZZ-" + key)
    api.admin("serviceapikey/update", order_id=active_order["id"], api_key=key, valid=1)
    api.error(
        "admin/serviceapikey/update",
        auth=("admin", api.admin_token),
        order_id=active_order["id"],
        api_key="WRONG-" + key,
    )
    api.ok("client/serviceapikey/reset", auth=customer["auth"], key=key)
    seen.append(api.admin("order/service", id=active_order["id"])["api_key"])
    api.admin("serviceapikey/reset", key=seen[-1])
    seen.append(
        api.ok("client/order/service", auth=customer["auth"], id=active_order["id"])["api_key"]
    )
    api.guest("serviceapikey/check", key=seen[-1])
    assert any(r.name.startswith("sqlalchemy") for r in caplog.records), "SQL was logged"
    logged = "\n".join(
        [caplog.text] + [f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records]
    )
    assert leaks(logged.encode(), [v for key in seen for v in variants(key)]) == []
