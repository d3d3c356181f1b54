"""Payment gateways behind one interface (`base.Gateway`): bank transfer, Stripe."""

from __future__ import annotations

from keyvend.adapters.gateways.bank_transfer import BankTransfer
from keyvend.adapters.gateways.base import Gateway, Gateways
from keyvend.config import Settings


def gateways_for(settings: Settings) -> Gateways:
    """The gateways these settings enable: bank transfer always, Stripe when configured."""
    enabled: list[Gateway] = [BankTransfer()]
    return Gateways(enabled)
