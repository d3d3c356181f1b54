"""KeyvendWSGIMiddleware: the same contract as the ASGI middleware, for WSGI applications."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
import pytest

from conftest import STARTER_LIMIT, FakeClock, Seed
from keyvend_client import KeyvendClient
from keyvend_client.wsgi import KeyvendWSGIMiddleware
from keyvend_live import LiveServer
from keyvend_stubs import DISABLED, DOWN, GOOD, HURRIED, LIMITED, SPENT, StubChecker


def echo_params(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A bare WSGI app answering with the parameters of the key the middleware verified."""
    verified = environ.get("keyvend")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(None if verified is None else dict(verified.params)).encode()]


@pytest.fixture
def checker() -> StubChecker:
    return StubChecker()


@pytest.fixture
def http(checker: StubChecker) -> Iterator[httpx.Client]:
    app = KeyvendWSGIMiddleware(echo_params, client=checker, exempt_paths={"/health"})
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://app") as client:
        yield client


def test_a_valid_key_in_the_header_reaches_the_app_with_its_parameters(
    http: httpx.Client,
) -> None:
    response = http.get("/quote", headers={"X-API-Key": GOOD})
    assert (response.status_code, response.json()) == (200, {"monthlyLimit": 250})


def test_a_valid_key_in_the_query_string_is_accepted_too(http: httpx.Client) -> None:
    assert http.get("/quote", params={"api_key": GOOD}).json() == {"monthlyLimit": 250}


def test_a_request_without_a_key_gets_401_in_json(http: httpx.Client, checker: StubChecker) -> None:
    response = http.get("/quote")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"].startswith("Missing API key")
    assert checker.asked == []


@pytest.mark.parametrize("key", [DISABLED, "NO-SUCH-KEY"])
def test_an_invalid_or_unknown_key_gets_401(http: httpx.Client, key: str) -> None:
    response = http.get("/quote", headers={"X-API-Key": key})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid API key"})


def test_a_key_that_cannot_be_verified_gets_503(http: httpx.Client) -> None:
    assert http.get("/", headers={"X-API-Key": DOWN}).status_code == 503
    limited = http.get("/", headers={"X-API-Key": LIMITED})
    assert (limited.status_code, limited.headers["retry-after"]) == (503, "7")


def test_exempt_paths_need_no_key(http: httpx.Client, checker: StubChecker) -> None:
    assert http.get("/health").status_code == 200
    assert checker.asked == []


def test_with_a_real_client_only_the_first_request_of_a_key_reaches_keyvend(
    server: LiveServer, seed: Seed, clock: FakeClock
) -> None:
    key = seed.new_key()
    with KeyvendClient(server.url, clock=clock) as client:
        app = KeyvendWSGIMiddleware(echo_params, client=client)
        with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
            answers = [http.get("http://app/", headers={"X-API-Key": key}) for _ in range(5)]
            refused = http.get("http://app/", headers={"X-API-Key": key + "X"})
    assert [answer.json() for answer in answers] == [{"monthlyLimit": STARTER_LIMIT}] * 5
    assert refused.status_code == 401
    assert server.counter.requests() == 2


def test_with_a_cost_every_request_is_verified_and_a_spent_quota_gets_429(
    checker: StubChecker,
) -> None:
    app = KeyvendWSGIMiddleware(echo_params, client=checker, cost=3)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://app") as http:
        passed = http.get("/quote", headers={"X-API-Key": GOOD})
        spent = http.get("/quote", headers={"X-API-Key": SPENT})
        hurried = http.get("/quote", headers={"X-API-Key": HURRIED})
        invalid = http.get("/quote", headers={"X-API-Key": DISABLED})
    assert (passed.status_code, passed.json()) == (200, {"monthlyLimit": 250})
    assert checker.costs == [3, 3, 3, 3]
    assert (spent.status_code, spent.json()["code"]) == (429, "USAGE_EXCEEDED")
    assert int(spent.headers["retry-after"]) >= 1
    assert (hurried.status_code, hurried.json()["code"]) == (429, "RATE_LIMITED")
    assert invalid.status_code == 401
