"""Which errors each endpoint can answer, for `/openapi.json` (`x-keyvend-errors`) and `/docs`.

The one mapping. Most of it follows from what the registry already declares: the role (who must
be logged in), the rate-limit policies, application tokens, the parameters (a parameter naming
a record can name one that does not exist). What only the services know (a state that forbids
the call, an inactive module, a payment gateway) is listed per call in `SPECIFIC`; a test keeps
that table to registered endpoints and real error classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyvend.api.hot_path import CALLS as KEY_CHECKS
from keyvend.api.registry import Endpoint
from keyvend.domain import errors as e

# Parameters that name a record: a call naming one that does not exist answers NotFound.
RECORD_PARAMS = frozenset(
    {"id", "order_id", "client_id", "product_id", "invoice_id", "webhook_id", "hash", "key"}
)


@dataclass(frozen=True)
class ErrorDoc:
    """An error an endpoint can answer, and when."""

    error: type[e.KeyvendError]
    when: str

    @property
    def code(self) -> int:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status

    def as_json(self) -> dict[str, object]:
        """The `x-keyvend-errors` item."""
        return {
            "code": self.code,
            "status": self.status,
            "error": self.error.__name__,
            "title": self.error.title,
            "when": self.when,
        }


BAD_INPUT = ErrorDoc(e.InvalidInput, "a parameter is missing, of the wrong type or breaks its rule")
BAD_BODY = ErrorDoc(e.MalformedBody, "the body is not JSON, a form or a query string")
TOO_LARGE = ErrorDoc(e.BodyTooLarge, "the body is over 1 MB")
BAD_CREDENTIALS = ErrorDoc(e.Unauthenticated, "the credentials sent are wrong")
LIMITED = ErrorDoc(e.RateLimited, "over a rate limit; Retry-After says when to retry")
DOWN = ErrorDoc(e.ServiceUnavailable, "the database is unreachable; Retry-After says when")
ROLE_ERRORS: dict[str, tuple[ErrorDoc, ...]] = {
    "guest": (),
    "client": (
        ErrorDoc(e.ClientRequired, "no client credentials"),
        ErrorDoc(e.CsrfRejected, "a session call without its X-CSRF-Token header"),
        ErrorDoc(e.SessionExpired, "the session cookie names no live session"),
        ErrorDoc(e.AccountDisabled, "the client account is not active"),
    ),
    "admin": (
        ErrorDoc(e.AdminRequired, "no admin credentials"),
        ErrorDoc(e.CsrfRejected, "a session call without its X-CSRF-Token header"),
        ErrorDoc(e.SessionExpired, "the session cookie names no live session"),
    ),
}
MISSING = ErrorDoc(e.NotFound, "the record named does not exist (or is not yours)")
NO_SUCH_KEY = ErrorDoc(e.NotFound, 'no such key: "API key does not exist"')
NO_KEY = ErrorDoc(
    e.InvalidInput,
    'key is missing, empty or blank: "You must provide an API key to check it\'s validity."',
)
BAD_TOKEN = ErrorDoc(e.Unauthenticated, "a wrong application token (Bearer)")
KEYS_OFF = ErrorDoc(e.ModuleInactive, "the serviceapikey extension is not active")
LOGIN = (
    ErrorDoc(e.LoginFailed, "wrong email or password"),
    ErrorDoc(e.AccountDisabled, "the account is not active"),
)
GATEWAY = ErrorDoc(e.GatewayError, "the payment gateway refused or could not be reached")


def _state(what: str) -> ErrorDoc:
    return ErrorDoc(e.Conflict, what)


ORDER_STATE = _state("the order's status does not allow this action")
INVOICE_STATE = _state("the invoice's status does not allow this action")
EMAIL_TAKEN = _state("another account already has this email")
# The key checks (`KEY_CHECKS`) say "no such key" in their own words (verify: with code
# NOT_FOUND).
KEY_CHECK = (NO_KEY, NO_SUCH_KEY, KEYS_OFF, BAD_TOKEN)

# What the registry does not say: errors that come from the state a call meets.
SPECIFIC: dict[tuple[str, str, str], tuple[ErrorDoc, ...]] = {
    ("guest", "serviceapikey", "check"): KEY_CHECK,
    ("guest", "serviceapikey", "get_info"): KEY_CHECK,
    ("guest", "serviceapikey", "verify"): (NO_KEY, KEYS_OFF, BAD_TOKEN),
    ("admin", "serviceapikey", "update"): (
        KEYS_OFF,
        _state("api_key differs from the current key: use reset to change it"),
    ),
    ("admin", "serviceapikey", "reset"): (
        KEYS_OFF,
        ErrorDoc(e.InvalidInput, "neither order_id nor key is given"),
    ),
    ("client", "serviceapikey", "reset"): (
        KEYS_OFF,
        ErrorDoc(e.InvalidInput, "neither order_id nor key is given"),
    ),
    ("admin", "order", "create"): (KEYS_OFF, _state("the product has no such period")),
    ("admin", "order", "activate"): (ORDER_STATE, KEYS_OFF),
    ("admin", "order", "renew"): (ORDER_STATE, KEYS_OFF),
    ("admin", "order", "suspend"): (ORDER_STATE,),
    ("admin", "order", "unsuspend"): (ORDER_STATE,),
    ("admin", "order", "cancel"): (ORDER_STATE,),
    ("admin", "order", "uncancel"): (ORDER_STATE,),
    ("admin", "order", "service"): (KEYS_OFF, ErrorDoc(e.NotFound, "the order has no key yet")),
    ("client", "order", "service"): (KEYS_OFF, ErrorDoc(e.NotFound, "the order has no key yet")),
    ("admin", "product", "delete"): (
        _state("the product has pending, active or suspended orders"),
    ),
    ("admin", "client", "create"): (EMAIL_TAKEN,),
    ("admin", "client", "update"): (EMAIL_TAKEN,),
    ("guest", "client", "create"): (
        EMAIL_TAKEN,
        ErrorDoc(e.InvalidInput, "sign-up is turned off, or the two passwords differ"),
    ),
    ("admin", "staff", "create"): (EMAIL_TAKEN,),
    ("admin", "staff", "update"): (EMAIL_TAKEN,),
    ("admin", "staff", "delete"): (_state("it is the last administrator"),),
    ("admin", "profile", "change_email"): (EMAIL_TAKEN,),
    ("client", "profile", "change_email"): (EMAIL_TAKEN,),
    ("admin", "invoice", "mark_as_paid"): (INVOICE_STATE,),
    ("admin", "invoice", "refund"): (INVOICE_STATE,),
    ("admin", "invoice", "cancel"): (INVOICE_STATE,),
    ("admin", "invoice", "retry_tasks"): (INVOICE_STATE,),
    ("admin", "invoice", "renewal_invoice"): (_state("the order cannot be renewed for money"),),
    ("client", "invoice", "renewal_invoice"): (_state("the order cannot be renewed for money"),),
    ("guest", "invoice", "payment"): (INVOICE_STATE,),
    ("client", "cart", "checkout"): (KEYS_OFF, _state("an item's product or period is gone")),
    ("admin", "webhook", "retry"): (_state("the delivery is being sent right now"),),
}


def errors_of(endpoint: Endpoint) -> list[ErrorDoc]:
    """Every error `endpoint` can answer, the common ones first, each code and reason once."""
    fields = set(endpoint.params.model_fields)
    found: list[ErrorDoc] = []
    if fields:
        found.append(BAD_INPUT)
    if fields & RECORD_PARAMS and endpoint.path not in KEY_CHECKS:
        found.append(MISSING)
    found += [BAD_BODY, TOO_LARGE, BAD_CREDENTIALS, *ROLE_ERRORS[endpoint.role]]
    if "login" in endpoint.limits:
        found += LOGIN
    found += SPECIFIC.get((endpoint.role, endpoint.module, endpoint.method), ())
    if endpoint.gateway:
        found.append(GATEWAY)
    found += [LIMITED, DOWN]
    return _once(found)


def _once(found: list[ErrorDoc]) -> list[ErrorDoc]:
    return list(dict.fromkeys(found))
