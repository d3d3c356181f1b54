"""The documented examples are right: the tour's curl commands, run against a real server,
answer what the documents show, and the PHP and JavaScript key checks work as written."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from keyvend.api import examples, snippets
from keyvend.api.openapi import openapi, operation_name
from keyvend.api.registry import ENDPOINTS, Endpoint
from tests.conftest import Api
from tests.support.live_server import serve_in_thread

KEY_CHECKS = {
    "guest/serviceapikey/check",
    "guest/serviceapikey/get_info",
    "guest/serviceapikey/verify",
}


@pytest.fixture
def database_url(migrated_sqlite_url: str) -> str:
    """The examples are the same on every database: SQLite, whose fresh ids the tour shows."""
    return migrated_sqlite_url


@pytest.fixture
def kv(app: Any, api: Api) -> Iterator[str]:
    """The API's base URL on a real server (the app of `api`, whose admin is admin 1)."""
    with serve_in_thread(app, lifespan="off") as url:
        yield f"{url}/api"


def endpoint_of(path: str) -> Endpoint:
    role, module, method = path.split("/")
    return ENDPOINTS[(role, module, method)]


def envelope_validator(endpoint: Endpoint) -> Any:
    """Validates an answer against the endpoint's documented envelope."""
    document = openapi()
    schema = {
        "$ref": f"#/components/schemas/{operation_name(endpoint)}Envelope",
        "components": document["components"],
    }
    return jsonschema_rs.validator_for(schema)


def fields(value: Any) -> Any:
    """The field names of an answer, and of the first item of a page's list."""
    if not isinstance(value, dict):
        return type(value).__name__
    names = sorted(value)
    items = value.get("list")
    if isinstance(items, list) and items:
        return names, sorted(items[0])
    return names


def run_curl(command: str, env: dict[str, str]) -> Any:
    done = subprocess.run(
        ["bash", "-c", command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_tour_covers_the_key_checks_and_names_only_real_endpoints() -> None:
    tour = examples.tour()
    assert set(tour) >= KEY_CHECKS
    assert all(endpoint_of(path) for path in tour)


def test_each_documented_curl_command_of_the_tour_answers_as_documented(kv: str, api: Api) -> None:
    env = {"KV": kv, "ADMIN": f"admin:{api.admin_token}"}
    for path, example in examples.tour().items():
        endpoint = endpoint_of(path)
        answer = run_curl(examples.curl(endpoint, example), env)
        assert answer["error"] is None, (path, answer)
        validator = envelope_validator(endpoint)
        validator.validate(answer)
        validator.validate({"result": example.answer, "error": None})
        assert fields(answer["result"]) == fields(example.answer), path
        if not isinstance(example.answer, dict | list):
            assert type(answer["result"]) is type(example.answer), path
        for variable, source in example.sets.items():
            env[variable] = answer["result"][source] if source else answer["result"]


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids="/".join)
def test_every_endpoints_example_has_its_documented_shape(key: Any) -> None:
    endpoint = ENDPOINTS[key]
    example = examples.of(endpoint)
    envelope_validator(endpoint).validate({"result": example.answer, "error": None})
    endpoint.params.model_validate(example.shown_params())
    operation = openapi()["paths"][endpoint.path]["post"]
    assert operation["requestBody"]["content"]["application/json"]["example"] == (
        example.shown_params()
    )
    assert examples.curl(endpoint, example).startswith("curl -s ")


def test_the_php_key_check_answers_true_for_a_valid_key_and_false_for_another(
    kv: str, active_order: dict[str, Any], tmp_path: Path
) -> None:
    script = tmp_path / "check.php"
    script.write_text(
        snippets.php(kv)
        + "$ok = keyvend_check($argv[1], $error);\n"
        + "echo json_encode(['valid' => $ok, 'error' => $error]);\n"
    )

    def check(key: str) -> Any:
        done = subprocess.run(["php", str(script), key], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert check(active_order["key"]) == {"valid": True, "error": None}
    assert check("NOT-A-KEY") == {"valid": False, "error": "API key does not exist"}


def test_the_javascript_key_check_answers_true_for_a_valid_key_and_false_for_another(
    kv: str, active_order: dict[str, Any], tmp_path: Path
) -> None:
    script = tmp_path / "check.mjs"
    script.write_text(
        snippets.javascript(kv)
        + "console.log(JSON.stringify(await keyvendCheck(process.argv[2])));\n"
    )

    def check(key: str) -> Any:
        done = subprocess.run(
            ["node", str(script), key], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert check(active_order["key"]) == {"valid": True, "error": None}
    assert check("NOT-A-KEY") == {"valid": False, "error": "API key does not exist"}
