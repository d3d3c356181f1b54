"""system: the business settings (company, invoicing, dunning, tax, bank details)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.schemas.business import BusinessSettings
from keyvend.services import business_settings


class UpdateParams(Params):
    """Any of the settings `get_params` lists; others are refused by name."""

    model_config = ConfigDict(extra="allow")


@endpoint("admin", "system", "get_params")
def get_params(call: Call, p: NoParams) -> BusinessSettings:
    """Every business setting and its value."""
    return business_settings.get(call.db)


@endpoint("admin", "system", "update_params", UpdateParams)
def update_params(call: Call, p: UpdateParams) -> BusinessSettings:
    """Change business settings; a bad value is refused naming the setting, nothing saved."""
    changes: dict[str, Any] = dict(p.model_extra or {})
    return business_settings.update(call.db, changes)
