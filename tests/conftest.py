"""Fixtures: real SQLite and PostgreSQL databases, a driven clock, the app and its API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from keyvend.app import build_database, create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.domain import passwords
from keyvend.schemas.account import ClientCreate, StaffCreate
from keyvend.services import extension
from tests.support import databases

PG_ADMIN_DSN = os.environ.get("KEYVEND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-" + "x" * 40


class FakeClock:
    """A clock the tests move by hand (no sleeps)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> None:
    """argon2id with minimal cost: each real hash takes 64 MiB and ~0.1 s, thousands of times."""
    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of the test's own, not created yet."""
    return f"sqlite:///{tmp_path / 'keyvend.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty schema of the test's own, dropped afterwards; a missing server fails the test.

    For tests that need a private or empty database: migration tests, several servers at once.
    """
    with databases.empty_schema(PG_ADMIN_DSN) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test worker."""
    return databases.sqlite_template(tmp_path_factory.mktemp("migrated"))


@pytest.fixture
def migrated_sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The test's own copy of the migrated SQLite file, where `sqlite_url` would put it."""
    return databases.copy_of(sqlite_template, tmp_path)


@pytest.fixture(scope="session")
def worker_schema() -> Iterator[databases.WorkerSchema]:
    """This test worker's migrated PostgreSQL schema (xdist runs workers in parallel)."""
    schema = databases.WorkerSchema(PG_ADMIN_DSN, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield schema
    schema.close()


@pytest.fixture
def migrated_postgres_url(worker_schema: databases.WorkerSchema) -> str:
    """This worker's migrated schema with every row deleted; rebuilt if a test changed it."""
    return worker_schema.fresh()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every test using this runs twice: on a SQLite file and on PostgreSQL.

    A test that uses `db` would migrate the database first, so it gets one migrated ahead
    (`migrated_sqlite_url`, `migrated_postgres_url`); any other test gets an empty one.
    """
    migrated = "migrated_" if "db" in request.fixturenames else ""
    return str(request.getfixturevalue(f"{migrated}{request.param}_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=SECRET,
        rate_limit_enabled=False,
    )


@pytest.fixture
def db(settings: Settings, clock: FakeClock) -> Iterator[Database]:
    """A migrated database with the serviceapikey extension active."""
    database = build_database(settings, clock)
    databases.migrate(database.engine)  # a no-op on the databases `database_url` migrated
    extension.ensure_installed(database)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database) -> Any:
    return create_app(settings, database=db)


class Api:
    """Calls `/api/{role}/{module}/{method}` through the real ASGI app."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.admin_token = ""

    def call(self, path: str, *, auth: tuple[str, str] | None = None, **params: Any) -> Any:
        response = self.client.post(f"/api/{path}", json=params, auth=auth)
        body = response.json()
        assert set(body) == {"result", "error"}, body
        return response.status_code, body

    def ok(self, path: str, *, auth: tuple[str, str] | None = None, **params: Any) -> Any:
        """Call and return the result; fail the test on an error envelope."""
        status, body = self.call(path, auth=auth, **params)
        assert body["error"] is None, body
        assert status == 200
        return body["result"]

    def error(self, path: str, *, auth: tuple[str, str] | None = None, **params: Any) -> Any:
        """Call and return the error object; fail the test if it succeeded."""
        status, body = self.call(path, auth=auth, **params)
        assert body["result"] is None and body["error"] is not None, body
        assert status < 500
        return body["error"]

    def admin(self, path: str, **params: Any) -> Any:
        return self.ok(f"admin/{path}", auth=("admin", self.admin_token), **params)

    def guest(self, path: str, **params: Any) -> Any:
        return self.ok(f"guest/{path}", **params)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, db: Database) -> Api:
    from keyvend.services import staff

    api = Api(client)
    api.admin_token = staff.create_admin(
        db, StaffCreate(email="root@example.com", password="admin-pass-1")
    ).api_token
    return api


@pytest.fixture
def product_id(api: Api) -> int:
    """An enabled, free, after_order apikey product with a monthlyLimit parameter."""
    pid = int(api.admin("product/prepare", title="Starter", type="apikey"))
    api.admin(
        "product/update_config",
        id=pid,
        config={"length": 32, "split": 1, "split_interval": 8, "custom_monthlyLimit": "250"},
    )
    api.admin("product/update", id=pid, status="enabled", setup="after_order")
    return pid


@pytest.fixture
def customer(api: Api) -> dict[str, Any]:
    """A client with a known password and API token."""
    from keyvend.services import client as clients

    account = clients.create(
        api.client.app.state.db,
        ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123"),
    )
    return {
        "id": account.id,
        "email": account.email,
        "token": account.api_token,
        "auth": ("client", account.api_token),
    }


@pytest.fixture
def active_order(api: Api, product_id: int, customer: dict[str, Any]) -> dict[str, Any]:
    """An active 1M order for `customer`, with its key."""
    oid = api.admin(
        "order/create", client_id=customer["id"], product_id=product_id, period="1M", activate=True
    )
    key = api.admin("order/service", id=oid)["api_key"]
    return {"id": oid, "key": key}
