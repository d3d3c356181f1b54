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
    ProfileUpdate,
)
from keyvend.schemas.common import Page
from keyvend.services import password_reset
from keyvend.services.auth import check_password, end_sessions
from keyvend.services.pagination import PageRequest, paginate

STATUSES = tuple(s.value for s in ClientStatus)
# Each profile field's longest value (the column's length); first_name may not be empty.
PROFILE_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "company": 255,
    "address_1": 255,
    "city": 100,
    "postcode": 32,
    "country": 100,
}
TAKEN = "Email {email} is already registered"
# Sign-up is read by people, not programs: its refusals say what to do, field by field.
SIGNUP_WORDS = {
    "email": "Please enter a valid email address",
    "first_name": "Please enter your first name (at most 100 characters)",
    "last_name": "Your last name can be at most 100 characters",
    "password": "The password must be 8 to 256 characters long",
}


def create(db: Database, data: ClientCreate) -> NewAccount:
    """Create a client with a fresh API token (returned once, stored hashed)."""
    return _create(db, data, taken=TAKEN)


def signup(db: Database, data: ClientCreate, *, allowed: bool, confirm: str | None) -> int:
    """A guest signs up (when sign-up is allowed); `confirm` must repeat the password."""
    if not allowed:
        raise InvalidInput("New client sign-up is disabled")
    if confirm is not None and confirm != data.password:
        raise InvalidInput("The two passwords do not match", field="password_confirm")
    try:
        return _create(db, data, taken="This email is already registered").id
    except InvalidInput as exc:
        raise InvalidInput(
            SIGNUP_WORDS.get(exc.field or "", exc.message), field=exc.field
        ) from None


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
            _set_email(uow, client, email_address(sent["email"]), taken=TAKEN)
        _set_profile(client, ProfileUpdate.model_validate(sent))
        if "status" in sent:
            client.status = ClientStatus(choice(sent["status"], name="status", options=STATUSES))
        if "password" in sent:
            check_strength(sent["password"])
            client.password_hash = hash_password(sent["password"])
            end_sessions(uow, "client", client.id)  # a new password logs out every browser
        client.updated_at = uow.now()
        uow.record("client.updated", client_id=client.id, data={"fields": sorted(sent)})
        uow.commit()
    return True


def delete(db: Database, client_id: int) -> bool:
    """Delete a client with its orders and keys."""
    with db.unit_of_work() as uow:
        client = _client(uow, client_id)
        # Recorded first: the event names the client's keys, which die with the client.
        uow.record("client.deleted", client_id=client_id)
        uow.session.delete(client)
        end_sessions(uow, "client", client_id)
        password_reset.forget(uow, "client", client_id)
        uow.commit()
    return True


def update_profile(db: Database, client_id: int, data: ProfileUpdate) -> ClientPublic:
    """A client changes their own names and address; bad input changes nothing."""
    sent = sorted(data.model_dump(exclude_unset=True, exclude_none=True))
    with db.unit_of_work() as uow:
        uow.actor = f"client:{client_id}"
        client = _client(uow, client_id)
        _set_profile(client, data)
        client.updated_at = uow.now()
        uow.record("client.updated", client_id=client.id, data={"fields": sent})
        uow.commit()
        return ClientPublic.model_validate(client)


def change_password(
    db: Database,
    client_id: int,
    *,
    current_password: str,
    new_password: str,
    keep_session: str | None = None,
) -> bool:
    """A client sets a new password, giving the current one; every other session ends
    (`keep_session` is the digest of the caller's own session token, if it has one)."""
    check_strength(new_password)
    with db.unit_of_work() as uow:
        uow.actor = f"client:{client_id}"
        client = _client(uow, client_id)
        check_password(client, current_password, field="current_password")
        client.password_hash = hash_password(new_password)
        client.updated_at = uow.now()
        end_sessions(uow, "client", client.id, keep=keep_session)
        uow.record("client.updated", client_id=client.id, data={"fields": ["password"]})
        uow.commit()
    return True


def change_email(db: Database, client_id: int, *, email: str, password: str) -> bool:
    """A client moves their account to another email, giving their password."""
    address = email_address(email)
    with db.unit_of_work() as uow:
        uow.actor = f"client:{client_id}"
        client = _client(uow, client_id)
        check_password(client, password, field="password")
        _set_email(uow, client, address, taken="This email is already registered")
        client.updated_at = uow.now()
        uow.record("client.updated", client_id=client.id, data={"fields": ["email"]})
        uow.commit()
    return True


def reset_api_token(db: Database, client_id: int) -> str:
    """A new client API token; the old one stops working at once."""
    token = new_token()
    with db.unit_of_work() as uow:
        client = _client(uow, client_id)
        client.api_token_digest = db.vault.token_digest(token)
        client.updated_at = uow.now()
        uow.record("client.updated", client_id=client.id, data={"fields": ["api_token"]})
        uow.commit()
    return token


def _create(db: Database, data: ClientCreate, *, taken: str) -> NewAccount:
    """Create the client; `taken` is the refusal for a registered email."""
    email = email_address(data.email)
    first = text(data.first_name, name="first_name", max_length=100, required=True)
    last = text(data.last_name, name="last_name", max_length=100)
    password = random_password() if data.password is None else data.password
    check_strength(password)
    token = new_token()
    with db.unit_of_work() as uow:
        _email_free(uow, email, taken)
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
        uow.flush()
        uow.record("client.created", client_id=client.id)
        uow.commit()
        return NewAccount(id=client.id, email=email, password=password, api_token=token)


def _set_profile(client: Client, data: ProfileUpdate) -> None:
    """Validate every field sent before setting any, so bad input changes nothing."""
    sent = data.model_dump(exclude_unset=True, exclude_none=True)
    checked = {
        name: text(value, name=name, max_length=PROFILE_FIELDS[name], required=name == "first_name")
        for name, value in sent.items()
    }
    for name, value in checked.items():
        setattr(client, name, value)


def _set_email(uow: UnitOfWork, client: Client, email: str, *, taken: str) -> None:
    """Move the client to `email`; links mailed to the old address stop working."""
    if email == client.email:
        return
    _email_free(uow, email, taken)
    client.email = email
    password_reset.forget(uow, "client", client.id)


def _client(uow: UnitOfWork, client_id: int) -> Client:
    client = uow.session.get(Client, client_id)
    if client is None:
        raise NotFound("Client not found")
    return client


def _email_free(uow: UnitOfWork, email: str, taken: str) -> None:
    if uow.session.scalar(select(Client.id).where(Client.email == email)) is not None:
        error = Conflict(taken.format(email=email))
        error.field = "email"  # the form field to mark
        raise error
