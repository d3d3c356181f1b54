"""Schemathesis over the OpenAPI document: every documented call, fuzzed, answers the envelope.

One test per operation and database (SQLite and PostgreSQL), against the real ASGI app in
process, with a product, a client and an active order in place. Each role's operations are
called with that role's credentials (HTTP Basic `admin:<token>` or `client:<token>`; guest ones
with none). Schemathesis's coverage phase sends its deterministic valid boundary cases as JSON
and as form bodies, then a few derandomized fuzzed cases follow, valid and invalid, with no
shrinking and no example database, so a run is the same every time and fits in CI.

Any answer >= 500, anything under /api/ that is not exactly the envelope, or an answer that
does not match its operation's typed envelope (the result's documented type, the error
object) fails the operation's test with a curl command that reproduces the request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import response_schema_conformance
from schemathesis.python import asgi

import keyvend.app  # noqa: F401  (registers every endpoint before the document is built)
from keyvend.api.openapi import openapi
from keyvend.api.registry import ENDPOINTS
from tests.conftest import Api

SEED = 20260115
FUZZED_PER_OPERATION = 5  # random cases on top of the coverage phase's (about 15 an operation)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": FUZZED_PER_OPERATION,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
            # Real credentials go on every call; invented ones would only ever meet the 401.
            "with-security-parameters": False,
        },
        "phases": {
            # Boundary values that pass validation reach each endpoint's own code and the
            # database; invalid input all meets the one validation step, so the few fuzzed
            # negative cases (and tests/api/test_bad_input.py) cover it for much less time.
            "coverage": {"generation": {"mode": "positive"}},
            "stateful": {"enabled": False},
        },
    }
)
# The document `/openapi.json` serves (the last test pins that), loaded at collection so that
# each operation is a test of its own. (Not `schemathesis.pytest.from_fixture`, which would load
# it from the app in a fixture: on pytest 9.2 it fails with "'Function' object has no attribute
# '_nodeid'".)
schema = schemathesis.openapi.from_dict(openapi(), config=CONFIG)


@pytest.fixture
def served(app: Any, active_order: dict[str, Any]) -> Iterator[Any]:
    """The app, with an admin, a client, a product and an active order in place."""
    yield app
    # Schemathesis keeps every app whose lifespan it started; this one's database closes now.
    asgi.shutdown_lifespans()


@pytest.fixture
def authorization(api: Api, customer: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The headers each role's calls carry."""
    tokens = {"admin": api.admin_token, "client": customer["token"]}
    headers: dict[str, dict[str, str]] = {"guest": {}}
    for role, token in tokens.items():
        basic = base64.b64encode(f"{role}:{token}".encode()).decode()
        headers[role] = {"Authorization": f"Basic {basic}"}
    return headers


@schema.parametrize()
# The app outlives one case on purpose: what earlier cases wrote is input for the later ones.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_documented_call_answers_its_typed_envelope_and_never_a_server_error(
    case: schemathesis.Case, served: Any, authorization: dict[str, dict[str, str]]
) -> None:
    headers = authorization[case.path.split("/")[2]]  # /api/{role}/{module}/{method}
    response = case.call(app=served, headers=dict(headers))
    problem = server_error(response.status_code)
    if problem is None and case.formatted_path.startswith("/api/"):
        problem = envelope_problem(response.content)
    if problem is not None:
        curl = case.as_curl_command(headers=dict(headers))
        pytest.fail(f"{problem}\nHTTP {response.status_code}: {response.text[:500]}\n{curl}")
    # The answer matches its operation's documented schema (schemathesis fails with the details
    # and a curl command): the typed result, or the error object with the documented status.
    case.validate_response(response, checks=[response_schema_conformance])


def test_openapi_json_is_the_document_fuzzed_with_every_endpoint(api: Api) -> None:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(openapi()))
    operations = [result.ok() for result in schema.get_all_operations()]  # each one loads
    assert len(operations) == len(ENDPOINTS)


def server_error(status: int) -> str | None:
    return f"a server error ({status})" if status >= 500 else None


def envelope_problem(content: bytes) -> str | None:
    """What keeps `content` from being `{"result", "error": null | {"message", "code"}}`."""
    try:
        body = json.loads(content)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict) or set(body) != {"result", "error"}:
        return "not exactly the keys result and error"
    error = body["error"]
    if error is None:
        return None
    if not isinstance(error, dict) or set(error) != {"message", "code"}:
        return "error is neither null nor exactly {message, code}"
    if not isinstance(error["message"], str) or type(error["code"]) is not int:
        return "error message not a string or code not an integer"
    if body["result"] is not None:
        return "an error with a result"
    return None
