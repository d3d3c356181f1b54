"""Payment gateways behind one interface (`base.Gateway`): bank transfer, Stripe."""

from __future__ import annotations

from keyvend.adapters.gateways.bank_transfer import BankTransfer
from keyvend.adapters.gateways.base import Gateway, Gateways
from keyvend.adapters.gateways.stripe import StripeGateway
from keyvend.config import Settings


def gateways_for(settings: Settings) -> Gateways:
    """The gateways these settings enable: bank transfer always, Stripe when configured."""
    enabled: list[Gateway] = [BankTransfer()]
    if settings.stripe_enabled and settings.stripe_secret_key is not None:
        secret_key = settings.stripe_secret_key.get_secret_value()
        enabled.append(StripeGateway(secret_key, api_base=settings.stripe_api_base))
    return Gateways(enabled)
