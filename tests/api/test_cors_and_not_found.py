"""CORS opens only the guest endpoints, only to the configured origins, and only when asked
(`KEYVEND_CORS_ORIGINS`); an unknown address shows browsers an HTML page, API clients JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database

ORIGIN = "https://shop.example.com"
CHECK = "/api/guest/serviceapikey/check"
MakeClient = Callable[..., TestClient]


@pytest.fixture
def serve(settings: Settings, db: Database) -> Iterator[MakeClient]:
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(settings.model_copy(update=overrides), database=db)
        opened.append(TestClient(app))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


def preflight(client: TestClient, path: str = CHECK, origin: str = ORIGIN) -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_cors_is_off_by_default(serve: MakeClient, active_order: dict[str, Any]) -> None:
    client = serve()
    answer = client.post(CHECK, json={"key": active_order["key"]}, headers={"Origin": ORIGIN})
    assert answer.json() == {"result": True, "error": None}
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight(client).headers


@pytest.mark.parametrize("body", ["json", "form"])
def test_a_configured_origin_may_check_keys_in_both_lanes(
    serve: MakeClient, active_order: dict[str, Any], body: str
) -> None:
    client = serve(cors_origins=[ORIGIN])
    sent = {body if body == "json" else "data": {"key": active_order["key"]}}
    answer = client.post(CHECK, headers={"Origin": ORIGIN}, **sent)  # type: ignore[arg-type]
    assert answer.json() == {"result": True, "error": None}
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "ratelimit-remaining" in exposed and "x-keyvend-seq" in exposed
    assert "access-control-allow-credentials" not in answer.headers


def test_the_preflight_allows_the_application_token(serve: MakeClient) -> None:
    answer = preflight(serve(cors_origins=[ORIGIN]))
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    assert "POST" in answer.headers["access-control-allow-methods"]


def test_another_origin_is_not_allowed(serve: MakeClient, active_order: dict[str, Any]) -> None:
    client = serve(cors_origins=[ORIGIN])
    other = "https://evil.example.net"
    answer = client.post(CHECK, json={"key": active_order["key"]}, headers={"Origin": other})
    assert "access-control-allow-origin" not in answer.headers
    assert preflight(client, origin=other).status_code == 400


def test_admin_and_client_calls_are_never_opened(serve: MakeClient, api: Any) -> None:
    client = serve(cors_origins=["*"])
    for path in ("/api/admin/product/get_list", "/api/client/profile/get"):
        answer = client.post(path, headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in answer.headers, path
        assert "access-control-allow-origin" not in preflight(client, path).headers, path


def test_any_origin_with_a_star(serve: MakeClient, active_order: dict[str, Any]) -> None:
    client = serve(cors_origins=["*"])
    answer = client.post(CHECK, json={"key": active_order["key"]}, headers={"Origin": ORIGIN})
    assert answer.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "value", ["shop.example.com", "https://shop.example.com/path", "ftp://x.example"]
)
def test_a_setting_that_is_not_an_origin_is_refused_naming_it(
    settings: Settings, value: str
) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(**{**settings.model_dump(), "cors_origins": value})


def test_the_setting_reads_a_comma_separated_list(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYVEND_CORS_ORIGINS", f"{ORIGIN}, http://localhost:3000")
    assert Settings().cors_origins == [ORIGIN, "http://localhost:3000"]


def test_a_browser_gets_an_html_404_page(serve: MakeClient) -> None:
    answer = serve().get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in answer.text
    assert 'href="/"' in answer.text


@pytest.mark.parametrize("accept", ["application/json", "*/*", ""])
def test_an_api_client_gets_json_for_an_unknown_address(serve: MakeClient, accept: str) -> None:
    answer = serve().get("/no/such/page", headers={"Accept": accept})
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not Found"}


def test_unknown_api_calls_keep_the_envelope_even_for_browsers(serve: MakeClient) -> None:
    answer = serve().get("/api/guest/nope/nothing", headers={"Accept": "text/html"})
    assert set(answer.json()) == {"result", "error"}
