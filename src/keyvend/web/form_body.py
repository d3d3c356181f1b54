"""Reading a page's posted form: the body within its size limits, then the cleaned text fields.

Page forms are small (the largest, a product with a hundred custom parameters of a thousand
characters, is about 100 kB), so a body over `MAX_BODY` is refused before it is parsed. A
malformed body reads as an empty form: its missing CSRF field then gets the form-expired page,
never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from keyvend.web.forms import Form, empty_form

MAX_BODY = 1_000_000
MAX_FIELDS = 1000
MAX_NAME = 100
MAX_VALUE = 20_000
# Room for MAX_VALUE characters of 4-byte UTF-8, percent-encoded; only a value that would be
# cut to MAX_VALUE anyway can be larger.
MAX_PART_BYTES = 256 * 1024


async def read_form(request: Request) -> Form | None:
    """The posted text fields, cleaned; empty for a malformed body, None for a too large one."""
    try:
        body = await _body_within_limit(request)
        if body is None:
            return None
        # A Request over the body already read: Starlette parses it with its own limits.
        raw = await Request(request.scope, _replay(body)).form(
            max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES
        )
    except (HTTPException, MultiPartException, ClientDisconnect):  # Starlette's refusals
        return empty_form()
    return clean(raw.multi_items())


def clean(items: Iterable[tuple[str, str | UploadFile]]) -> Form:
    """Text fields only, names and values cut to their limits, without NUL characters."""
    # NUL never belongs in a form value, and PostgreSQL refuses it in text columns.
    return Form(
        (name[:MAX_NAME], value[:MAX_VALUE].replace("\x00", ""))
        for name, value in items
        if isinstance(value, str)
    )


async def _body_within_limit(request: Request) -> bytes | None:
    """The whole body, or None as soon as it is known to be over MAX_BODY (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a chunked body declares no length
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
