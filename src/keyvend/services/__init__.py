"""Use cases, one module per FOSSBilling module; they raise KeyvendError subclasses only."""

from keyvend.services import (
    apikey_type,  # noqa: F401  (registers the built-in `apikey` type)
    email,  # noqa: F401  (registers the outbox's event reader)
    webhook,  # noqa: F401  (registers the webhooks' event reader)
)
