"""Which event sends which mail (DESIGN.md section 10), and the facts each mail is filled
with: `MAILS` maps an event type to the builder of its mails. `services.email` queues them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from keyvend.db.models import Admin, Client, Event, Invoice, Order
from keyvend.db.unit_of_work import UnitOfWork
from keyvend.domain.money import label, to_minor
from keyvend.services import business_settings
from keyvend.services.apikey_type import service_of
from keyvend.services.invoice import items_of


@dataclass(frozen=True)
class Mail:
    """A mail an event causes: which template, to whom, with what to fill it."""

    template: str
    recipient: str
    client_id: int | None
    context: dict[str, Any]


Build = Callable[[UnitOfWork, Event, dict[str, Any]], list[Mail]]


# -- what each event sends -------------------------------------------------------------------
def _to_client(template: str) -> Build:
    """A mail to the event's client, about the event's order or invoice if it has one."""

    def build(uow: UnitOfWork, event: Event, private: dict[str, Any]) -> list[Mail]:
        client = uow.session.get(Client, event.client_id) if event.client_id else None
        if client is None:
            return []
        context: dict[str, Any] = {
            "name": client.first_name,
            "client": _person(client),
            "login_url": uow.shop.link("/"),
            "reason": event.data.get("reason"),
            "days": event.data.get("days_before") or event.data.get("days_after"),
            **private,
        }
        order = uow.session.get(Order, event.order_id) if event.order_id else None
        if order is not None:
            context["order"] = _order_facts(uow, order)
            context["key"] = _key(uow, order) if template == "key_activated" else None
        invoice = uow.session.get(Invoice, event.invoice_id) if event.invoice_id else None
        if invoice is not None:
            context["invoice"] = _invoice_facts(uow, invoice)
        return [Mail(template, client.email, client.id, context)]

    return build


def _to_admin_resetting(uow: UnitOfWork, event: Event, private: dict[str, Any]) -> list[Mail]:
    admin = uow.session.get(Admin, event.data.get("admin_id") or 0)
    recipient = private.get("email") or (admin.email if admin else None)
    if not recipient or "reset_url" not in private:
        return []
    context = {"name": admin.name if admin else "", "reset_url": private["reset_url"]}
    return [Mail("password_reset", recipient, None, context)]


def _to_every_admin(uow: UnitOfWork, event: Event, private: dict[str, Any]) -> list[Mail]:
    """A client placed an order themselves (not an admin for them): the staff hear of it."""
    order = uow.session.get(Order, event.order_id) if event.order_id else None
    client = uow.session.get(Client, order.client_id) if order else None
    if not event.actor.startswith("client:") or order is None or client is None:
        return []
    facts = {"client": _person(client), "order": _order_facts(uow, order)}
    admins = uow.session.scalars(select(Admin).order_by(Admin.id))
    return [
        Mail("staff_new_order", admin.email, None, {**facts, "name": admin.name})
        for admin in admins
    ]


MAILS: dict[str, Build] = {
    "client.created": _to_client("client_signup"),
    "client.password_reset_requested": _to_client("password_reset"),
    "staff.password_reset_requested": _to_admin_resetting,
    "order.created": _to_every_admin,
    "order.activated": _to_client("key_activated"),
    "order.renewed": _to_client("key_renewed"),
    "order.suspended": _to_client("key_suspended"),
    "order.unsuspended": _to_client("key_unsuspended"),
    "order.canceled": _to_client("key_canceled"),
    "invoice.created": _to_client("invoice_created"),
    "invoice.paid": _to_client("invoice_paid"),
    "invoice.reminder": _to_client("invoice_reminder"),
    "invoice.overdue": _to_client("invoice_overdue"),
}


def _person(client: Client) -> dict[str, str]:
    name = f"{client.first_name} {client.last_name}".strip()
    return {"first_name": client.first_name, "name": name, "email": client.email}


def _order_facts(uow: UnitOfWork, order: Order) -> dict[str, Any]:
    currency = uow.shop.currency
    return {
        "id": order.id,
        "title": order.title,
        "period": order.period,
        "status": order.status.replace("_", " "),
        "price": label(to_minor(order.price, currency), currency),
        "expires": _day(order.expires_at),
        "url": uow.shop.link(f"/services/{order.id}"),
        "admin_url": uow.shop.link(f"/admin/orders/{order.id}"),
    }


def _invoice_facts(uow: UnitOfWork, invoice: Invoice) -> dict[str, Any]:
    currency = invoice.currency
    lines = [
        {"title": item.title, "quantity": item.quantity, "total": label(item.total, currency)}
        for item in items_of(uow, invoice.id)
    ]
    return {
        "number": invoice.number,
        "total": label(invoice.total, currency),
        "tax": label(invoice.tax, currency) if invoice.tax else None,
        "tax_name": invoice.tax_name,
        "due_date": _day(invoice.due_at),
        "paid_date": _day(invoice.paid_at),
        "url": uow.shop.link(f"/invoice/{invoice.hash}"),
        "lines": lines,
    }


def _key(uow: UnitOfWork, order: Order) -> str | None:
    """The order's key, for the activation mail, only when the shop asks for keys in mail."""
    if not business_settings.read(uow).email_includes_key:
        return None
    service = service_of(uow, order.id)
    return uow.vault.decrypt_key(service.key_ciphertext) if service else None


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment else None
