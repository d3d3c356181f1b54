"""One error shape for every failure, with the HTTP status DESIGN.md section 3 gives each code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from starlette.responses import JSONResponse

from keyvend.api.envelope import error_response, failure, http_status, ok
from keyvend.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    KeyvendError,
    MalformedCall,
    MethodNotFound,
    ModuleInactive,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from tests.conftest import Api

CODE_STATUS = [
    (201, 401),
    (202, 401),
    (203, 401),
    (204, 401),
    (205, 401),
    (206, 401),
    (403, 403),
    (740, 404),
    (879, 400),
    (701, 400),
    (429, 429),
    (715, 200),
    (9999, 200),
]


def assert_canonical_error(response: Any, *, code: int, status: int) -> dict[str, Any]:
    """The response is `{"result": null, "error": {"message", "code"}}` with `status`."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.body if isinstance(response, JSONResponse) else response.content)
    assert set(body) == {"result", "error"}
    assert body["result"] is None
    assert set(body["error"]) == {"message", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["code"] == code
    assert "Traceback" not in body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize(("code", "status"), CODE_STATUS)
def test_every_error_code_maps_to_its_http_status(code: int, status: int) -> None:
    assert http_status(code) == status
    assert_canonical_error(failure(f"failure {code}", code), code=code, status=status)


@pytest.mark.parametrize(("code", "status"), CODE_STATUS)
def test_every_error_code_raised_as_a_keyvend_error_becomes_the_envelope(
    code: int, status: int
) -> None:
    exc = RateLimited(3) if code == 429 else KeyvendError(f"failure {code}", code)
    error = assert_canonical_error(error_response(exc), code=code, status=status)
    assert error["message"] == exc.message


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (InvalidInput("bad"), 9999, 200),
        (NotFound("missing"), 9999, 200),
        (Conflict("busy"), 9999, 200),
        (Unauthenticated("who?"), 201, 401),
        (Unauthenticated("not a client", 202), 202, 401),
        (Forbidden("no"), 403, 403),
        (ModuleInactive("serviceapikey"), 715, 200),
        (MethodNotFound("nope", 740), 740, 404),
        (MalformedCall("what?"), 879, 400),
        (MalformedCall("unreadable", 701), 701, 400),
        (RateLimited(12), 429, 429),
    ],
)
def test_each_exception_class_carries_its_code(exc: KeyvendError, code: int, status: int) -> None:
    assert_canonical_error(error_response(exc), code=code, status=status)


def test_rate_limited_answers_carry_retry_after_in_whole_seconds() -> None:
    response = error_response(RateLimited(42))
    assert_canonical_error(response, code=429, status=429)
    assert response.headers["retry-after"] == "42"
    assert json.loads(response.body)["error"]["message"] == (
        "Too many requests. Try again in 42 seconds."
    )


def test_a_database_conflict_is_a_generic_9999_without_details() -> None:
    exc = IntegrityError("INSERT INTO clients ...", {}, Exception("UNIQUE constraint failed"))
    error = assert_canonical_error(error_response(exc), code=9999, status=200)
    assert "INSERT" not in error["message"] and "UNIQUE" not in error["message"]


def test_an_unexpected_exception_is_an_opaque_500_envelope_without_a_stack_trace() -> None:
    response = error_response(ZeroDivisionError("secret detail"))
    error = assert_canonical_error(response, code=9999, status=500)
    assert error["message"] == "Internal server error"
    assert b"secret detail" not in response.body


def test_success_is_the_result_with_a_null_error() -> None:
    response = ok({"a": 1})
    assert response.status_code == 200
    assert json.loads(response.body) == {"result": {"a": 1}, "error": None}


@pytest.mark.parametrize(
    "path",
    [
        "/api/guest/serviceapikey/nope",
        "/api/guest/nomodule/check",
        "/api/client/serviceapikey/check",  # exists for guests only
        "/api/admin/cart/checkout",  # exists for clients only
    ],
)
def test_an_unknown_method_or_module_is_740_with_http_404(api: Api, path: str) -> None:
    for response in (api.client.post(path, json={}), api.client.get(path)):
        error = assert_canonical_error(response, code=740, status=404)
        assert "does not exist" in error["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/foo", "/api/", "/api/root/product/get", "/api/guest/product", "/api/a/b/c/d"],
)
def test_an_unknown_role_or_a_path_that_is_not_a_call_is_879_with_http_400(
    api: Api, path: str
) -> None:
    assert_canonical_error(api.client.post(path, json={}), code=879, status=400)


def test_other_http_methods_are_879_with_http_400(api: Api) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = api.client.request(method, "/api/guest/product/get_list")
        assert_canonical_error(response, code=879, status=400)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"key": ', "application/json"),
        (b"{'key': 'x'}", "application/json"),
        (b"not json at all", "text/plain"),
        (b'["key", "x"]', "application/json"),
        (b'"key"', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (b"[" * 100_000, "application/json"),
        (b"key=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"{" + b" " * 1_000_001 + b"}", "application/json"),
    ],
)
def test_a_malformed_body_is_701_with_http_400(api: Api, body: bytes, content_type: str) -> None:
    response = api.client.post(
        "/api/guest/serviceapikey/check", content=body, headers={"content-type": content_type}
    )
    assert_canonical_error(response, code=701, status=400)


def test_a_guest_call_answers_9999_with_http_200_for_a_service_error(api: Api) -> None:
    response = api.client.post("/api/guest/serviceapikey/check", json={"key": "nope"})
    error = assert_canonical_error(response, code=9999, status=200)
    assert error["message"] == "API key does not exist"


def test_bad_basic_credentials_are_201_with_http_401(api: Api) -> None:
    for headers in (
        {"authorization": "Bearer abc"},
        {"authorization": "Basic !!!"},
        {"authorization": "Basic " + "bm9jb2xvbg=="},  # "nocolon"
    ):
        response = api.client.post("/api/admin/product/get_list", headers=headers)
        assert_canonical_error(response, code=201, status=401)
