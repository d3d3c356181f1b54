"""A database that cannot be reached is an outage (HTTP 503, code 503, Retry-After), never a
refusal: clients (and `ServeStale` in the client library) must be able to tell the two apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpx import Response
from starlette.testclient import TestClient

from keyvend.app import build_database, create_app
from keyvend.config import Settings
from tests.conftest import SECRET

UNREACHABLE = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
    # A folder where the database file should be: SQLite cannot open it.
    "sqlite": "sqlite:///{tmp}",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down(request: pytest.FixtureRequest, tmp_path: Path) -> TestClient:
    url = UNREACHABLE[request.param].format(tmp=tmp_path)
    settings = Settings(
        data_dir=tmp_path, database_url=url, secret_key=SECRET, rate_limit_enabled=False
    )
    return TestClient(create_app(settings, database=build_database(settings)))


def assert_outage(response: Response) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["result"] is None
    assert body["error"] == {
        "message": "The database is busy or unavailable; please try again",
        "code": 503,
    }
    assert int(response.headers["retry-after"]) >= 1


def test_a_key_check_on_the_fast_lane_answers_503_when_the_database_is_down(
    down: TestClient,
) -> None:
    assert_outage(down.post("/api/guest/serviceapikey/check", json={"key": "ABCD-1234"}))
    assert_outage(down.get("/api/guest/serviceapikey/get_info?key=ABCD-1234"))


def test_a_dispatched_call_answers_503_when_the_database_is_down(down: TestClient) -> None:
    assert_outage(down.post("/api/guest/product/get_list", json={}))
    assert_outage(down.post("/api/admin/product/get_list", auth=("admin", "some-token")))


def test_calls_that_need_no_database_still_answer_while_it_is_down(down: TestClient) -> None:
    assert down.get("/openapi.json").status_code == 200
    assert down.get("/api/guest/nope/nope").json()["error"]["code"] == 740
