"""Clients (FOSSBilling's `client` and `profile` modules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from keyvend.db.models import Client
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, InvalidInput, NotFound
from keyvend.domain.fields import choice, email_address, text
from keyvend.domain.passwords import check_strength, hash_password, random_password
from keyvend.domain.vault import new_token
from keyvend.services.auth import end_sessions
from keyvend.services.pagination import Page, paginate
from keyvend.services.staff import NewAccount

STATUSES = ("active", "suspended", "canceled")


def create(
    db: Database,
    *,
    email: str,
    first_name: str,
    last_name: str | None = None,
    password: str | None = None,
) -> NewAccount:
    """Create a client with a fresh API token (returned once, stored hashed)."""
    email = email_address(email)
    first = text(first_name, name="first_name", max_length=100, required=True)
    last = text(last_name, name="last_name", max_length=100)
    password = random_password() if password is None else password
    check_strength(password)
    token = new_token()
    with db.unit_of_work() as uow:
        _email_free(uow, email)
        client = Client(
            email=email,
            first_name=first,
            last_name=last,
            status="active",
            password_hash=hash_password(password),
            api_token_digest=db.vault.token_digest(token),
            created_at=uow.now(),
            updated_at=uow.now(),
        )
        uow.session.add(client)
        uow.commit()
        return NewAccount(client.id, email, password, token)


def get(db: Database, client_id: int) -> dict[str, Any]:
    """One client, as the admin sees it."""
    with db.unit_of_work(read_only=True) as uow:
        return to_api(_client(uow, client_id))


def get_list(
    db: Database, *, search: str | None = None, status: str | None = None, page: Page
) -> dict[str, Any]:
    """Clients, newest first, optionally filtered by a search text or status."""
    query = select(Client).order_by(Client.id.desc())
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Client.email).like(like),
                func.lower(Client.first_name).like(like),
                func.lower(Client.last_name).like(like),
            )
        )
    if status:
        query = query.where(Client.status == choice(status, name="status", options=STATUSES))
    with db.unit_of_work(read_only=True) as uow:
        return paginate(uow, query, page, to_api)


def update(db: Database, client_id: int, **changes: Any) -> bool:
    """Change a client's email, names, status or password."""
    with db.unit_of_work() as uow:
        client = _client(uow, client_id)
        if changes.get("email") is not None:
            email = email_address(changes["email"])
            if email != client.email:
                _email_free(uow, email)
            client.email = email
        if changes.get("first_name") is not None:
            client.first_name = text(
                changes["first_name"], name="first_name", max_length=100, required=True
            )
        if changes.get("last_name") is not None:
            client.last_name = text(changes["last_name"], name="last_name", max_length=100)
        if changes.get("status") is not None:
            client.status = choice(changes["status"], name="status", options=STATUSES)
        if changes.get("password") is not None:
            check_strength(changes["password"])
            client.password_hash = hash_password(changes["password"])
            end_sessions(uow, "client", client.id)  # a new password logs out every browser
        client.updated_at = uow.now()
        uow.commit()
    return True


def delete(db: Database, client_id: int) -> bool:
    """Delete a client with its orders and keys."""
    with db.unit_of_work() as uow:
        uow.session.delete(_client(uow, client_id))
        end_sessions(uow, "client", client_id)
        uow.commit()
    return True


def reset_api_token(db: Database, client_id: int) -> str:
    """A new client API token; the old one stops working at once."""
    token = new_token()
    with db.unit_of_work() as uow:
        client = _client(uow, client_id)
        client.api_token_digest = db.vault.token_digest(token)
        client.updated_at = uow.now()
        uow.commit()
    return token


def signup_allowed(allow: bool) -> None:
    """Raise if guests may not sign up."""
    if not allow:
        raise InvalidInput("New client sign-up is disabled")


def to_api(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "email": client.email,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "status": client.status,
        "created_at": client.created_at.isoformat(),
        "updated_at": client.updated_at.isoformat(),
    }


def _client(uow: UnitOfWork, client_id: int) -> Client:
    client = uow.session.get(Client, client_id)
    if client is None:
        raise NotFound("Client not found")
    return client


def _email_free(uow: UnitOfWork, email: str) -> None:
    if uow.session.scalar(select(Client.id).where(Client.email == email)) is not None:
        raise Conflict(f"Email {email} is already registered")
