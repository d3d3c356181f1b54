"""How pages read posted forms: size limits refuse a body cleanly, values arrive cleaned."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.datastructures import UploadFile
from starlette.testclient import TestClient

from keyvend.edge.cookies import SESSION_COOKIE
from keyvend.web.form_body import MAX_BODY, MAX_FIELDS, MAX_NAME, MAX_PART_BYTES, MAX_VALUE, clean
from keyvend.web.forms import Form, checked
from tests.web.conftest import CLIENT_PASSWORD, Browsing, flash_of

BOUNDARY = "keyvend-test-boundary"
TWO_MB = 2 * 1024 * 1024


def multipart(fields: list[tuple[str, str]], files: int = 0) -> bytes:
    """A multipart/form-data body with text `fields` and `files` small file parts."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    parts += [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nx\r\n"
        for i in range(files)
    ]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


def login_fields(web: Browsing, email: str) -> list[tuple[str, str]]:
    return [("csrf", web.csrf), ("email", email), ("password", CLIENT_PASSWORD)]


def chunks(body: bytes) -> Iterator[bytes]:
    """The body as a stream: sent chunked, without a Content-Length."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def refused_body(case: str, fields: list[tuple[str, str]]) -> tuple[Any, dict[str, str], int]:
    """A login body with the right token and password, its headers, and the status it gets."""
    padded = urlencode([*fields, ("pad", "x" * TWO_MB)]).encode()
    many = [*fields, *((f"p{i}", "y" * 2100) for i in range(999 - len(fields)))]
    too_many = [*fields, *((f"p{i}", "z") for i in range(MAX_FIELDS))]
    long_field = urlencode([*fields, ("pad", "w" * (MAX_PART_BYTES + 1))]).encode()
    cases = {
        "2 MB urlencoded": (padded, URLENCODED, 413),
        "2 MB urlencoded, chunked": (chunks(padded), URLENCODED, 413),
        "999 multipart parts, 2 MB": (multipart(many), MULTIPART, 413),
        "999 multipart parts, files": (multipart(fields, files=999 - len(fields)), MULTIPART, 403),
        "more multipart parts than fields allowed": (multipart(too_many), MULTIPART, 403),
        "one field over the part limit": (long_field, URLENCODED, 403),
        "multipart without a boundary": (b"--x--", {"content-type": "multipart/form-data"}, 403),
    }
    return cases[case]


REFUSED = [
    "2 MB urlencoded",
    "2 MB urlencoded, chunked",
    "999 multipart parts, 2 MB",
    "999 multipart parts, files",
    "more multipart parts than fields allowed",
    "one field over the part limit",
    "multipart without a boundary",
]
TITLES = {413: "Form too large", 403: "Form expired"}


@pytest.mark.parametrize("case", REFUSED)
def test_an_oversized_or_malformed_login_form_gets_an_error_page_and_logs_nobody_in(
    app: Any, customer: dict[str, Any], case: str
) -> None:
    web = Browsing(TestClient(app))
    web.get("/")
    body, headers, status = refused_body(case, login_fields(web, customer["email"]))
    page = web.client.post("/login", content=body, headers=headers)
    assert page.status_code == status
    assert f"<h1>{TITLES[status]}</h1>" in page.text
    assert SESSION_COOKIE not in page.cookies
    assert 'action="/login"' in web.get("/").text  # still the login form, nobody logged in


def test_a_multipart_login_within_the_limits_logs_in(app: Any, customer: dict[str, Any]) -> None:
    web = Browsing(TestClient(app))
    web.get("/")
    fields = login_fields(web, customer["email"])
    body = multipart([*fields, *((f"p{i}", "y" * 100) for i in range(999 - len(fields)))])
    assert len(body) < MAX_BODY
    page = web.client.post("/login", content=body, headers=MULTIPART)
    assert page.status_code == 200 and flash_of(page.text) == "Welcome back, jo@example.com."


def test_a_nul_character_in_a_form_value_is_dropped(app: Any, customer: dict[str, Any]) -> None:
    web = Browsing(TestClient(app))
    web.get("/")
    page = web.post("/login", {"email": "jo@example.com\x00", "password": CLIENT_PASSWORD})
    assert page.status_code == 200 and flash_of(page.text) == "Welcome back, jo@example.com."


def test_posted_fields_are_cut_to_their_limits_and_files_are_dropped() -> None:
    upload = UploadFile(io.BytesIO(b"data"), filename="a.txt")
    form = clean(
        [("n" * 300, "v"), ("long", "x" * (MAX_VALUE + 5)), ("nul", "a\x00b"), ("file", upload)]
    )
    assert form.getlist("n" * MAX_NAME) == ["v"]
    assert form.get("long", "") == "x" * MAX_VALUE
    assert form.get("nul", "") == "ab"
    assert "file" not in form


@pytest.mark.parametrize(
    ("sent", "ticked"), [("1", True), ("on", True), (" Yes ", True), ("TRUE", True), ("0", False)]
)
def test_a_checkbox_is_ticked_by_the_usual_values(sent: str, ticked: bool) -> None:
    assert checked(Form({"confirm": sent}), "confirm") is ticked
    assert checked(Form(), "confirm") is False
