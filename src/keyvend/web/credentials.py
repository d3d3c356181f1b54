"""The change-password and change-email forms that both areas' account pages share.

Each area passes its own service function (`client.change_password`, `staff.change_password`,
...); they take the same arguments, which the protocols below spell out.
"""

from __future__ import annotations

from typing import Protocol

from keyvend.db.unit_of_work import Database
from keyvend.web.forms import new_password
from keyvend.web.page import Ctx

PASSWORD_LABELS = {
    "current_password": "Current password",
    "password": "New password",
    "password_confirm": "Repeat new password",
}
EMAIL_LABELS = {"email": "New email", "password": "Password"}
OTHERS_LOGGED_OUT = "Your password is changed. Your other sessions are logged out."


class ChangePassword(Protocol):
    def __call__(
        self,
        db: Database,
        account_id: int,
        /,
        *,
        current_password: str,
        new_password: str,
        keep_session: str | None = None,
    ) -> bool: ...


class ChangeEmail(Protocol):
    def __call__(self, db: Database, account_id: int, /, *, email: str, password: str) -> bool: ...


def change_password(ctx: Ctx, service: ChangePassword) -> None:
    """The posted new password (typed twice) for the caller, keeping this session only."""
    service(
        ctx.db,
        ctx.actor_id,
        current_password=ctx.form.get("current_password", "")[:256],
        new_password=new_password(ctx.form),
        keep_session=ctx.session_digest,
    )


def change_email(ctx: Ctx, service: ChangeEmail) -> None:
    """The posted new email for the caller, confirmed by their password."""
    email, password = ctx.form.get("email", "")[:255], ctx.form.get("password", "")[:256]
    service(ctx.db, ctx.actor_id, email=email, password=password)
