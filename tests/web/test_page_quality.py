"""Every page: each input has a label, each POST form carries a CSRF token, safe headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from starlette.testclient import TestClient

from keyvend.services import invoice
from keyvend.services import payment as payments
from keyvend.templates import ENV
from tests.web.conftest import Browsing, checkout, id_in_path

UNLABELLED_TYPES = {"hidden", "submit", "button"}


class FormAudit(HTMLParser):
    """Collects inputs without a label and POST forms without a CSRF field."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self.controls: list[dict[str, str]] = []
        self.forms: list[dict[str, Any]] = []
        self._template_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "template":
            self._template_depth += 1
        elif tag == "label" and "for" in a:
            self.labels.add(a["for"])
        elif tag == "form":
            self.forms.append({"method": a.get("method", "get"), "csrf": False})
        elif tag in ("input", "select", "textarea") and not self._template_depth:
            if tag == "input" and a.get("name") == "csrf" and self.forms:
                self.forms[-1]["csrf"] = True
            if a.get("type", "text") not in UNLABELLED_TYPES:
                self.controls.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._template_depth -= 1

    def unlabelled(self) -> list[str]:
        return [
            c.get("name", "?")
            for c in self.controls
            if c.get("id") not in self.labels and "aria-label" not in c
        ]


def audit(html: str) -> FormAudit:
    parser = FormAudit()
    parser.feed(html)
    return parser


def _pages(
    admin_web: Browsing, client_web: Browsing, order_id: int, product_id: int, paid_product: int
) -> Any:
    bill = invoice.get(
        admin_web.client.app.state.db, id_in_path(checkout(client_web, paid_product))
    )
    anonymous = Browsing(TestClient(admin_web.client.app))
    public = (
        "/",
        "/admin",
        "/signup",
        "/products",
        f"/invoice/{bill.hash}",
        "/password-reset",
        "/password-reset?token=some-token",
        "/admin/password-reset",
        "/admin/password-reset?token=some-token",
    )
    yield from (anonymous.get(p) for p in public)
    admin_pages = (
        "/admin",
        "/admin/products",
        "/admin/products/new",
        f"/admin/products/{product_id}",
        "/admin/clients",
        "/admin/clients/new",
        "/admin/orders",
        "/admin/orders/new",
        f"/admin/orders/{order_id}",
        "/admin/extensions",
        "/admin/invoices",
        f"/admin/invoices/{bill.id}",
        "/admin/settings",
        "/admin/staff",
        "/admin/staff/1",
        "/admin/account",
        "/admin/emails",
        "/admin/emails/1",
        f"/admin/clients/{bill.client_id}",
    )
    yield from (admin_web.get(p) for p in admin_pages)
    yield admin_web.post("/admin/applications", {"name": "Checker"})  # its token shown once
    yield admin_web.get("/admin/applications")  # with the application's rename form
    client_pages = ("/", "/products", "/cart", f"/services/{order_id}", "/account", "/invoices")
    yield from (client_web.get(p) for p in client_pages)
    yield client_web.get(f"/invoices/{bill.id}")
    yield client_web.post(f"/invoices/{bill.id}/pay", {"gateway": "bank_transfer"})
    yield client_web.get(f"/services/{bill.items[0].order_id}")
    payments.mark_as_paid(admin_web.client.app.state.db, bill.id)
    yield admin_web.get(f"/admin/invoices/{bill.id}")


def test_every_input_is_labelled_and_every_post_form_has_a_csrf_token(
    admin_web: Browsing,
    client_web: Browsing,
    active_order: dict[str, Any],
    product_id: int,
    paid_product: int,
) -> None:
    for page in _pages(admin_web, client_web, active_order["id"], product_id, paid_product):
        assert page.status_code == 200, page.url
        found = audit(page.text)
        assert found.unlabelled() == [], page.url
        assert all(f["csrf"] for f in found.forms if f["method"] == "post"), page.url


def test_pages_send_security_headers(app: Any) -> None:
    response = TestClient(app).get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_the_stylesheet_and_script_are_served_by_the_app(app: Any) -> None:
    web = TestClient(app)
    css, script = web.get("/static/keyvend.css"), web.get("/static/keyvend.js")
    assert css.status_code == 200 and "--accent" in css.text
    assert script.status_code == 200 and "data-sample-url" in script.text
    page = web.get("/").text
    assert "/static/keyvend.css" in page and "http" not in page.split("<body>")[0]


def test_garbage_input_never_causes_a_server_error(
    admin_web: Browsing, client_web: Browsing, active_order: dict[str, Any], product_id: int
) -> None:
    huge, odd = "9" * 30, "\u00b2"  # "²".isdigit() is true, yet int() refuses it
    for value in (huge, odd, "-1", ""):
        assert admin_web.get(f"/admin/orders?page={value}").status_code == 200
        assert admin_web.get(f"/admin/products?page={value}&status=").status_code == 200
        form = {"client_id": value, "product_id": value, "period": value}
        assert admin_web.post("/admin/orders/new", form).status_code == 400
        form = {"delete_param": value, "action": "preview"}
        page = admin_web.post(f"/admin/products/{product_id}", form)
        assert page.status_code == 200
        client_web.get("/products")
        assert client_web.post("/cart/add", {"product_id": value}).status_code == 200
        assert client_web.post("/cart/remove", {"item": value}).status_code == 404
    for path in ("clients", "staff", "emails"):
        assert admin_web.get(f"/admin/{path}/{huge}").status_code == 404, path
    assert admin_web.post("/admin/extensions/nope", {"action": "activate"}).status_code == 404


def test_no_template_marks_a_value_safe() -> None:
    """Markup comes from templates and escaping filters only, in the pages and the API docs."""
    names, loader = ENV.list_templates(), ENV.loader
    assert "api/docs.html" in names and "admin/order.html" in names  # one environment, both
    assert loader is not None
    for name in names:
        source = loader.get_source(ENV, name)[0]
        assert not re.search(r"\|\s*safe\b", source), name


def test_field_attributes_are_escaped_and_boolean_ones_are_bare() -> None:
    field = ENV.from_string('{% import "macros.html" as ui %}{{ ui.field("x", "X", attrs=a) }}')
    html = field.render(a={"placeholder": '"><b>', "maxlength": 4, "data-on": True, "off": False})
    assert '<input id="f-x" name="x" type="text" value="" ' in html
    assert 'placeholder="&#34;&gt;&lt;b&gt;" maxlength="4" data-on>' in html
    assert "off" not in html
