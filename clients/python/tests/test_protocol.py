"""Reading FOSSBilling envelopes: every outcome of a get_info or verify call maps to one answer
or error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from keyvend_client import (
    ApiError,
    KeyInfo,
    Quota,
    RateLimited,
    ServerUnavailable,
    Unauthorized,
    Verification,
    VerifyCode,
)
from keyvend_client.protocol import decode, decode_verification, info_url, verify_url

VERIFIED = {
    "valid": True,
    "code": "VALID",
    "config": {"monthlyLimit": 250},
    "expires_at": "2027-01-01T14:10:28.493407+00:00",
    "quota": {"limit": 3, "remaining": 2, "reset_at": "2027-01-01T00:00:00+00:00"},
}


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


def test_the_verify_url_hangs_under_the_servers_root() -> None:
    expected = "https://billing.example.com/api/guest/serviceapikey/verify"
    assert verify_url("https://billing.example.com/") == expected


def test_a_verify_result_becomes_a_typed_verification() -> None:
    found = decode_verification(response(body={"result": VERIFIED, "error": None}))
    assert found == Verification(
        valid=True,
        code=VerifyCode.VALID,
        params={"monthlyLimit": 250},
        expires_at=datetime(2027, 1, 1, 14, 10, 28, 493407, tzinfo=UTC),
        quota=Quota(limit=3, remaining=2, reset_at=datetime(2027, 1, 1, tzinfo=UTC)),
    )
    assert found.code is VerifyCode.VALID


def test_an_unknown_key_is_a_not_found_result_without_quota() -> None:
    result = {"valid": False, "code": "NOT_FOUND", "config": {}, "expires_at": None, "quota": None}
    found = decode_verification(response(body={"result": result, "error": None}))
    assert found == Verification(valid=False, code=VerifyCode.NOT_FOUND)
    assert (found.params, found.expires_at, found.quota) == ({}, None, None)


def test_the_unknown_key_error_of_get_info_is_a_not_found_verification_too() -> None:
    body = {"result": None, "error": {"message": "API key does not exist", "code": 9999}}
    assert decode_verification(response(body=body)).code == VerifyCode.NOT_FOUND


def test_a_total_quota_never_resets_and_timestamps_keep_their_offset() -> None:
    result = VERIFIED | {
        "expires_at": "2027-01-01T10:00:00+02:00",
        "quota": {"limit": 5, "remaining": 0, "reset_at": None},
    }
    found = decode_verification(response(body={"result": result, "error": None}))
    assert found.expires_at == datetime(2027, 1, 1, 10, tzinfo=timezone(timedelta(hours=2)))
    assert found.quota == Quota(limit=5, remaining=0, reset_at=None)


def test_a_timestamp_without_offset_is_read_as_utc() -> None:
    result = VERIFIED | {"expires_at": "2027-01-01 10:00:00"}
    found = decode_verification(response(body={"result": result, "error": None}))
    assert found.expires_at == datetime(2027, 1, 1, 10, tzinfo=UTC)


def test_a_code_this_library_does_not_know_is_kept_as_sent() -> None:
    result = VERIFIED | {"valid": False, "code": "SOMETHING_NEW"}
    assert decode_verification(response(body={"result": result, "error": None})).code == (
        "SOMETHING_NEW"
    )


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"valid": True},
        {"code": "VALID"},
        VERIFIED | {"config": "x"},
        VERIFIED | {"expires_at": "tomorrow"},
        VERIFIED | {"expires_at": 1767225600},
        VERIFIED | {"quota": {"limit": "3", "remaining": 2}},
        VERIFIED | {"quota": {"limit": True, "remaining": 2}},
        VERIFIED | {"quota": [3, 2]},
    ],
)
def test_a_malformed_verify_result_is_server_unavailable(result: Any) -> None:
    with pytest.raises(ServerUnavailable):
        decode_verification(response(body={"result": result, "error": None}))


def test_http_401_is_unauthorized_with_the_servers_words() -> None:
    body = {"result": None, "error": {"message": "unknown application token", "code": 201}}
    for read in (decode, decode_verification):
        with pytest.raises(Unauthorized, match=r"\(HTTP 401\): unknown application token"):
            read(response(401, body=body))


def test_a_401_that_is_not_an_envelope_is_unauthorized_too() -> None:
    with pytest.raises(Unauthorized, match=r"HTTP 401\)$"):
        decode(response(401, content=b"<html>401 Authorization Required</html>"))


def test_error_code_201_is_unauthorized_whatever_the_status() -> None:
    body = {"result": None, "error": {"message": "Authentication Failed", "code": 201}}
    with pytest.raises(Unauthorized, match="Authentication Failed"):
        decode(response(200, body=body))
