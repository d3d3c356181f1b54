"""The outbox pages (`/admin/emails`): list and filters, one mail shown safely, Resend."""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from keyvend.db.unit_of_work import Database
from keyvend.schemas.email import EmailDetail
from keyvend.services import email as emails
from keyvend.services.pagination import PageRequest
from tests.web.conftest import Browsing, flash_of


def signup_mail(db: Database, recipient: str) -> EmailDetail:
    found = emails.get_list(db, page=PageRequest(1, 10), recipient=recipient).list[0]
    return emails.get(db, found.id)


def test_the_outbox_lists_mails_and_filters_them(
    admin_web: Browsing, customer: dict[str, Any], other_client: int, db: Database
) -> None:
    mail = signup_mail(db, customer["email"])
    page = admin_web.get("/admin/emails")
    assert page.status_code == 200 and f'href="/admin/emails/{mail.id}"' in page.text
    assert "zoe@example.com" in page.text
    page = admin_web.get("/admin/emails?recipient=jo@")
    assert customer["email"] in page.text and "zoe@example.com" not in page.text
    page = admin_web.get("/admin/emails?status=queued&recipient=zoe")
    assert "zoe@example.com" in page.text and '<option value="queued" selected>' in page.text
    page = admin_web.get("/admin/emails?status=sent")
    assert "No emails match these filters." in page.text
    assert admin_web.get("/admin/emails?status=nonsense").status_code == 400


def test_a_mail_shows_its_html_body_only_escaped_or_sandboxed(
    admin_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    mail = signup_mail(db, customer["email"])
    assert "<" in mail.html
    page = admin_web.get(f"/admin/emails/{mail.id}")
    assert page.status_code == 200 and str(escape(mail.subject)) in page.text
    assert str(escape(mail.text)) in page.text
    assert mail.html not in page.text
    assert f'sandbox srcdoc="{escape(mail.html)}"' in page.text
    assert f"<pre><code>{escape(mail.html)}</code></pre>" in page.text


def test_resend_queues_the_mail_again(
    admin_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    mail = signup_mail(db, customer["email"])
    admin_web.get(f"/admin/emails/{mail.id}")
    assert admin_web.post(f"/admin/emails/{mail.id}/resend", {"csrf": "forged"}).status_code == 403
    page = admin_web.post(f"/admin/emails/{mail.id}/resend", {})
    assert page.url.path == f"/admin/emails/{mail.id}"
    assert flash_of(page.text) == "The email is queued to be sent again."
    assert emails.get(db, mail.id).status == "queued"
    assert admin_web.get("/admin/emails/999999").status_code == 404


def test_clients_never_read_the_outbox(
    client_web: Browsing, customer: dict[str, Any], db: Database
) -> None:
    mail = signup_mail(db, customer["email"])
    for path in ("/admin/emails", f"/admin/emails/{mail.id}"):
        response = client_web.client.get(path, follow_redirects=False)
        assert response.headers["location"] == "/admin", path
    response = client_web.client.post(
        f"/admin/emails/{mail.id}/resend", data={"csrf": client_web.csrf}, follow_redirects=False
    )
    assert response.headers["location"] == "/admin"
