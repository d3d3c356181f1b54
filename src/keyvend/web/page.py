"""The `page` decorator and the request context `Ctx` it hands to every page handler.

A handler is a plain function `(ctx) -> Response` that runs in a worker thread. The `page`
decorator resolves who is calling, refuses a POST whose hidden `csrf` field does not match, and
turns a service error the handler did not catch into an error page (never a 500 for bad input).
Logged-in users' forms carry their session's CSRF token; forms shown before login (log in, sign
up) carry a double-submit token from the `keyvend_form` cookie.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from keyvend.adapters.gateways.base import Gateways
from keyvend.api.registry import ENDPOINTS
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database, acting_as
from keyvend.domain.errors import KeyvendError, NotFound, ServiceUnavailable
from keyvend.domain.vault import new_token
from keyvend.edge import csrf
from keyvend.edge.cookies import (
    FLASH_COOKIE,
    FORM_COOKIE,
    SESSION_COOKIE,
    Cookie,
    login_cookies,
    write_cookies,
)
from keyvend.edge.off_loop import in_thread
from keyvend.edge.ratelimit import Verdict, guard
from keyvend.services import auth
from keyvend.services.auth import Actor, Role
from keyvend.templates import render_template
from keyvend.web.error_pages import error_page, form_expired_page, form_too_large_page
from keyvend.web.form_body import read_form
from keyvend.web.forms import MAX_ID, Form, empty_form, is_number
from keyvend.web.security_headers import SECURITY_HEADERS

MAX_PAGE = 100_000
FORM_COOKIE_SECONDS = 24 * 3600
FLASH_COOKIE_SECONDS = 120
LOGIN_PAGES: dict[Role, str] = {"admin": "/admin", "client": "/"}

T = TypeVar("T")
Handler = Callable[["Ctx"], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


class RecordId(Convertor[int]):
    """`{id:id}` in page routes: a record id of at most 18 digits. Longer ones match no
    route (a 404), where `{id:int}` would hand int() thousands of digits and answer 500."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", RecordId())


@dataclass
class Ctx:
    """One request as a handler sees it: caller, CSRF token, form, and response helpers."""

    request: Request
    actor: Actor | None
    csrf: str
    form: Form = field(default_factory=empty_form)
    new_form_token: str | None = None
    cookies: list[Cookie] = field(default_factory=list)  # set on the response it returns

    @property
    def db(self) -> Database:
        database: Database = self.request.app.state.db
        return database

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def gateways(self) -> Gateways:
        gateways: Gateways = self.request.app.state.gateways
        return gateways

    @property
    def actor_id(self) -> int:
        assert self.actor is not None, "the page decorator guarantees an actor"
        return self.actor.id

    @property
    def session_digest(self) -> str | None:
        """How the sessions table knows this request's session (to keep it on a password
        change that logs out every other one)."""
        token = self.request.cookies.get(SESSION_COOKIE)
        return self.db.vault.token_digest(token) if token else None

    def path_int(self, name: str) -> int:
        """An id from the path; ids beyond the database's integers do not exist."""
        value = int(self.request.path_params[name])
        if not 1 <= value <= MAX_ID:
            raise NotFound("Not found")
        return value

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)[:255]

    def page_number(self) -> int:
        """The `page` query parameter of a list, within 1 to MAX_PAGE."""
        text = self.query("page", "1")
        return min(int(text), MAX_PAGE) if is_number(text) and int(text) > 0 else 1

    def wants_json(self) -> bool:
        return "application/json" in self.request.headers.get("accept", "")

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        """An HTML page with the caller, CSRF token, shop currency and any flash message."""
        flash = self.request.cookies.get(FLASH_COOKIE)
        html = render_template(
            template,
            actor=self.actor,
            csrf=self.csrf,
            flash=unquote(flash)[:300] if flash else None,
            path=self.request.url.path,
            currency=self.db.shop.currency,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        if flash:
            self.cookies.append(Cookie(FLASH_COOKIE, None))
        return self._finish(response)

    def redirect(self, url: str, message: str | None = None) -> Response:
        """POST-redirect-GET; the message is shown once on the next page."""
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        if message:
            self.cookies.append(Cookie(FLASH_COOKIE, quote(message), FLASH_COOKIE_SECONDS))
        return self._finish(response)

    def json(self, data: Any, status: int = 200) -> Response:
        return self._finish(JSONResponse(data, status_code=status, headers=SECURITY_HEADERS))

    def limited(self, call: tuple[str, str, str], run: Callable[[], T], *, login: str = "") -> T:
        """`run()` under the rate limits of the API endpoint `call` (the one doing the same:
        log in, sign up), as that endpoint itself would; `login` is the account a login names,
        so that its failures count against it."""
        policies = ENDPOINTS[call].policies
        verdict = Verdict()
        return guard(self.request.scope, run, policies=policies, verdict=verdict, login=login)

    def start_session(self, session: auth.LoginSession, home: str, message: str) -> Response:
        """Set the session and CSRF cookies of a fresh login and go to `home`."""
        self.cookies.extend(login_cookies(session, self.settings.session_ttl_hours))
        return self.redirect(home, message)

    def _finish(self, response: Response) -> Response:
        cookies = list(self.cookies)
        if self.new_form_token:
            cookies.append(Cookie(FORM_COOKIE, self.new_form_token, FORM_COOKIE_SECONDS))
        write_cookies(self.request, response, cookies)
        return response


def page(role: Role | None) -> Callable[[Handler], Endpoint]:
    """Turn a handler into a route endpoint for `role` (None: anyone may see the page)."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            form = await read_form(request) if request.method == "POST" else empty_form()
            run = functools.partial(_run, handler, role, request, form)
            try:
                return await in_thread(request.app.state.db, run)
            except ServiceUnavailable as exc:  # the database hung: say so, never hang
                response = error_page(Ctx(request, None, ""), exc)
                response.headers["Retry-After"] = str(exc.retry_after)
                return response

        endpoint.__doc__ = handler.__doc__
        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def _run(handler: Handler, role: Role | None, request: Request, form: Form | None) -> Response:
    ctx = _context(request, role, form)
    if isinstance(ctx, Response):
        return ctx
    actor = f"{ctx.actor.role}:{ctx.actor.id}" if ctx.actor else "system"
    try:
        with acting_as(actor):
            return handler(ctx)
    except KeyvendError as exc:
        return error_page(ctx, exc)


def _context(request: Request, role: Role | None, form: Form | None) -> Ctx | Response:
    """The caller of this request, or the response that refuses it (`form` None: too large)."""
    db: Database = request.app.state.db
    token = request.cookies.get(SESSION_COOKIE)
    actor, session_csrf = _session(db, token) if token else (None, None)
    posted = request.method == "POST"
    if role is not None and (actor is None or actor.role != role):
        message = "Your session has expired; please log in again." if posted else None
        return Ctx(request, None, "").redirect(LOGIN_PAGES[role], message)
    form_token = request.cookies.get(FORM_COOKIE)
    fresh = None if session_csrf or form_token else new_token()
    ctx = Ctx(
        request, actor, session_csrf or form_token or fresh or "", form or empty_form(), fresh
    )
    if not posted:
        return ctx
    if form is not None and csrf.form_ok(
        form.get(csrf.CSRF_FIELD, ""),
        session_csrf=session_csrf,
        form_token=form_token,
        public_page=role is None,
    ):
        return ctx
    ctx.csrf = session_csrf or form_token or ""
    return form_expired_page(ctx) if form is not None else form_too_large_page(ctx)


def _session(db: Database, token: str) -> tuple[Actor | None, str | None]:
    """The actor and CSRF token of a live session, or (None, None)."""
    try:
        return auth.live_session(db, token)
    except KeyvendError:
        return None, None
