"""Clients (FOSSBilling's `client` and `profile` modules)."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from keyvend.db.models import Client
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict, InvalidInput, NotFound
from keyvend.domain.fields import choice, email_address, text
from keyvend.domain.passwords import check_strength, hash_password, random_password
from keyvend.domain.vault import new_token
from keyvend.schemas.account import (
    ClientCreate,
    ClientPublic,
    ClientStatus,
    ClientUpdate,
    NewAccount,
)
from keyvend.schemas.common import Page
from keyvend.services.auth import end_sessions
from keyvend.services.pagination import PageRequest, paginate

STATUSES = tuple(s.value for s in ClientStatus)


def create(db: Database, data: ClientCreate) -> NewAccount:
    """Create a client with a fresh API token (returned once, stored hashed)."""
    email = email_address(data.email)
    first = text(data.first_name, name="first_name", max_length=100, required=True)
    last = text(data.last_name, name="last_name", max_length=100)
    password = random_password() if data.password is None else data.password
    check_strength(password)
    token = new_token()
    with db.unit_of_work() as uow:
        _email_free(uow, email)
        client = Client(
            email=email,
            first_name=first,
            last_name=last,
            status=ClientStatus.ACTIVE,
            password_hash=hash_password(password),
            api_token_digest=db.vault.token_digest(token),
            created_at=uow.now(),
            updated_at=uow.now(),
        )
        uow.session.add(client)
        uow.commit()
        return NewAccount(id=client.id, email=email, password=password, api_token=token)


def signup(db: Database, data: ClientCreate, *, allowed: bool, confirm: str | None) -> int:
    """A guest signs up (when sign-up is allowed); `confirm` must repeat the password."""
    if not allowed:
        raise InvalidInput("New client sign-up is disabled")
    if confirm is not None and confirm != data.password:
        raise InvalidInput("password_confirm does not match password", field="password")
    return create(db, data).id


def get(db: Database, client_id: int) -> ClientPublic:
    """One client, as the admin sees it."""
    with db.unit_of_work(read_only=True) as uow:
        return ClientPublic.model_validate(_client(uow, client_id))


def get_list(
    db: Database, *, search: str | None = None, status: str | None = None, page: PageRequest
) -> Page[ClientPublic]:
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
        return paginate(uow, query, page, ClientPublic)


def update(db: Database, client_id: int, changes: ClientUpdate) -> bool:
    """Change a client's email, names, status or password (unset or null fields stay)."""
    sent = changes.model_dump(exclude_unset=True, exclude_none=True)
    with db.unit_of_work() as uow:
        client = _client(uow, client_id)
        if "email" in sent:
            email = email_address(sent["email"])
            if email != client.email:
                _email_free(uow, email)
            client.email = email
        if "first_name" in sent:
            client.first_name = text(
                sent["first_name"], name="first_name", max_length=100, required=True
            )
        if "last_name" in sent:
            client.last_name = text(sent["last_name"], name="last_name", max_length=100)
        if "status" in sent:
            client.status = ClientStatus(choice(sent["status"], name="status", options=STATUSES))
        if "password" in sent:
            check_strength(sent["password"])
            client.password_hash = hash_password(sent["password"])
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


def _client(uow: UnitOfWork, client_id: int) -> Client:
    client = uow.session.get(Client, client_id)
    if client is None:
        raise NotFound("Client not found")
    return client


def _email_free(uow: UnitOfWork, email: str) -> None:
    if uow.session.scalar(select(Client.id).where(Client.email == email)) is not None:
        raise Conflict(f"Email {email} is already registered")
