"""Page-test helpers: form posting with CSRF over the TestClient, a live server and a browser."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from starlette.testclient import TestClient

from keyvend.db.unit_of_work import Database
from keyvend.schemas.account import ClientCreate
from keyvend.services import client as clients
from keyvend.services import email as emails
from keyvend.services import product as products
from keyvend.services.pagination import PageRequest
from tests.support.live_server import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ADMIN = ("root@example.com", "admin-pass-1")  # created by the shared `api` fixture
CLIENT_PASSWORD = "jo-pass-123"  # the shared `customer` fixture's password
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "page has no form with a CSRF token"
    return found.group(1)


def flash_of(html: str) -> str | None:
    found = re.search(r'<p class="flash" role="status">([^<]*)</p>', html)
    return found.group(1) if found else None


def alert_of(html: str) -> str | None:
    found = re.search(r'<p class="error(?: field-error)?" role="alert"[^>]*>([^<]*)</p>', html)
    return found.group(1) if found else None


def field_error(html: str, name: str) -> str | None:
    """The message shown beside the form field `name`, when that field is the one in error:
    the paragraph right after the control, which the control names in aria-describedby."""
    found = re.search(
        rf'<(?:input|select|textarea) [^>]*name="{name}"[^>]*aria-invalid="true"'
        rf'[^>]*aria-describedby="([^" ]+)[^"]*"[^>]*>(?:.*?</select>|.*?</textarea>)?\s*'
        r'<p class="error field-error" role="alert" id="([^"]+)">([^<]*)</p>',
        html,
        re.S,
    )
    return found.group(3) if found and found.group(1) == found.group(2) else None


class Browsing:
    """A TestClient that remembers the last page's CSRF token, as a browser's forms would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        self._remember(response.text)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Submit a form with the current CSRF token (pass csrf=None in data to leave it out)."""
        fields = {"csrf": self.csrf, **(data or {})}
        fields = {k: v for k, v in fields.items() if v is not None}
        response = self.client.post(path, data=fields, **kwargs)
        self._remember(response.text)
        return response

    def login(self, path: str, email: str, password: str) -> Any:
        self.get("/admin" if path.startswith("/admin") else "/")
        response = self.post(path, {"email": email, "password": password})
        assert response.status_code == 200 and flash_of(response.text), response.text
        return response

    def _remember(self, html: str) -> None:
        found = _CSRF.search(html)
        if found:
            self.csrf = found.group(1)


def mailed_link(db: Database, recipient: str, path: str) -> str:
    """The `path?token=...` link of the newest reset mail to `recipient`, read from the outbox."""
    mails = emails.get_list(db, page=PageRequest(1, 50), recipient=recipient).list
    newest = next(m for m in mails if m.template == "password_reset")
    text = emails.get(db, newest.id).text
    found = re.search(rf"{re.escape(path)}\?token=[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def mails_to(db: Database, recipient: str, template: str = "password_reset") -> int:
    """How many mails of `template` the outbox holds for `recipient`."""
    mails = emails.get_list(db, page=PageRequest(1, 50), recipient=recipient).list
    return sum(1 for m in mails if m.template == template)


@pytest.fixture
def admin_web(app: Any, api: Any) -> Browsing:
    """An admin logged in to /admin through the login form."""
    browsing = Browsing(TestClient(app))
    browsing.login("/admin/login", *ADMIN)
    return browsing


@pytest.fixture
def client_web(app: Any, customer: dict[str, Any]) -> Browsing:
    """The `customer` logged in to the client area through the login form."""
    browsing = Browsing(TestClient(app))
    browsing.login("/login", customer["email"], CLIENT_PASSWORD)
    return browsing


@pytest.fixture
def other_client(db: Database) -> int:
    return clients.create(
        db, ClientCreate(email="zoe@example.com", first_name="Zoe", password="zoe-pass-123")
    ).id


@pytest.fixture
def enabled_product(db: Database, product_id: int) -> dict[str, Any]:
    return products.get(db, product_id)


# --- Billing ----------------------------------------------------------------------------------


def sell(api: Any, *, setup: str, pricing: dict[str, Any], title: str) -> int:
    """An enabled apikey product with this setup and pricing."""
    pid = int(api.admin("product/prepare", title=title, type="apikey"))
    api.admin("product/update", id=pid, status="enabled", setup=setup, pricing=pricing)
    return pid


@pytest.fixture
def paid_product(api: Any) -> int:
    """An enabled apikey product sold once at 19.00, its key issued after payment."""
    pricing = {"type": "once", "once": {"price": "19"}}
    return sell(api, setup="after_payment", pricing=pricing, title="Pro key")


@pytest.fixture
def monthly_product(api: Any) -> int:
    """An enabled after_order apikey product at 5.00 a month."""
    pricing = {"type": "recurrent", "recurrent": {"1M": {"price": "5", "enabled": True}}}
    return sell(api, setup="after_order", pricing=pricing, title="Monthly key")


@pytest.fixture
def two_orders(api: Any, monthly_product: int, customer: dict[str, Any]) -> dict[str, Any]:
    """Jo's active monthly order at 5.00 USD with its key, and an order of Zoe Quinn
    (zoe@example.org): what the support tools' tests search through."""
    jo = api.admin(
        "order/create",
        client_id=customer["id"],
        product_id=monthly_product,
        period="1M",
        activate=True,
    )
    zoe = api.admin("client/create", email="zoe@example.org", first_name="Zoe", last_name="Quinn")
    other = api.admin(
        "order/create", client_id=zoe, product_id=monthly_product, period="1M", activate=True
    )
    key = api.admin("order/service", id=jo)["api_key"]
    return {"jo": jo, "zoe": other, "zoe_id": zoe, "key": key}


def checkout(web: Browsing, product_id: int, period: str = "") -> Any:
    """Put the product in the cart and place the order; the page the checkout led to."""
    web.get("/products")
    web.post("/cart/add", {"product_id": str(product_id), "period": period})
    return web.post("/checkout", {})


def id_in_path(page: Any) -> int:
    """The record id at the end of a page's path (`/invoices/3` -> 3)."""
    return int(page.url.path.rsplit("/", 1)[1])


# --- A real server and a real browser -------------------------------------------------------


def log_in(page: Page, area: str, email: str, password: str) -> None:
    """Log in through the area's form (`/` or `/admin`) in a browser page."""
    page.goto(area)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The test's app served by uvicorn on a free loopback port; yields the base URL."""
    with serve_in_thread(app, lifespan="off") as url:
        yield url


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module scope: the sync API owns an event loop while it runs, so stop it between modules.
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium; Playwright's own browser builds are never downloaded."""
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts (one per person) on the live server; all closed afterwards."""
    opened: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(10_000)
        if options.get("java_script_enabled", True):
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()
