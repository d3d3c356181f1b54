"""The event spine's types (DESIGN.md section 12) and which of them can change a key's answer.

Every change of state records one event in its own transaction (`UnitOfWork.record`). The
types below are the contract the activity log, webhooks and the revocation stream are read
by; a type of `KEY_CHANGES` also carries the fingerprints of the keys it touched, so every
cache of key answers (each server process's, and the client libraries' in live mode) can
drop exactly those.
"""

from __future__ import annotations

import hashlib

from keyvend.domain.keygen import normalize_key

ALL_KEYS = "*"  # a fingerprint list of ["*"]: the change touches every key

# Changes that can alter what a check of one order's keys answers.
ORDER_KEY_CHANGES = frozenset(
    {
        "order.activated",
        "order.renewed",
        "order.suspended",
        "order.unsuspended",
        "order.canceled",
        "order.uncanceled",
        "order.deleted",
        "order.expired",
        "key.reset",
        "key.updated",
        "key.disabled",
        "key.enabled",
        "key.overlap_ended",
    }
)
# ... of one client's keys, and of every key.
CLIENT_KEY_CHANGES = frozenset({"client.deleted"})
EVERY_KEY_CHANGES = frozenset(
    {"extension.activated", "extension.deactivated", "extension.uninstalled"}
)
KEY_CHANGES = ORDER_KEY_CHANGES | CLIENT_KEY_CHANGES | EVERY_KEY_CHANGES

# The types a webhook may subscribe to (besides "*"), as DESIGN.md section 12 lists them and
# as the services record them. Changes to webhooks themselves (`webhook.created`, `updated`,
# `deleted`) are recorded for the activity log but never sent to a webhook.
EVENT_TYPES = KEY_CHANGES | frozenset(
    {
        "client.created",
        "client.updated",
        "client.password_reset",
        "client.password_reset_requested",
        "client.login_failed",
        "order.created",
        "invoice.created",
        "invoice.paid",
        "invoice.refunded",
        "invoice.canceled",
        "invoice.reminder",
        "invoice.overdue",
        "invoice.task_failed",
        "payment.failed",
        "product.created",
        "product.updated",
        "product.deleted",
        "staff.created",
        "staff.updated",
        "staff.deleted",
        "staff.login_failed",
        "staff.password_reset",
        "staff.password_reset_requested",
        "application.created",
        "application.updated",
        "application.token_reset",
        "application.deleted",
        "settings.updated",
    }
)


def fingerprint(key: str) -> str:
    """The lower-case hex SHA-256 of the case-folded key: how the stream names a key without
    ever showing it (a client library computes the same from the key it holds)."""
    return hashlib.sha256(normalize_key(key).encode()).hexdigest()
