"""The `keyvend` command, driven through Typer's CliRunner on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from keyvend.app import build_database, create_app
from keyvend.cli import app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database, utc_now
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import auth, client, invoice, order, product
from tests.conftest import SECRET, FakeClock

runner = CliRunner()


class Cli:
    """Runs `keyvend ...` against one data dir and database."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.data_dir = tmp_path / "data"
        self.database_url = database_url
        self.env = {
            "KEYVEND_DATA_DIR": str(self.data_dir),
            "KEYVEND_SECRET_KEY": SECRET,
            "KEYVEND_DATABASE_URL": database_url,
            "KEYVEND_CONFIG": str(tmp_path / "absent.toml"),
        }

    def run(self, *args: str) -> Result:
        return runner.invoke(app, list(args), env=self.env)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    def json(self, *args: str) -> Any:
        """Run with --json and parse the one JSON object printed on stdout."""
        return json.loads(self.ok(*args, "--json"))

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            secret_key=SECRET,
            rate_limit_enabled=False,
        )

    def database(self, clock: FakeClock | None = None) -> Database:
        return build_database(self.settings(), clock) if clock else build_database(self.settings())


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, database_url)


@pytest.fixture
def http(cli: Cli) -> Iterator[TestClient]:
    """The API over the database the CLI writes to."""
    cli.ok("migrate")
    database = cli.database()
    with TestClient(create_app(cli.settings(), database=database)) as test_client:
        yield test_client
    database.dispose()


def call(http: TestClient, path: str, auth: tuple[str, str], **params: Any) -> Any:
    body = http.post(f"/api/{path}", json=params, auth=auth).json()
    assert body["error"] is None, body
    return body["result"]


def key_tables(cli: Cli) -> set[str]:
    database = cli.database()
    try:
        return set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_migrate_creates_the_schema_and_says_so(cli: Cli) -> None:
    assert cli.ok("migrate").strip() == "Database is up to date."
    assert {"admins", "clients", "products", "orders", "service_apikey"} <= key_tables(cli)
    assert cli.json("migrate") == {"migrated": True}


def test_migrate_activates_the_serviceapikey_extension_on_a_new_database(cli: Cli) -> None:
    cli.ok("migrate")
    assert [(row["id"], row["status"]) for row in cli.json("extension", "list")["extensions"]] == [
        ("serviceapikey", "active")
    ]


def test_admin_create_prints_a_token_that_works_over_the_api(cli: Cli, http: TestClient) -> None:
    account = cli.json("admin", "create", "Boss@Example.com", "--password", "boss-pass-123")
    assert set(account) == {"id", "email", "api_token"}
    assert account["email"] == "boss@example.com"
    profile = call(http, "admin/profile/get", ("admin", account["api_token"]))
    assert (profile["id"], profile["email"]) == (account["id"], "boss@example.com")
    login = http.post(
        "/api/guest/staff/login", json={"email": "boss@example.com", "password": "boss-pass-123"}
    )
    assert login.json()["error"] is None


def test_admin_create_without_a_password_prints_the_generated_one(cli: Cli) -> None:
    output = cli.ok("admin", "create", "boss@example.com")
    assert re.search(r"^API token: \S{32,}$", output, re.MULTILINE)
    password = re.search(r"^password: (\S+)$", output, re.MULTILINE)
    assert password is not None and len(password.group(1)) >= 8


def test_admin_create_refuses_a_second_admin_with_the_same_email(cli: Cli) -> None:
    cli.ok("admin", "create", "boss@example.com")
    result = cli.run("admin", "create", "BOSS@example.com")
    assert result.exit_code == 1
    assert "An admin with email boss@example.com already exists" in result.stderr
    result = cli.run("admin", "create", "boss@example.com", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "An admin with email boss@example.com already exists"
    }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("not-an-email",), "email must be a valid email address"),
        (("boss@example.com", "--password", "short"), "password must be 8 to 256"),
        (("boss@example.com", "--password", ""), "password must be 8 to 256"),
    ],
)
def test_admin_create_refuses_a_bad_email_or_weak_password(
    cli: Cli, args: tuple[str, ...], words: str
) -> None:
    result = cli.run("admin", "create", *args)
    assert result.exit_code == 1
    assert words in result.stderr


def test_client_create_prints_a_token_that_works_over_the_api(cli: Cli, http: TestClient) -> None:
    account = cli.json(
        "client", "create", "jo@example.com", "--first-name", "Jo", "--password", "jo-pass-123"
    )
    assert set(account) == {"id", "email", "api_token"}
    profile = call(http, "client/profile/get", ("client", account["api_token"]))
    assert (profile["id"], profile["email"], profile["first_name"]) == (
        account["id"],
        "jo@example.com",
        "Jo",
    )


def test_cron_refuses_a_bad_smtp_url_naming_the_setting_not_its_password(cli: Cli) -> None:
    cli.env["KEYVEND_SMTP_URL"] = "http://user:hunter22@mail.example.com"
    result = cli.run("cron")
    assert result.exit_code == 2
    assert "KEYVEND_SMTP_URL" in result.stderr
    assert "hunter22" not in result.output + result.stderr


def test_client_create_prints_the_token_for_people_without_json(cli: Cli) -> None:
    output = cli.ok("client", "create", "jo@example.com", "--first-name", "Jo")
    assert output.startswith("Client #1 jo@example.com\n")
    assert re.search(r"^API token: \S{32,}$", output, re.MULTILINE)


def test_client_create_needs_a_first_name_and_a_free_email(cli: Cli) -> None:
    missing = cli.run("client", "create", "jo@example.com")
    assert missing.exit_code == 2
    assert "--first-name" in missing.output
    cli.ok("client", "create", "jo@example.com", "--first-name", "Jo")
    taken = cli.run("client", "create", "jo@example.com", "--first-name", "Jo", "--json")
    assert taken.exit_code == 1
    assert json.loads(taken.stdout) == {"error": "Email jo@example.com is already registered"}


def test_cron_bills_and_suspends_orders_that_expired_and_drops_dead_sessions(cli: Cli) -> None:
    cli.ok("migrate")
    clock = FakeClock()
    clock.now = utc_now() - timedelta(days=90)  # everything below happened three months ago
    database = cli.database(clock)
    account = client.create(
        database, ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-1")
    )
    pid = product.prepare(database, ProductCreate(title="Monthly", type="apikey"))
    product.update(
        database,
        pid,
        ProductUpdate(
            status="enabled", pricing={"type": "recurrent", "recurrent": {"1M": "5", "1Y": "50"}}
        ),
    )
    expired = order.create(
        database, OrderCreate(client_id=account.id, product_id=pid, period="1M", activate=True)
    )
    order.create(
        database, OrderCreate(client_id=account.id, product_id=pid, period="1Y", activate=True)
    )
    auth.login(database, "client", email="jo@example.com", password="jo-pass-1", ttl_hours=1)
    database.dispose()

    first = cli.json("cron")
    renewal = first["renewal_invoices"]
    assert len(renewal) == 1
    assert first == {
        "retried_items": [],
        "renewal_invoices": renewal,
        "reminders": [],
        "suspended_orders": [expired],
        "canceled_orders": [],
        "deleted_sessions": 1,
        "deleted_guest_carts": 0,
        "emails_sent": [],  # no KEYVEND_SMTP_URL: the mails stay queued
        "webhooks_sent": [],
        # The first run only starts the expiry watermark: the past is not news.
        "expiry_events": 0,
    }
    assert cli.json("cron") == {
        "retried_items": [],
        "renewal_invoices": [],
        "reminders": [],
        "suspended_orders": [],
        "canceled_orders": [],
        "deleted_sessions": 0,
        "deleted_guest_carts": 0,
        "emails_sent": [],
        "webhooks_sent": [],
        "expiry_events": 0,
    }
    database = cli.database()
    try:
        assert order.get(database, expired).status == "suspended"
        assert order.get(database, expired).reason == "Non-payment"  # its renewal is unpaid
        renewal_invoice = invoice.get(database, renewal[0])
        assert [item.order_id for item in renewal_invoice.items] == [expired]
        assert renewal_invoice.items[0].task == "renew"
    finally:
        database.dispose()


def test_cron_reports_in_words_without_json(cli: Cli) -> None:
    output = cli.ok("cron")
    assert output.strip() == (
        "Retried 0 failed task(s); issued 0 renewal invoice(s); sent 0 reminder(s); "
        "suspended 0 order(s); canceled 0 order(s); "
        "removed 0 expired session(s) and 0 abandoned guest cart(s); delivered 0 email(s)."
    )


def test_extension_deactivate_and_activate_switch_the_status(cli: Cli) -> None:
    cli.ok("migrate")
    assert cli.json("extension", "deactivate", "serviceapikey") == {
        "id": "serviceapikey",
        "result": "deactivated",
    }
    assert "serviceapikey\tinactive" in cli.ok("extension", "list")
    assert "service_apikey" in key_tables(cli)
    assert cli.ok("extension", "activate", "serviceapikey").strip() == (
        "Extension serviceapikey activated."
    )
    assert cli.json("extension", "list")["extensions"][0]["status"] == "active"


def test_extension_uninstall_without_yes_is_refused_and_keeps_the_table(cli: Cli) -> None:
    cli.ok("migrate")
    result = cli.run("extension", "uninstall", "serviceapikey")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Uninstalling serviceapikey drops its table and every API key in it; add --yes\n"
    )
    as_json = cli.run("extension", "uninstall", "serviceapikey", "--json")
    assert as_json.exit_code == 1
    assert "add --yes" in json.loads(as_json.stdout)["error"]
    assert "service_apikey" in key_tables(cli)
    assert cli.json("extension", "list")["extensions"][0]["status"] == "active"


def test_extension_uninstall_with_yes_drops_the_table_and_activate_recreates_it(
    cli: Cli,
) -> None:
    cli.ok("migrate")
    assert cli.json("extension", "uninstall", "serviceapikey", "--yes") == {
        "id": "serviceapikey",
        "result": "uninstalled",
    }
    assert "service_apikey" not in key_tables(cli)
    assert cli.json("extension", "list")["extensions"][0]["status"] == "not_installed"
    cli.ok("migrate")  # a later migrate does not bring an uninstalled extension back
    assert "service_apikey" not in key_tables(cli)
    cli.ok("extension", "activate", "serviceapikey")
    assert "service_apikey" in key_tables(cli)


def test_extension_commands_refuse_an_unknown_extension(cli: Cli) -> None:
    for command in ("activate", "deactivate"):
        result = cli.run("extension", command, "servicevps")
        assert result.exit_code == 1
        assert "Extension servicevps not found" in result.stderr
    result = cli.run("extension", "uninstall", "servicevps", "--yes", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"error": "Extension servicevps not found"}


def test_a_short_secret_key_is_refused_with_a_clear_message(cli: Cli) -> None:
    cli.env["KEYVEND_SECRET_KEY"] = "short"
    result = cli.run("migrate")
    assert result.exit_code != 0
    assert "KEYVEND_SECRET_KEY must be at least 32 characters" in result.stderr


# keygen needs no database: these run once.

KEYGEN_FORMATS = [
    ((), r"[0-9A-F]{8}(-[0-9A-F]{8}){3}"),
    (("--length", "20"), r"[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{4}"),
    (
        ("--length", "40", "--split", "--split-interval", "5", "--case", "lower"),
        r"[0-9a-f]{5}(-[0-9a-f]{5}){7}",
    ),
    (("--length", "64", "--no-split", "--case", "mixed"), r"[0-9a-fA-F]{64}"),
    (("--prefix", "sk_live_", "--case", "upper"), r"sk_live_[0-9A-F]{8}(-[0-9A-F]{8}){3}"),
    (("--length", "16", "--split-interval", "16"), r"[0-9A-F]{16}"),
    (("--length", "256", "--no-split", "--case", "lower"), r"[0-9a-f]{256}"),
]


def keygen(*args: str) -> Result:
    return runner.invoke(app, ["keygen", *args])


@pytest.mark.parametrize(("args", "pattern"), KEYGEN_FORMATS)
def test_keygen_prints_keys_in_the_requested_format(args: tuple[str, ...], pattern: str) -> None:
    result = keygen(*args, "--count", "5")
    assert result.exit_code == 0, result.output
    keys = result.stdout.splitlines()
    assert len(keys) == 5
    assert all(re.fullmatch(pattern, key) for key in keys), keys
    assert len(set(keys)) == 5


def test_keygen_with_every_option_and_json_prints_one_object_of_keys() -> None:
    result = keygen(
        "--length", "48", "--split", "--split-interval", "12", "--case", "mixed",
        "--prefix", "pk_", "--count", "20", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"keys"}
    assert len(data["keys"]) == 20
    for key in data["keys"]:
        assert re.fullmatch(r"pk_[0-9a-fA-F]{12}(-[0-9a-fA-F]{12}){3}", key), key
    letters = "".join(c for key in data["keys"] for c in key[3:] if c.isalpha())
    assert letters != letters.upper() and letters != letters.lower()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--length", "15"), "length must be a whole number from 16 to 256"),
        (("--length", "257"), "length must be a whole number from 16 to 256"),
        (("--split-interval", "0"), "split_interval must be a whole number from 1 to 32"),
        (("--split-interval", "33"), "split_interval must be a whole number from 1 to 32"),
        (("--case", "title"), "case must be one of upper, lower or mixed"),
        (("--prefix", "sk-live"), "prefix must be at most 16 letters, digits or underscores"),
        (("--prefix", "p" * 17), "prefix must be at most 16 letters, digits or underscores"),
    ],
)
def test_keygen_refuses_bad_options_with_a_clear_message(args: tuple[str, ...], words: str) -> None:
    result = keygen(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert words in result.stderr
    as_json = keygen(*args, "--json")
    assert as_json.exit_code == 1
    assert words in json.loads(as_json.stdout)["error"]


@pytest.mark.parametrize(
    "args",
    [
        ("--count", "0"),
        ("--count", "-3"),
        ("--count", "many"),
        ("--length", "long"),
        ("--colour", "red"),
    ],
)
def test_keygen_refuses_options_that_are_not_numbers_or_out_of_range(
    args: tuple[str, ...],
) -> None:
    result = keygen(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value" in result.output or "No such option" in result.output


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    from typer.testing import CliRunner

    from keyvend.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"keyvend {version('keyvend')}"


def test_serve_on_a_taken_port_stops_with_one_line_naming_the_setting(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from keyvend.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"KEYVEND_DATA_DIR": str(tmp_path / "data"), "KEYVEND_PORT": str(port)}
        result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: KEYVEND_HOST / KEYVEND_PORT: cannot listen on 127.0.0.1:{port} "
        "(Address already in use)"
    ]
    assert not (tmp_path / "data").exists()  # refused before any setup


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"KEYVEND_DATABASE_URL": "nonsense://nowhere/x"},
            "KEYVEND_DATABASE_URL: not a database URL",
        ),
        (
            {"KEYVEND_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test"},
            "KEYVEND_DATABASE_URL: cannot open postgresql+psycopg://postgres@127.0.0.1:1/test",
        ),
        ({"KEYVEND_DATA_DIR": "{file}/data"}, "KEYVEND_DATA_DIR: "),
    ],
    ids=["bad-url", "unreachable", "data-dir-not-a-folder"],
)
def test_a_bad_database_url_or_data_dir_stops_migrate_and_serve_with_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    from typer.testing import CliRunner

    from keyvend.cli import app

    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    env = {
        "KEYVEND_DATA_DIR": str(tmp_path / "data"),
        "KEYVEND_SECRET_KEY": "s" * 40,
        **{k: v.format(file=a_file) for k, v in env.items()},
    }
    for command in (["migrate"], ["serve", "--port", "0"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {expected}"), lines
        assert "Traceback" not in result.output
