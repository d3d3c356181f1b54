"""The headers every page and its JSON answers carry: no caching, no framing, own scripts only."""

from __future__ import annotations

from collections.abc import Iterable

FORM_ACTION = "form-action 'self'"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def forms_may_lead_to(origins: Iterable[str]) -> dict[str, str]:
    """The page's policy with its forms also allowed to lead to `origins`: a Pay form whose
    answer redirects to a gateway's payment page (browsers check form-action on redirects)."""
    extra = " ".join(origins)
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    return {"Content-Security-Policy": policy.replace(FORM_ACTION, f"{FORM_ACTION} {extra}")}
