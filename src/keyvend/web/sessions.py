"""Logging in and out of both areas, and signing up as a client."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import KeyvendError
from keyvend.edge.cookies import SESSION_COOKIE, logout_cookies
from keyvend.schemas.account import ClientCreate
from keyvend.services import auth, client
from keyvend.services.auth import Role
from keyvend.web.forms import new_password, refusal
from keyvend.web.page import Ctx, page

LOGIN_CALL = ("guest", "client", "login")
SIGNUP_CALL = ("guest", "client", "create")
SIGNUP_FIELDS = ("email", "first_name", "last_name")
SIGNUP_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "password": "Password",
    "password_confirm": "Repeat password",
}


@page(None)
def client_login(ctx: Ctx) -> Response:
    """Log in to the client area."""
    return _login(ctx, "client", home="/")


@page(None)
def admin_login(ctx: Ctx) -> Response:
    """Log in to the admin panel."""
    return _login(ctx, "admin", home="/admin")


def login_form(ctx: Ctx, role: Role, *, status: int = 200, **values: str) -> Response:
    """The login form of an area, with any error and the email typed so far."""
    if role == "admin":
        return ctx.render(
            "login.html",
            status=status,
            title="Admin panel",
            action="/admin/login",
            reset="/admin/password-reset",
            **values,
        )
    return ctx.render(
        "login.html",
        status=status,
        title="Client area",
        action="/login",
        reset="/password-reset",
        signup=True,
        **values,
    )


def _login(ctx: Ctx, role: Role, *, home: str) -> Response:
    email, password = ctx.form.get("email", "")[:255], ctx.form.get("password", "")[:256]
    ttl_hours = ctx.settings.session_ttl_hours
    try:
        session = ctx.limited(
            LOGIN_CALL,
            lambda: auth.login(ctx.db, role, email=email, password=password, ttl_hours=ttl_hours),
            login=email,
        )
    except KeyvendError as exc:
        status = 429 if exc.code == 429 else 401
        return login_form(ctx, role, status=status, error=exc.message, email=email)
    return ctx.start_session(session, home, f"Welcome back, {email.strip().lower()}.")


@page(None)
def logout(ctx: Ctx) -> Response:
    """End the session and go back to the login form of the area it came from."""
    token = ctx.request.cookies.get(SESSION_COOKIE)
    if token:
        auth.logout(ctx.db, token)
    home = "/admin" if ctx.form.get("next", "") == "/admin" else "/"  # never an open redirect
    ctx.cookies.extend(logout_cookies())
    return ctx.redirect(home, "You are logged out.")


@page(None)
def signup_form(ctx: Ctx) -> Response:
    """The sign-up form."""
    if ctx.actor is not None and ctx.actor.role == "client":
        return ctx.redirect("/")
    return _signup_page(ctx, {})


@page(None)
def signup(ctx: Ctx) -> Response:
    """Create a client account and log straight into it."""
    values = {name: ctx.form.get(name, "")[:255] for name in SIGNUP_FIELDS}
    allowed = ctx.settings.allow_signup
    try:
        password = new_password(ctx.form)
        ctx.limited(
            SIGNUP_CALL,
            lambda: client.signup(
                ctx.db, ClientCreate(password=password, **values), allowed=allowed, confirm=None
            ),
        )
    except KeyvendError as exc:
        return _signup_page(ctx, values, error=exc)
    session = auth.login(
        ctx.db,
        "client",
        email=values["email"],
        password=password,
        ttl_hours=ctx.settings.session_ttl_hours,
    )
    return ctx.start_session(session, "/", "Your account is ready. Pick a product to order.")


def _signup_page(
    ctx: Ctx, values: dict[str, str], *, error: KeyvendError | None = None
) -> Response:
    return ctx.render(
        "client/signup.html",
        status=400 if error else 200,
        title="Sign up",
        values=values,
        allowed=ctx.settings.allow_signup,
        **(refusal(error, SIGNUP_LABELS) if error else {}),
    )


def routes() -> list[Route]:
    return [
        Route("/login", client_login, methods=["POST"]),
        Route("/admin/login", admin_login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/signup", signup_form, methods=["GET"]),
        Route("/signup", signup, methods=["POST"]),
    ]
