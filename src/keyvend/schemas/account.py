"""Accounts: clients and administrators."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from keyvend.schemas.common import Schema, Timestamp


class ClientStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELED = "canceled"


class ClientCreate(Schema):
    """A new client; without a password one is generated (and shown once)."""

    email: str
    first_name: str
    last_name: str | None = None
    password: str | None = None


class ClientUpdate(Schema):
    """Fields left unset (or null) are not changed; a new password ends every session."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_1: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    status: str | None = None
    password: str | None = None


class ProfileUpdate(Schema):
    """A client's own profile fields; unset (or null) ones are not changed."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_1: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None


class ClientPublic(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    company: str
    address_1: str
    city: str
    postcode: str
    country: str
    status: ClientStatus
    created_at: Timestamp
    updated_at: Timestamp


class ClientLogin(ClientPublic):
    """`guest/client/login`: the client, and the CSRF token that session calls send."""

    csrf_token: str


class StaffCreate(Schema):
    """A new administrator; without a password one is generated (and shown once)."""

    email: str
    name: str | None = None  # the part of the email before the @ when not given
    password: str | None = None


class StaffUpdate(Schema):
    """Fields left unset (or null) are not changed."""

    email: str | None = None
    name: str | None = None


class StaffPublic(Schema):
    id: int
    email: str
    name: str
    role: Literal["admin"] = "admin"


class StaffLogin(StaffPublic):
    """`guest/staff/login`: the administrator, and the CSRF token that session calls send."""

    csrf_token: str


class NewAccount(Schema):
    """An account just created, with the secrets shown to its owner once."""

    id: int
    email: str
    password: str
    api_token: str

    def public(self) -> dict[str, object]:
        """What the CLI prints: never the password."""
        return self.model_dump(include={"id", "email", "api_token"})
