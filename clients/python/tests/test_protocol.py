"""Reading FOSSBilling envelopes: every outcome of a get_info call maps to one answer or error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from keyvend_client import ApiError, KeyInfo, RateLimited, ServerUnavailable
from keyvend_client.protocol import decode, info_url


def response(status: int = 200, *, body: Any = None, **kwargs: Any) -> httpx.Response:
    return (
        httpx.Response(status, json=body, **kwargs)
        if body is not None
        else httpx.Response(status, **kwargs)
    )


def test_the_info_url_hangs_under_the_servers_root() -> None:
    expected = "https://billing.example.com/api/guest/serviceapikey/get_info"
    assert info_url("https://billing.example.com/") == expected


def test_a_keyvend_result_becomes_key_info() -> None:
    body = {"result": {"valid": True, "config": {"monthlyLimit": 250}}, "error": None}
    assert decode(response(body=body)) == KeyInfo(valid=True, params={"monthlyLimit": 250})


def test_a_fossbilling_result_with_numeric_valid_and_an_empty_php_array_is_understood() -> None:
    body = {"result": {"valid": 0, "config": []}, "error": None}
    assert decode(response(body=body)) == KeyInfo(valid=False, params={})


def test_the_unknown_key_error_means_the_key_does_not_exist() -> None:
    body = {"result": None, "error": {"message": "API key does not exist", "code": 9999}}
    assert decode(response(body=body)) is None


def test_http_429_is_rate_limited_with_the_retry_after_header() -> None:
    body = {"result": None, "error": {"message": "Too many requests", "code": 429}}
    with pytest.raises(RateLimited) as limited:
        decode(response(429, body=body, headers={"Retry-After": "17"}))
    assert limited.value.retry_after == 17


def test_a_rate_limit_without_a_usable_retry_after_waits_one_second() -> None:
    body = {"result": None, "error": {"message": "Too many requests", "code": 429}}
    with pytest.raises(RateLimited) as limited:
        decode(response(200, body=body, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert limited.value.retry_after == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_status_is_server_unavailable(status: int) -> None:
    with pytest.raises(ServerUnavailable, match=str(status)):
        decode(response(status, content=b"<html>oops</html>"))


def test_keyvends_own_outage_answer_is_server_unavailable_with_its_message() -> None:
    body = {"result": None, "error": {"message": "The database is unavailable", "code": 503}}
    with pytest.raises(ServerUnavailable, match="HTTP 503: The database is unavailable"):
        decode(response(503, body=body, headers={"Retry-After": "5"}))


@pytest.mark.parametrize(
    "content",
    [b"<html>login to the wifi</html>", b'{"detail": "Not Found"}', b"[]", b""],
)
def test_anything_but_an_envelope_is_server_unavailable(content: bytes) -> None:
    with pytest.raises(ServerUnavailable, match="check the base URL"):
        decode(response(200, content=content))


@pytest.mark.parametrize(
    "result", [None, True, {"config": {}}, {"valid": "yes"}, {"valid": True, "config": "x"}]
)
def test_a_malformed_result_is_server_unavailable(result: Any) -> None:
    with pytest.raises(ServerUnavailable):
        decode(response(body={"result": result, "error": None}))


def test_any_other_error_is_an_api_error_with_message_and_code() -> None:
    body = {"result": None, "error": {"message": "Module serviceapikey is not active", "code": 715}}
    with pytest.raises(ApiError) as error:
        decode(response(body=body))
    assert (error.value.message, error.value.code) == ("Module serviceapikey is not active", 715)
