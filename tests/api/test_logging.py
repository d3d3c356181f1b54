"""Logs (DESIGN.md section 13): one format, request ids, the access log, security events."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.observability.logs import configure_logging
from tests.conftest import Api

MakeClient = Callable[..., TestClient]
Lines = Callable[[], list[dict[str, Any]]]
CHECK = "/api/guest/serviceapikey/check"


@pytest.fixture
def lines(capsys: pytest.CaptureFixture[str], settings: Settings) -> Iterator[Lines]:
    """JSON logging on; `lines()` gives the JSON lines written to stderr since the last call."""
    configure_logging(settings.model_copy(update={"log_format": "json"}))
    captured: list[str] = []

    def read() -> list[dict[str, Any]]:
        text = capsys.readouterr().err
        captured.append(text)
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    read()  # start from nothing
    yield read
    configure_logging(settings)


@pytest.fixture
def make_client(settings: Settings, db: Database, lines: Lines) -> Iterator[MakeClient]:
    """Clients of apps logging JSON on the test's database; keyword args override settings."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        values = {"log_format": "json", **overrides}
        app = create_app(settings.model_copy(update=values), database=db)
        opened.append(TestClient(app, client=("203.0.113.7", 40000)))
        return opened[-1]

    yield make
    for test_client in opened:
        test_client.close()


def events(found: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in found if line["event"] == event]


def test_an_incoming_request_id_is_echoed_and_on_every_line_of_its_request(
    make_client: MakeClient, lines: Lines
) -> None:
    client = make_client(access_log=True)
    fast = client.post(CHECK, json={"key": "NOPE"}, headers={"X-Request-ID": "edge-42:abc"})
    general = client.post("/api/guest/product/get_list", headers={"X-Request-ID": "req/7"})
    assert fast.headers["x-request-id"] == "edge-42:abc"
    assert general.headers["x-request-id"] == "req/7"
    logged = [line["request_id"] for line in events(lines(), "request")]
    assert logged == ["edge-42:abc", "req/7"]


def test_a_request_without_a_usable_id_gets_a_new_one(make_client: MakeClient) -> None:
    client = make_client()
    sent: list[bytes | None] = [None, b"x" * 65, b"has space", "caf\u00e9".encode(), b"a\tb"]
    answered = []
    for request_id in sent:
        headers = {} if request_id is None else {"X-Request-ID": request_id}
        answered.append(client.get("/healthz", headers=headers).headers["x-request-id"])
    assert len(set(answered)) == len(sent)
    assert all(re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", found) for found in answered)


def test_the_access_log_is_off_by_default(make_client: MakeClient, lines: Lines) -> None:
    client = make_client()
    client.post("/api/guest/product/get_list")
    client.post(CHECK, json={"key": "NOPE"})
    assert events(lines(), "request") == []


def test_the_access_log_gives_one_line_per_request_without_the_query_string(
    make_client: MakeClient, lines: Lines
) -> None:
    client = make_client(access_log=True)
    response = client.get(CHECK, params={"key": "SK-SECRET-KEY-1234"})
    (line,) = events(lines(), "request")
    assert line["method"] == "GET"
    assert line["path"] == CHECK
    assert line["status"] == response.status_code
    assert line["client_ip"] == "203.0.113.7"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["level"] == "info" and line["logger"] == "keyvend.access"
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert "SK-SECRET-KEY-1234" not in json.dumps(line)


def test_probes_and_scrapes_are_not_logged_at_info(make_client: MakeClient, lines: Lines) -> None:
    client = make_client(access_log=True)
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200
    assert events(lines(), "request") == []


@pytest.mark.parametrize(("module", "account_type"), [("client", "client"), ("staff", "admin")])
def test_a_failed_login_is_logged_with_the_email_and_ip_but_never_the_password(
    make_client: MakeClient, lines: Lines, module: str, account_type: str
) -> None:
    client = make_client()
    password = "correct-horse-wrong-battery"
    response = client.post(
        f"/api/guest/{module}/login",
        json={"email": "Jo@Example.com", "password": password},
        headers={"X-Request-ID": "login-1"},
    )
    assert response.json()["error"]["code"] == 201  # LoginFailed
    found = lines()
    (line,) = events(found, "login failed")
    assert line["security_event"] == "login_failed"
    assert line["account_type"] == account_type
    assert line["email"] == "Jo@Example.com"
    assert line["client_ip"] == "203.0.113.7"
    assert line["request_id"] == "login-1"
    assert line["level"] == "warning"
    assert password not in json.dumps(found)


def test_a_key_reset_is_logged_with_the_order_and_actor_but_never_the_key(
    api: Api, active_order: dict[str, Any], customer: dict[str, Any], lines: Lines
) -> None:
    api.admin("serviceapikey/reset", order_id=active_order["id"])
    api.ok("client/serviceapikey/reset", auth=customer["auth"], order_id=active_order["id"])
    new_key = api.admin("order/service", id=active_order["id"])["api_key"]
    found = lines()
    by_admin, by_client = events(found, "api key reset")
    assert by_admin["security_event"] == "key_reset"
    assert by_admin["order_id"] == active_order["id"]
    assert re.fullmatch(r"admin:\d+", by_admin["actor"])
    assert by_admin["client_id"] is None
    assert by_client["actor"] == f"client:{customer['id']}"
    assert by_client["client_id"] == customer["id"]
    text = json.dumps(found)
    assert active_order["key"] not in text and new_key not in text


def test_stdlib_loggers_share_the_format_and_tracebacks_carry_no_locals(lines: Lines) -> None:
    log = logging.getLogger("keyvend.somewhere")

    def fails() -> None:
        secret_value = "hunter2-in-a-local"
        raise RuntimeError(f"failed after {len(secret_value)} characters")

    log.warning("plain %s line", "stdlib", extra={"order_id": 7})
    try:
        fails()
    except RuntimeError:
        log.exception("with a traceback")
    found = lines()
    plain, failed = found
    assert plain["event"] == "plain stdlib line"
    assert (plain["logger"], plain["level"], plain["order_id"]) == (
        "keyvend.somewhere",
        "warning",
        7,
    )
    assert "timestamp" in plain
    assert failed["exception"][0]["exc_type"] == "RuntimeError"
    assert "hunter2-in-a-local" not in json.dumps(found)


def test_the_console_format_puts_the_request_id_on_the_line(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(log_format="console", access_log=True)
    client.post("/api/guest/product/get_list", headers={"X-Request-ID": "console-1"})
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "[keyvend.access]" in line]
    assert "request_id=console-1" in line
    assert "path=/api/guest/product/get_list" in line
    assert not line.startswith("{")
