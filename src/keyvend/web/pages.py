"""Server-rendered pages: login forms for `/` (client area) and `/admin` (admin panel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from keyvend.api.auth import CSRF_COOKIE, SESSION_COOKIE
from keyvend.domain.errors import KeyvendError
from keyvend.services import auth, client, order, staff
from keyvend.services.auth import Actor, Role
from keyvend.services.pagination import Page

HERE = Path(__file__).parent
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape()
)


def routes() -> list[Route]:
    return [
        Route("/", client_home, methods=["GET"]),
        Route("/login", client_login, methods=["POST"]),
        Route("/admin", admin_home, methods=["GET"]),
        Route("/admin/login", admin_login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**context), status_code=status)


async def client_home(request: Request) -> Response:
    """The client area: a login form, or the client's services."""
    actor, csrf = await run_in_threadpool(_session, request, "client")
    if actor is None:
        return render("login.html", title="Client area", action="/login")
    db = request.app.state.db
    profile = await run_in_threadpool(client.get, db, actor.id)
    orders = await run_in_threadpool(
        lambda: order.get_list(db, page=Page(1, 100), client_id=actor.id)
    )
    return render(
        "client_home.html", title="My services", profile=profile, orders=orders["list"], csrf=csrf
    )


async def admin_home(request: Request) -> Response:
    """The admin panel: a login form, or the dashboard."""
    actor, csrf = await run_in_threadpool(_session, request, "admin")
    if actor is None:
        return render("login.html", title="Admin panel", action="/admin/login")
    profile = await run_in_threadpool(staff.get_profile, request.app.state.db, actor.id)
    return render("admin_home.html", title="Admin panel", profile=profile, csrf=csrf)


async def client_login(request: Request) -> Response:
    return await _login(request, "client", "/", "Client area")


async def admin_login(request: Request) -> Response:
    return await _login(request, "admin", "/admin", "Admin panel")


async def _login(request: Request, role: Role, home: str, title: str) -> Response:
    form = await request.form()
    email, password = str(form.get("email", ""))[:255], str(form.get("password", ""))[:256]
    settings = request.app.state.settings
    try:
        session = await run_in_threadpool(
            lambda: auth.login(
                request.app.state.db,
                role,
                email=email,
                password=password,
                ttl_hours=settings.session_ttl_hours,
            )
        )
    except KeyvendError as exc:
        return render(
            "login.html", 401, title=title, action=request.url.path, error=exc.message, email=email
        )
    response = RedirectResponse(home, status_code=303)
    secure = request.url.scheme == "https"
    max_age = settings.session_ttl_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, session.token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(CSRF_COOKIE, session.csrf, max_age=max_age, samesite="lax", secure=secure)
    return response


async def logout(request: Request) -> Response:
    """End the session (CSRF token required) and go back to the login form."""
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE)
    db = request.app.state.db
    if token:
        try:
            await run_in_threadpool(
                auth.session_actor, db, token, csrf=str(form.get("csrf", "")), check_csrf=True
            )
        except KeyvendError:
            return render(
                "login.html",
                403,
                title="Log in",
                action="/login",
                error="Your session could not be verified; please try again.",
            )
        await run_in_threadpool(auth.logout, db, token)
    home = "/admin" if form.get("next") == "/admin" else "/"  # never an open redirect
    response = RedirectResponse(home, status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


def _session(request: Request, role: str) -> tuple[Actor | None, str | None]:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    db = request.app.state.db
    try:
        actor = auth.session_actor(db, token, csrf=None, check_csrf=False)
    except KeyvendError:
        return None, None
    if actor.role != role:
        return None, None
    return actor, auth.session_csrf(db, token)
