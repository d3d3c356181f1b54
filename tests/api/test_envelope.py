"""One error shape for every failure, with the HTTP status DESIGN.md section 3 gives each code."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from starlette.responses import JSONResponse

from keyvend.api.envelope import error_response, failure, ok
from keyvend.db.unit_of_work import CONFLICT_MESSAGE
from keyvend.domain import errors
from keyvend.domain.errors import (
    AccountDisabled,
    AdminRequired,
    BodyTooLarge,
    ClientRequired,
    Conflict,
    CsrfRejected,
    Forbidden,
    GatewayError,
    InvalidInput,
    KeyvendError,
    LoginFailed,
    MalformedBody,
    MalformedCall,
    MethodNotFound,
    ModuleInactive,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    SessionExpired,
    Unauthenticated,
    error_classes,
)
from tests.conftest import Api

# DESIGN.md section 3: the code and HTTP status of every error class.
CLASS_CODE_STATUS: list[tuple[type[KeyvendError], int, int]] = [
    (KeyvendError, 9999, 200),
    (InvalidInput, 9999, 200),
    (NotFound, 9999, 200),
    (Conflict, 9999, 200),
    (GatewayError, 9999, 200),
    (Unauthenticated, 201, 401),
    (LoginFailed, 201, 401),
    (ClientRequired, 202, 401),
    (AdminRequired, 203, 401),
    (CsrfRejected, 204, 401),
    (SessionExpired, 205, 401),
    (AccountDisabled, 206, 401),
    (Forbidden, 403, 403),
    (RateLimited, 429, 429),
    (ServiceUnavailable, 503, 503),
    (MalformedBody, 701, 400),
    (BodyTooLarge, 701, 413),
    (ModuleInactive, 715, 200),
    (MethodNotFound, 740, 404),
    (MalformedCall, 879, 400),
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


def instance(cls: type[KeyvendError]) -> KeyvendError:
    """An instance of any error class, whatever its constructor takes."""
    if cls is RateLimited:
        return RateLimited(3)
    if cls is ModuleInactive:
        return ModuleInactive("serviceapikey")
    return cls(f"failure of {cls.__name__}")


def test_the_table_covers_every_error_class() -> None:
    assert {cls for cls, _, _ in CLASS_CODE_STATUS} == set(error_classes())


@pytest.mark.parametrize(("cls", "code", "status"), CLASS_CODE_STATUS)
def test_every_error_class_carries_its_code_and_status(
    cls: type[KeyvendError], code: int, status: int
) -> None:
    assert (cls.code, cls.status) == (code, status)
    assert cls.title and cls.title[0].isupper()


@pytest.mark.parametrize(("cls", "code", "status"), CLASS_CODE_STATUS)
def test_every_error_class_becomes_the_envelope_with_its_status(
    cls: type[KeyvendError], code: int, status: int
) -> None:
    exc = instance(cls)
    error = assert_canonical_error(error_response(exc), code=code, status=status)
    assert error["message"] == exc.message
    assert_canonical_error(failure(exc), code=code, status=status)


def test_every_code_is_a_named_constant_of_the_error_module() -> None:
    constants = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, int)}
    assert {cls.code for cls in error_classes()} <= constants


def test_invalid_input_names_its_field() -> None:
    assert InvalidInput("title is required", field="title").field == "title"
    assert InvalidInput("no field").field is None
    assert NotFound("gone").field is None


def test_service_unavailable_answers_carry_retry_after() -> None:
    response = error_response(ServiceUnavailable("The database is unreachable", retry_after=7))
    assert_canonical_error(response, code=503, status=503)
    assert response.headers["retry-after"] == "7"


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
    assert error["message"] == CONFLICT_MESSAGE


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
        (b"garbage", "multipart/form-data"),
        (b"garbage", "multipart/form-data; boundary=x"),
        (
            b"--x\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
    ],
)
@pytest.mark.parametrize("path", ["guest/serviceapikey/check", "guest/product/get_list"])
def test_a_malformed_body_is_701_with_http_400_and_logs_no_traceback(
    api: Api, body: bytes, content_type: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = api.client.post(f"/api/{path}", content=body, headers={"content-type": content_type})
    assert_canonical_error(response, code=701, status=400)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


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


def test_a_server_fault_is_logged_once_a_minute_not_once_per_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(Exception):
        pass

    def fault() -> Exception:
        try:
            raise Broken("our own bug")
        except Broken as exc:
            return exc

    for _ in range(5):
        assert error_response(fault()).status_code == 500
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is Broken]
    assert len(logged) == 1
