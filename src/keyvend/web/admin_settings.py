"""The business settings page (`/admin/settings`): a field for every setting, saved through
`business_settings.update`, which refuses a bad value naming its setting and saves nothing."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from keyvend.domain.errors import KeyvendError
from keyvend.schemas.business import BANK_PLACEHOLDERS, BusinessSettings
from keyvend.services import business_settings
from keyvend.web.error_pages import status_of
from keyvend.web.page import Ctx, page

PLACEHOLDERS = ", ".join("{" + name + "}" for name in BANK_PLACEHOLDERS)
DAYS = "Days, 0 to 365."
DAY_LIST = "Days separated by commas (e.g. 7, 3, 1); empty for none."


@dataclass(frozen=True)
class SettingField:
    """How the form shows one setting."""

    name: str
    label: str
    hint: str = ""
    kind: str = "text"  # an input type, "textarea" or "checkbox"


SECTIONS: list[tuple[str, list[SettingField]]] = [
    (
        "Seller (printed on every invoice)",
        [
            SettingField("company_name", "Company name"),
            SettingField("company_email", "Company email", kind="email"),
            SettingField("company_address", "Company address", kind="textarea"),
        ],
    ),
    (
        "Invoices",
        [
            SettingField("invoice_due_days", "Days to pay an invoice", DAYS, "number"),
            SettingField(
                "invoice_issue_days_before_expire",
                "Issue renewal invoices this many days before expiry",
                DAYS,
                "number",
            ),
            SettingField(
                "invoice_reminder_before_due_days", "Remind this many days before due", DAY_LIST
            ),
            SettingField(
                "invoice_reminder_after_due_days", "Remind this many days after due", DAY_LIST
            ),
        ],
    ),
    (
        "Unpaid services",
        [
            SettingField(
                "suspend_grace_days", "Suspend this many days after expiry", DAYS, "number"
            ),
            SettingField(
                "cancel_suspended_after_days",
                "Cancel suspended services after this many days",
                "Days, 0 to 3650; 0 never cancels.",
                "number",
            ),
        ],
    ),
    (
        "Tax",
        [
            SettingField("tax_name", "Tax name", "Printed on invoices, e.g. VAT."),
            SettingField("tax_rate", "Tax rate (%)", "0 to 100, at most 3 decimals, e.g. 19."),
        ],
    ),
    (
        "Emails",
        [
            SettingField(
                "email_includes_key",
                "Put the API key itself in the “key activated” email",
                "Off: the email links to the service page, where the client logs in to see "
                "the key; email is not a safe place for a secret.",
                "checkbox",
            ),
        ],
    ),
    (
        "Bank transfer",
        [
            SettingField(
                "bank_transfer_instructions",
                "Instructions shown to the payer",
                f"May use the placeholders {PLACEHOLDERS}.",
                "textarea",
            ),
        ],
    ),
]
NAMES = [field.name for _, fields in SECTIONS for field in fields]


@page("admin")
def settings_form(ctx: Ctx) -> Response:
    """Every business setting in one form."""
    return _settings_page(ctx, _as_text(business_settings.get(ctx.db)))


@page("admin")
def save_settings(ctx: Ctx) -> Response:
    """Save the settings that changed; a bad value is shown at its field, nothing saved."""
    current = _as_text(business_settings.get(ctx.db))
    posted = {name: _typed(ctx.form[name]) for name in NAMES if name in ctx.form}
    changes = {name: value for name, value in posted.items() if value != current[name]}
    try:
        if changes:
            business_settings.update(ctx.db, changes)
    except KeyvendError as exc:
        return _settings_page(ctx, {**current, **posted}, error=exc)
    return ctx.redirect("/admin/settings", "Settings saved." if changes else "Nothing changed.")


def _settings_page(
    ctx: Ctx, values: dict[str, str], *, error: KeyvendError | None = None
) -> Response:
    return ctx.render(
        "admin/settings.html",
        status=status_of(error) if error else 200,
        title="Settings",
        sections=SECTIONS,
        values=values,
        error=error.message if error else None,
        bad=error.field if error and error.field in NAMES else None,  # else shown above
    )


def _as_text(settings: BusinessSettings) -> dict[str, str]:
    """The settings as the form shows them: day lists as `1, 3`, the tax rate as `19`, a
    switch as `true` or `false` (what its checkbox posts)."""
    return {name: _text(value) for name, value in settings.model_dump(mode="json").items()}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _typed(value: str) -> str:
    return value.replace("\r\n", "\n")


def routes() -> list[Route]:
    return [
        Route("/admin/settings", settings_form, methods=["GET"]),
        Route("/admin/settings", save_settings, methods=["POST"]),
    ]
