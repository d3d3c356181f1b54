"""Mails from Jinja2 templates, one pair of files per mail.

`<name>.txt` holds two blocks, `subject` and `text` (plain text, not escaped); `<name>.html`
is the HTML body (autoescaped), usually extending `_layout.html`. A file of the same name in
the shop's `mail_templates` folder (`$KEYVEND_DATA_DIR/templates/email/`) overrides the
built-in one. An override that fails to render is logged and the built-in mail goes out
instead: a typo in a template must never undo the payment or order that sends the mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger("keyvend.mail")
BUILT_IN = Path(__file__).parent / "templates"
TEMPLATES = (
    "client_signup",
    "password_reset",
    "key_activated",
    "key_renewed",
    "key_suspended",
    "key_unsuspended",
    "key_canceled",
    "invoice_created",
    "invoice_paid",
    "invoice_reminder",
    "invoice_overdue",
    "staff_new_order",
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(name: str, context: dict[str, Any], *, overrides: Path | None = None) -> Rendered:
    """The subject, text and HTML of mail `name`, from `overrides` where a file is there."""
    if overrides is None:
        return _render(_environment(None), name, context)
    try:
        return _render(_environment(overrides), name, context)
    except Exception:
        log.exception("mail template %s in %s failed; sent the built-in one", name, overrides)
        return _render(_environment(None), name, context)


@cache
def _environment(overrides: Path | None) -> SandboxedEnvironment:
    # Sandboxed: the override folder is the operator's, but a template is still no place
    # to reach into Python objects.
    folders = [BUILT_IN] if overrides is None else [overrides, BUILT_IN]
    return SandboxedEnvironment(
        loader=FileSystemLoader(folders),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(environment: SandboxedEnvironment, name: str, context: dict[str, Any]) -> Rendered:
    text = environment.get_template(f"{name}.txt")
    blocks = text.new_context(context)
    subject = " ".join("".join(text.blocks["subject"](blocks)).split())
    body = "".join(text.blocks["text"](blocks)).strip() + "\n"
    html = environment.get_template(f"{name}.html").render(context)
    return Rendered(subject=subject, text=body, html=html)
