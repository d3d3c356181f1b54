"""WSGI middleware: only requests with a valid key reach the application."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from keyvend_client.access import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    STATE_KEY,
    Cost,
    Denial,
    KeyChecker,
    KeySource,
    checked_cost,
    cost_of,
    judge,
)


class KeyvendWSGIMiddleware:
    """Checks the key of every request with a `KeyvendClient` (Flask, Django, Bottle, ...).

    A missing or invalid key gets 401 in JSON (`{"detail": ...}`), a key that cannot be verified
    503; a valid key is handed to the application as `environ["keyvend"]`, a `VerifiedKey` with
    the key's custom parameters (Flask: `request.environ["keyvend"]`).

    With a `cost` (a whole number, or a function of the environ) every request is verified with
    the server, spending that much of the key's quota; a spent quota or rate limit gets 429.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        client: KeyChecker,
        header: str = DEFAULT_HEADER,
        query_param: str | None = DEFAULT_QUERY_PARAM,
        exempt_paths: Collection[str] = (),
        cost: Cost[WSGIEnvironment] = None,
    ) -> None:
        self.app = app
        self._client = client
        self._cost = checked_cost(cost)
        self._source = KeySource(header, query_param)
        self._environ_header = "HTTP_" + header.upper().replace("-", "_")
        self._exempt = frozenset(exempt_paths)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self._exempt:
            return self.app(environ, start_response)
        key = self._source.find(environ.get(self._environ_header), environ.get("QUERY_STRING", ""))
        cost = None if key is None else cost_of(self._cost, environ)
        outcome = judge(self._client, self._source, key, cost)
        if isinstance(outcome, Denial):
            return _refuse(outcome, start_response)
        environ[STATE_KEY] = outcome
        return self.app(environ, start_response)


def _refuse(denial: Denial, start_response: StartResponse) -> list[bytes]:
    body = denial.body()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(denial.status_line, headers + list(denial.headers().items()))
    return [body]
