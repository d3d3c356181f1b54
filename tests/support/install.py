"""A Keyvend install as the operator sees it: a data dir, a database, a secret, the CLI.

`populate` fills it with what a secret must not lose (keys, API tokens, a session) and
`assert_everything_works` proves, through the app, that all of it still works.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from keyvend.app import create_app
from keyvend.cli import app, open_database
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate, StaffCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import auth, client, order, product, staff

runner = CliRunner()


class Install:
    """One data dir and database; `secret` None means the secret lives in `secret.key`."""

    def __init__(self, data_dir: Path, database_url: str, secret: str | None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.secret = secret

    @property
    def secret_file(self) -> Path:
        return self.data_dir / "secret.key"

    def env(self) -> dict[str, str | None]:
        return {
            "KEYVEND_DATA_DIR": str(self.data_dir),
            "KEYVEND_DATABASE_URL": self.database_url,
            "KEYVEND_SECRET_KEY": self.secret,  # None: unset
            "KEYVEND_CONFIG": str(self.data_dir.parent / "absent.toml"),
            "KEYVEND_RATE_LIMIT_ENABLED": "false",
        }

    def run(self, *args: str) -> Result:
        return runner.invoke(app, list(args), env=self.env())

    def ok(self, *args: str) -> Any:
        """Run with --json, expect exit 0, return the JSON object printed."""
        result = self.run(*args, "--json")
        assert result.exit_code == 0, (args, result.output, result.exception)
        return json.loads(result.stdout)

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            secret_key=self.secret,
            rate_limit_enabled=False,
        )

    def open(self) -> Database:
        """The database as `keyvend serve` opens it: secret checked, migrated."""
        return open_database(self.settings())


@dataclass
class Contents:
    """What must survive a rotation, a backup or a restore."""

    keys: list[str]
    admin_token: str
    client_token: str
    session_token: str


def populate(db: Database, *, orders: int = 3) -> Contents:
    """An admin, a client with `orders` active keys and an open browser session."""
    admin = staff.create_admin(db, StaffCreate(email="root@example.com", password="admin-pass-1"))
    account = client.create(
        db, ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123")
    )
    pid = product.prepare(db, ProductCreate(title="Starter", type="apikey"))
    product.update(db, pid, ProductUpdate(status="enabled", setup="after_order"))
    ids = [
        order.create(db, OrderCreate(client_id=account.id, product_id=pid, activate=True))
        for _ in range(orders)
    ]
    session = auth.login(db, "client", email="jo@example.com", password="jo-pass-123", ttl_hours=24)
    return Contents(
        keys=[str(order.service(db, oid).api_key) for oid in ids],
        admin_token=admin.api_token,
        client_token=account.api_token,
        session_token=session.token,
    )


def assert_everything_works(install: Install, contents: Contents) -> None:
    """Through the app: every key checks valid, both API tokens and the session authenticate."""
    db = install.open()
    try:
        with TestClient(create_app(install.settings(), database=db)) as http:
            for key in contents.keys:
                assert _result(http, "guest/serviceapikey/check", None, key=key) is True
            admin = _result(http, "admin/profile/get", ("admin", contents.admin_token))
            assert admin["email"] == "root@example.com"
            own = _result(http, "client/profile/get", ("client", contents.client_token))
            assert own["email"] == "jo@example.com"
        actor, _csrf = auth.live_session(db, contents.session_token)
        assert actor.role == "client"
    finally:
        db.dispose()


def _result(http: TestClient, path: str, auth: tuple[str, str] | None, **params: Any) -> Any:
    response = http.post(f"/api/{path}", json=params, auth=auth)
    body = response.json()
    assert response.status_code == 200 and body["error"] is None, (path, body)
    return body["result"]


def migrated_and_filled(install: Install) -> Contents:
    """`keyvend migrate`, then an admin, a client, three keys and a session (`populate`)."""
    install.ok("migrate")
    db = install.open()
    try:
        return populate(db)
    finally:
        db.dispose()
