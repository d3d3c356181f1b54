"""WSGI middleware: only requests with a valid key reach the application."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from keyvend_client.access import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    STATE_KEY,
    Denial,
    KeyChecker,
    KeySource,
    judge,
)


class KeyvendWSGIMiddleware:
    """Checks the key of every request with a `KeyvendClient` (Flask, Django, Bottle, ...).

    A missing or invalid key gets 401 in JSON (`{"detail": ...}`), a key that cannot be verified
    503; a valid key is handed to the application as `environ["keyvend"]`, a `VerifiedKey` with
    the key's custom parameters (Flask: `request.environ["keyvend"]`).
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        client: KeyChecker,
        header: str = DEFAULT_HEADER,
        query_param: str | None = DEFAULT_QUERY_PARAM,
        exempt_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self._client = client
        self._source = KeySource(header, query_param)
        self._environ_header = "HTTP_" + header.upper().replace("-", "_")
        self._exempt = frozenset(exempt_paths)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self._exempt:
            return self.app(environ, start_response)
        key = self._source.find(environ.get(self._environ_header), environ.get("QUERY_STRING", ""))
        outcome = judge(self._client, self._source, key)
        if isinstance(outcome, Denial):
            return _refuse(outcome, start_response)
        environ[STATE_KEY] = outcome
        return self.app(environ, start_response)


def _refuse(denial: Denial, start_response: StartResponse) -> list[bytes]:
    body = denial.body()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(denial.status_line, headers + list(denial.headers().items()))
    return [body]
