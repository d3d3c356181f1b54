"""extension: list, activate, deactivate and uninstall extensions (admin)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.schemas.system import ExtensionPublic
from keyvend.services import extension

Name = Annotated[str, Field(max_length=64, description="Extension name, e.g. serviceapikey.")]


class NameParams(Params):
    id: Name


class UninstallParams(Params):
    id: Name
    confirm: bool = False


@endpoint("admin", "extension", "get_list")
def get_list(call: Call, p: NoParams) -> list[ExtensionPublic]:
    """Every extension and its status (active, inactive, not_installed)."""
    return extension.get_list(call.db)


@endpoint("admin", "extension", "activate", NameParams)
def activate(call: Call, p: NameParams) -> bool:
    """Install if needed and activate an extension."""
    return extension.activate(call.db, p.id)


@endpoint("admin", "extension", "deactivate", NameParams)
def deactivate(call: Call, p: NameParams) -> bool:
    """Deactivate an extension; its endpoints answer 715 but its data is kept."""
    return extension.deactivate(call.db, p.id)


@endpoint("admin", "extension", "uninstall", UninstallParams)
def uninstall(call: Call, p: UninstallParams) -> bool:
    """Drop an extension's table and all its data; needs confirm=1."""
    return extension.uninstall(call.db, p.id, confirm=p.confirm)
