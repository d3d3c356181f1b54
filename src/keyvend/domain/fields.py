"""Rules for plain fields shared by several modules: emails, names, titles."""

from __future__ import annotations

import re

from keyvend.domain.errors import InvalidInput

_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}")


def email_address(value: str) -> str:
    """A normalised (lower-case) email address, or InvalidInput."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if len(text) > 255 or not _EMAIL.fullmatch(text):
        raise InvalidInput("email must be a valid email address", field="email")
    return text


def text(value: str | None, *, name: str, max_length: int, required: bool = False) -> str:
    """Trimmed text of at most `max_length` characters; required means non-empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} is required", field=name)
    if len(value) > max_length:
        raise InvalidInput(f"{name} must be at most {max_length} characters", field=name)
    return value


def choice(value: str, *, name: str, options: tuple[str, ...]) -> str:
    """One of `options`, or InvalidInput listing them."""
    if value not in options:
        raise InvalidInput(f"{name} must be one of {', '.join(options)}", field=name)
    return value
