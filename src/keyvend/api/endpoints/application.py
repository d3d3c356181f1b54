"""application: the programs that check keys, each with its own token (admin)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from keyvend.api.endpoints.fields import Id, IdParams
from keyvend.api.registry import Call, NoParams, Params, endpoint
from keyvend.schemas.application import ApplicationPublic, ApplicationToken
from keyvend.services import application

Name = Annotated[str, Field(max_length=100, description="What the application is called.")]


class CreateParams(Params):
    name: Name


class UpdateParams(Params):
    id: Id
    name: Name


@endpoint("admin", "application", "create", CreateParams)
def create(call: Call, p: CreateParams) -> ApplicationToken:
    """Create an application: {id, token}; the token is shown this once, stored hashed."""
    return application.create(call.db, name=p.name)


@endpoint("admin", "application", "get_list", NoParams)
def get_list(call: Call, p: NoParams) -> list[ApplicationPublic]:
    """Every application with the start of its token (never the token itself)."""
    return application.get_list(call.db)


@endpoint("admin", "application", "update", UpdateParams)
def update(call: Call, p: UpdateParams) -> bool:
    """Rename an application."""
    return application.update(call.db, application_id=p.id, name=p.name)


@endpoint("admin", "application", "reset_token", IdParams)
def reset_token(call: Call, p: IdParams) -> ApplicationToken:
    """A new token for the application, shown once; the old one stops working."""
    return application.reset_token(call.db, application_id=p.id)


@endpoint("admin", "application", "delete", IdParams)
def delete(call: Call, p: IdParams) -> bool:
    """Delete an application; its token stops working."""
    return application.delete(call.db, application_id=p.id)
