"""One run of the lifecycle jobs, as `keyvend cron` and the background worker do it."""

from __future__ import annotations

from typing import TypedDict

from keyvend.adapters.mail import Mailer
from keyvend.adapters.webhook_sender import HttpxSender, WebhookSender
from keyvend.db.unit_of_work import Database
from keyvend.services import business_settings, dunning, email, expiries, webhook_delivery


class CronSummary(TypedDict):
    """What one run did: the ids each job touched, and how many rows the tidying removed."""

    retried_items: list[int]
    renewal_invoices: list[int]
    reminders: list[int]
    suspended_orders: list[int]
    canceled_orders: list[int]
    deleted_sessions: int
    deleted_guest_carts: int
    emails_sent: list[int]
    webhooks_sent: list[int]
    expiry_events: int


def run(
    db: Database, mailer: Mailer | None = None, webhooks: WebhookSender | None = None
) -> CronSummary:
    """Run the dunning jobs once, in their order (see `services.dunning`), with the
    business settings in force when the run starts; then deliver the due emails (the ones
    this run queued too) through `mailer` (None: they stay queued), and the due webhook
    deliveries through `webhooks` (None: over HTTP)."""
    settings = business_settings.get(db)
    # Expiries are announced first: the suspensions below would hide them.
    expiry_events = expiries.announce(db)
    return CronSummary(
        retried_items=dunning.retry_failed_tasks(db),
        renewal_invoices=dunning.issue_renewals(db, settings),
        reminders=dunning.send_reminders(db, settings),
        suspended_orders=dunning.suspend_unpaid(db, settings),
        canceled_orders=dunning.cancel_long_suspended(db, settings),
        deleted_sessions=dunning.delete_expired_sessions(db),
        deleted_guest_carts=dunning.delete_stale_guest_carts(db),
        emails_sent=email.deliver_due(db, mailer),
        webhooks_sent=webhook_delivery.deliver_due(db, webhooks or HttpxSender()),
        expiry_events=expiry_events,
    )
