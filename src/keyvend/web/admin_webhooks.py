"""Admin pages for webhooks (`/admin/webhooks`): add one (its secret shown once, on the page
that answers the form, never after a redirect or a reload), change its URL, events and whether
it is enabled, delete it once confirmed, send a test ping, and read its delivery log: each
attempt's status code and time, with Retry."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.domain.event_types import EVENT_TYPES
from keyvend.schemas.webhook import WebhookCreate, WebhookSecret, WebhookUpdate
from keyvend.services import webhook
from keyvend.services.pagination import PageRequest
from keyvend.web.error_pages import status_of
from keyvend.web.forms import Form, checked, refusal
from keyvend.web.page import Ctx, page

LABELS = {"url": "URL", "events": "Events", "description": "Description"}
PATH = "/admin/webhooks"
PER_PAGE = 25
CHOICES = sorted(EVENT_TYPES)


@page("admin")
def webhook_list(ctx: Ctx) -> Response:
    """Every webhook, and the form that adds one."""
    return _list_page(ctx)


@page("admin")
def create_webhook(ctx: Ctx) -> Response:
    """Add a webhook; its signing secret is shown on this answer only."""
    typed = _typed(ctx.form)
    try:
        made = webhook.create(ctx.db, typed)
    except KeyvendError as exc:
        return _list_page(ctx, typed=typed, exc=exc)
    return _list_page(ctx, secret=made)


@page("admin")
def view_webhook(ctx: Ctx) -> Response:
    """One webhook: its settings to edit, Send test, Delete, and its delivery log."""
    return _webhook_page(ctx, ctx.path_int("id"))


@page("admin")
def update_webhook(ctx: Ctx) -> Response:
    """Save a webhook's URL, events, description and whether it is enabled."""
    webhook_id, typed = ctx.path_int("id"), _typed(ctx.form)
    data = WebhookUpdate(
        url=typed.url,
        events=typed.events,
        description=typed.description,
        enabled=checked(ctx.form, "enabled"),
    )
    try:
        webhook.update(ctx.db, webhook_id, data)
    except InvalidInput as exc:
        return _webhook_page(ctx, webhook_id, typed=typed, exc=exc)
    return ctx.redirect(f"{PATH}/{webhook_id}", "Webhook saved.")


@page("admin")
def send_test(ctx: Ctx) -> Response:
    """Queue a webhook.test ping; the worker sends it within a second or so."""
    webhook_id = ctx.path_int("id")
    webhook.send_test(ctx.db, webhook_id)
    return ctx.redirect(f"{PATH}/{webhook_id}", "Test ping queued: it shows in the log below.")


@page("admin")
def retry_delivery(ctx: Ctx) -> Response:
    """Send one delivery again now."""
    webhook_id = ctx.path_int("id")
    webhook.retry(ctx.db, ctx.path_int("delivery"))
    return ctx.redirect(f"{PATH}/{webhook_id}", "Delivery queued to be sent again now.")


@page("admin")
def delete_webhook(ctx: Ctx) -> Response:
    """Delete a webhook and its log, once confirmed."""
    if not checked(ctx.form, "confirm"):
        raise InvalidInput("Confirm the deletion first: its pending deliveries are dropped.")
    webhook.delete(ctx.db, ctx.path_int("id"))
    return ctx.redirect(PATH, "Webhook deleted.")


def _typed(form: Form) -> WebhookCreate:
    """The form's URL, events (checkboxes, "*" for all) and description, as typed."""
    return WebhookCreate(
        url=form.get("url", "")[:2000],
        events=[value[:64] for value in form.getlist("events")[:200]],
        description=form.get("description", "")[:255],
    )


def _list_page(
    ctx: Ctx,
    *,
    secret: WebhookSecret | None = None,
    typed: WebhookCreate | None = None,
    exc: KeyvendError | None = None,
) -> Response:
    return ctx.render(
        "admin/webhooks.html",
        status=status_of(exc) if exc else 200,
        title="Webhooks",
        webhooks=webhook.get_list(ctx.db),
        secret=secret,
        typed=typed or WebhookCreate(url="", events=[]),
        choices=CHOICES,
        **(refusal(exc, LABELS) if exc else {}),
    )


def _webhook_page(
    ctx: Ctx,
    webhook_id: int,
    *,
    typed: WebhookCreate | None = None,
    exc: KeyvendError | None = None,
) -> Response:
    hook = webhook.get(ctx.db, webhook_id)
    log = webhook.deliveries(ctx.db, webhook_id, page=PageRequest(ctx.page_number(), PER_PAGE))
    shown = typed or WebhookCreate(url=hook.url, events=hook.events, description=hook.description)
    return ctx.render(
        "admin/webhook.html",
        status=status_of(exc) if exc else 200,
        title=hook.description or hook.url,
        hook=hook,
        log=log,
        typed=shown,
        choices=CHOICES,
        **(refusal(exc, LABELS) if exc else {}),
    )


def routes() -> list[Route]:
    return [
        Route(PATH, webhook_list, methods=["GET"]),
        Route(PATH, create_webhook, methods=["POST"]),
        Route(PATH + "/{id:id}", view_webhook, methods=["GET"]),
        Route(PATH + "/{id:id}", update_webhook, methods=["POST"]),
        Route(PATH + "/{id:id}/test", send_test, methods=["POST"]),
        Route(PATH + "/{id:id}/delete", delete_webhook, methods=["POST"]),
        Route(PATH + "/{id:id}/deliveries/{delivery:id}/retry", retry_delivery, methods=["POST"]),
    ]
