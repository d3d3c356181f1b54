"""Reading values out of a submitted form: numbers, record ids, checkboxes, a new password
typed twice; and a refused form's message in words for people (`refusal`).

A handler's form is a `Form`, Starlette's multidict of the posted text fields (see
`form_body.read_form`): `form.get(name, "")` is one value, `form.getlist(name)` every value of
a repeated field.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import ImmutableMultiDict

from keyvend.domain.errors import InvalidInput, KeyvendError

# Starlette's FormData holds str | UploadFile; page forms never keep files, so their type says so.
Form = ImmutableMultiDict[str, str]
MAX_ID = 2**31 - 1
CHECKED = frozenset({"1", "on", "true", "yes"})


def empty_form() -> Form:
    """The form of a request that posted nothing (every GET)."""
    return ImmutableMultiDict()


def checked(form: Form, name: str) -> bool:
    """Whether a checkbox was ticked (browsers send "on"; scripts and tests "1" or "true")."""
    return form.get(name, "").strip().lower() in CHECKED


def is_number(text: str) -> bool:
    """Only ASCII digits (`"²".isdigit()` is true, yet int() refuses it)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def form_id(text: str, what: str) -> int:
    """A record id chosen in a form; InvalidInput naming `what` when there is none."""
    text = text.strip()
    if not is_number(text) or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"{what} is required: choose one from the list", field=what)
    return int(text)


def new_password(form: Form) -> str:
    """The new password typed twice (`password`, `password_confirm`); InvalidInput at the
    repeat field when the two differ."""
    password = form.get("password", "")[:256]
    if password != form.get("password_confirm", "")[:256]:
        raise InvalidInput("The two passwords do not match", field="password_confirm")
    return password


def refusal(exc: KeyvendError, labels: Mapping[str, str]) -> dict[str, str | None]:
    """`error` and `bad` for a form shown again: the message in words for people (its field
    named by the form's label, "First name is required") and, when the form has that field,
    the field to show it at; otherwise `bad` is None and the message goes above the form."""
    field = exc.field if exc.field in labels else None
    message = exc.message
    if field and message.startswith(f"{field} "):
        message = labels[field] + message[len(field) :]
    return {"error": message, "bad": field}
