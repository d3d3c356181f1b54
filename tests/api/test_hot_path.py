"""The fast lane for key checks answers exactly as the general dispatcher does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.testclient import TestClient

import keyvend.app
from keyvend.api.dispatch import api_call
from keyvend.app import create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from tests.conftest import Api


def both_lanes(api: Api, method: str, params: dict[str, Any]) -> tuple[Any, Any]:
    """The same call through the fast lane (JSON) and the dispatcher (form body)."""
    path = f"/api/guest/serviceapikey/{method}"
    fast = api.client.post(path, json=params)
    general = api.client.post(path, data=params)
    return (fast.status_code, fast.json()), (general.status_code, general.json())


@pytest.mark.parametrize("method", ["check", "get_info"])
def test_both_lanes_agree_on_valid_missing_empty_and_unknown_keys(
    api: Api, active_order: dict[str, Any], method: str
) -> None:
    for params in (
        {"key": active_order["key"]},
        {"key": active_order["key"].lower()},
        {"key": "NOT-A-KEY"},
        {"key": ""},
        {"key": "   "},
        {},
    ):
        fast, general = both_lanes(api, method, params)
        assert fast == general, params


def test_both_lanes_agree_on_a_suspended_key(api: Api, active_order: dict[str, Any]) -> None:
    api.admin("order/suspend", id=active_order["id"])
    fast, general = both_lanes(api, "get_info", {"key": active_order["key"]})
    assert (
        fast
        == general
        == (200, {"result": {"valid": False, "config": {"monthlyLimit": 250}}, "error": None})
    )


def test_both_lanes_agree_when_the_module_is_inactive(
    api: Api, active_order: dict[str, Any]
) -> None:
    api.admin("extension/deactivate", id="serviceapikey")
    fast, general = both_lanes(api, "check", {"key": active_order["key"]})
    assert fast == general
    assert fast[1]["error"]["code"] == 715


def test_a_query_string_check_takes_the_fast_lane_with_the_same_answer(
    api: Api, active_order: dict[str, Any]
) -> None:
    response = api.client.get("/api/guest/serviceapikey/check", params={"key": active_order["key"]})
    assert response.json() == {"result": True, "error": None}
    assert response.headers["content-type"] == "application/json"


# --- verify, application tokens and trusted proxies (issue 13) -----------------------------

PROXY = "10.0.0.2"
VERIFY = "/api/guest/serviceapikey/verify"
GUEST_CALLS = ["check", "get_info", "verify"]
MakeClient = Callable[..., TestClient]


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key checks the general dispatcher answered, in apps built after this fixture."""
    seen: list[str] = []

    async def counting(request: Request) -> JSONResponse:
        if request.url.path.startswith("/api/guest/serviceapikey/"):
            seen.append(request.url.path)
        return await api_call(request)

    monkeypatch.setattr(keyvend.app, "api_call", counting)
    return seen


@pytest.fixture
def make(settings: Settings, db: Database, dispatched: list[str]) -> Iterator[MakeClient]:
    """Clients of an app (with rate limits, trusting 10.0.0.0/8 as proxies) seen from `peer`;
    keyword args override settings. Their key checks are recorded in `dispatched`."""
    opened: list[TestClient] = []

    def build(peer: str = "203.0.113.7", **overrides: Any) -> TestClient:
        values = {
            "trusted_proxies": ["10.0.0.0/8"],
            "rate_limit_enabled": True,
            "rate_limit_guest": "1000/minute",
            "rate_limit_guest_miss": "1000/minute",
            **overrides,
        }
        app = create_app(settings.model_copy(update=values), database=db)
        opened.append(TestClient(app, client=(peer, 40000)))
        return opened[-1]

    yield build
    for client in opened:
        client.close()


def lanes(
    client: TestClient, method: str, params: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[Any, Any]:
    """`both_lanes` for a client of one's own, with headers."""
    path = f"/api/guest/serviceapikey/{method}"
    fast = client.post(path, json=params, headers=headers)
    general = client.post(path, data=params, headers=headers)
    return (fast.status_code, fast.json()), (general.status_code, general.json())


def twin_keys(api: Api, customer: dict[str, Any], product_id: int, **config: Any) -> list[str]:
    """Two active keys with the same config, one per lane, so spending ones compare."""
    keys = []
    for _ in range(2):
        oid = api.admin(
            "order/create",
            client_id=customer["id"],
            product_id=product_id,
            period="1M",
            config=config,
            activate=True,
        )
        keys.append(api.admin("order/service", id=oid)["api_key"])
    return keys


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_both_lanes_agree_on_verify_of_valid_missing_and_empty_keys(
    make: MakeClient, dispatched: list[str], active_order: dict[str, Any]
) -> None:
    client = make()
    for params in (
        {"key": active_order["key"]},
        {"key": active_order["key"].lower()},
        {"key": "NOT-A-KEY"},
        {"key": active_order["key"], "cost": 0},
        {"key": ""},
        {},
    ):
        fast, general = lanes(client, "verify", params)
        assert fast == general, params
        # Only the form body went to the dispatcher (an empty one has no form to read).
        assert dispatched == ([VERIFY] if params else []), params
        dispatched.clear()
    fast, _ = lanes(client, "verify", {"key": active_order["key"]})
    assert fast[1]["result"]["code"] == "VALID"


@pytest.mark.parametrize("cost", [-1, 10**7, "x", "-2", 1.5, [1]])
def test_both_lanes_agree_on_a_bad_cost(
    api: Api, customer: dict[str, Any], product_id: int, cost: Any
) -> None:
    key, _ = twin_keys(api, customer, product_id, quota=3)
    fast = api.client.post(VERIFY, json={"key": key, "cost": cost})
    general = api.client.post(VERIFY, data={"key": key, "cost": str(cost)})
    if isinstance(cost, str):  # the same text both ways
        assert (fast.status_code, fast.json()) == (general.status_code, general.json())
    for response in (fast, general):
        assert response.json()["result"] is None
        assert "cost" in response.json()["error"]["message"]
    remaining = api.guest("serviceapikey/verify", key=key, cost=0)["quota"]["remaining"]
    assert remaining == 3


def test_both_lanes_agree_on_verify_spending_a_quota_and_a_rate_limit(
    make: MakeClient,
    dispatched: list[str],
    api: Api,
    customer: dict[str, Any],
    product_id: int,
) -> None:
    client = make()
    fast_key, general_key = twin_keys(api, customer, product_id, quota=5, rate_limit="3/minute")
    answers = []
    for cost in (1, 0, 2, 5, 1, 1, 0):
        fast = client.post(VERIFY, json={"key": fast_key, "cost": cost})
        general = client.post(VERIFY, data={"key": general_key, "cost": cost})
        assert (fast.status_code, fast.json()) == (general.status_code, general.json()), cost
        result = fast.json()["result"]
        answers.append((result["code"], result["quota"]["remaining"]))
    assert answers == [
        ("VALID", 4),
        ("VALID", 4),
        ("VALID", 2),
        ("USAGE_EXCEEDED", 2),
        ("VALID", 1),
        ("RATE_LIMITED", 1),
        ("VALID", 1),
    ]
    assert dispatched == [VERIFY] * 7


@pytest.mark.parametrize("method", GUEST_CALLS)
def test_both_lanes_agree_with_an_application_token_and_it_stays_on_the_fast_lane(
    make: MakeClient, dispatched: list[str], api: Api, active_order: dict[str, Any], method: str
) -> None:
    client = make(rate_limit_application="1000/minute")
    token = api.admin("application/create", name="Shop")["token"]
    path = f"/api/guest/serviceapikey/{method}"
    for params in ({"key": active_order["key"]}, {"key": "NOT-A-KEY"}, {"key": ""}):
        for headers in (bearer(token), bearer("kva_wrong")):
            fast, general = lanes(client, method, params, headers)
            assert fast == general, (params, headers)
            assert dispatched == [path]
            dispatched.clear()
    fast = client.post(path, json={"key": active_order["key"]}, headers=bearer(token))
    assert fast.headers["RateLimit-Limit"] == "1000"
    query = client.get(path, params={"key": active_order["key"]}, headers=bearer(token))
    assert query.json() == fast.json()
    assert dispatched == []


@pytest.mark.parametrize("method", GUEST_CALLS)
def test_behind_a_trusted_proxy_the_fast_lane_counts_the_forwarded_client(
    make: MakeClient, dispatched: list[str], active_order: dict[str, Any], method: str
) -> None:
    proxy = make(PROXY, rate_limit_guest_miss="3/minute")
    path = f"/api/guest/serviceapikey/{method}"

    def ask(key: str, client: str) -> Any:
        return proxy.post(path, json={"key": key}, headers={"X-Forwarded-For": client})

    for n in range(3):
        assert ask(f"NOPE-{n}", "192.0.2.1").status_code == 200
    refused = ask(active_order["key"], "192.0.2.1")
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, 429)
    assert ask(active_order["key"], "192.0.2.2").status_code == 200  # not the proxy's budget
    assert dispatched == []


@pytest.mark.parametrize("method", GUEST_CALLS)
def test_behind_a_trusted_proxy_an_application_token_stays_on_the_fast_lane_and_spares_the_client(
    make: MakeClient, dispatched: list[str], api: Api, active_order: dict[str, Any], method: str
) -> None:
    proxy = make(PROXY, rate_limit_guest="3/minute", rate_limit_guest_miss="3/minute")
    token = api.admin("application/create", name="Shop")["token"]
    path = f"/api/guest/serviceapikey/{method}"

    def ask(key: str, client: str, token: str | None = None) -> Any:
        headers = {"X-Forwarded-For": client, **(bearer(token) if token else {})}
        return proxy.post(path, json={"key": key}, headers=headers)

    # Misses and calls through the token spend neither budget of the forwarded client ...
    for n in range(10):
        assert ask(f"NOPE-{n}", "192.0.2.1", token).status_code == 200
    assert ask(active_order["key"], "192.0.2.1").status_code == 200
    # ... but wrong tokens spend its guest budget (3 a minute), and only its own.
    guesses = [ask(active_order["key"], "192.0.2.1", "kva_guess").status_code for _ in range(3)]
    assert guesses == [401, 401, 429]  # the plain call above spent one
    assert ask(active_order["key"], "192.0.2.1").status_code == 429
    assert ask(active_order["key"], "192.0.2.2").status_code == 200
    assert ask(active_order["key"], "192.0.2.1", token).status_code == 200
    assert dispatched == []
    # And the dispatcher, given the same calls as form bodies, answers alike.
    fast, general = lanes(
        proxy,
        method,
        {"key": active_order["key"]},
        {"X-Forwarded-For": "192.0.2.3", **bearer(token)},
    )
    assert fast == general
