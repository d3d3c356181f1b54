"""The unit of work rolls back unless committed; key assignment retries a taken key."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from keyvend.db.models import ApiKeyService, Client, Order
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import Conflict
from keyvend.services import apikey_type
from tests.conftest import FakeClock
from tests.support.keys import key_in_db


def new_client(uow: UnitOfWork, email: str) -> Client:
    client = Client(
        email=email,
        first_name="Jo",
        last_name="",
        status="active",
        password_hash="not-a-hash",
        api_token_digest=f"digest-of-{email}",
        created_at=uow.now(),
        updated_at=uow.now(),
    )
    uow.session.add(client)
    return client


def emails(db: Database) -> list[str]:
    with db.unit_of_work(read_only=True) as uow:
        return list(uow.session.scalars(select(Client.email).order_by(Client.email)))


def test_leaving_without_commit_rolls_back(db: Database) -> None:
    with db.unit_of_work() as uow:
        new_client(uow, "gone@example.com")
        uow.session.flush()
        assert uow.session.scalar(select(func.count()).select_from(Client)) == 1
    assert emails(db) == []


def test_commit_persists(db: Database) -> None:
    with db.unit_of_work() as uow:
        new_client(uow, "kept@example.com")
        uow.commit()
    assert emails(db) == ["kept@example.com"]


def test_an_exception_rolls_back_and_propagates(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), db.unit_of_work() as uow:
        new_client(uow, "gone@example.com")
        uow.session.flush()
        raise RuntimeError("boom")
    assert emails(db) == []


def test_only_what_was_committed_before_leaving_persists(db: Database) -> None:
    with db.unit_of_work() as uow:
        new_client(uow, "first@example.com")
        uow.commit()
        new_client(uow, "second@example.com")
        uow.session.flush()
    assert emails(db) == ["first@example.com"]


def test_results_read_inside_a_unit_stay_readable_after_it(db: Database) -> None:
    with db.unit_of_work() as uow:
        client = new_client(uow, "kept@example.com")
        uow.commit()
    assert client.id is not None
    assert client.email == "kept@example.com"


def test_a_read_only_unit_does_not_see_an_open_units_uncommitted_rows(db: Database) -> None:
    with db.unit_of_work() as writer:
        new_client(writer, "pending@example.com")
        writer.session.flush()
        assert emails(db) == []  # and the reader was not blocked by the open writer
        writer.commit()
    assert emails(db) == ["pending@example.com"]


def test_a_unit_tells_the_time_by_the_databases_clock(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as uow:
        before = uow.now()
        clock.advance(days=3)
        assert (uow.now() - before).days == 3
        client = new_client(uow, "timed@example.com")
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        stored = uow.session.get(Client, client.id)
        assert stored is not None
        assert stored.created_at == clock.now


# -- a generated key that is already taken is retried -------------------------------------------


@pytest.fixture
def orders(db: Database) -> list[int]:
    """Two pending orders of one client; no service yet."""
    with db.unit_of_work() as uow:
        client = new_client(uow, "owner@example.com")
        uow.session.flush()
        made = [
            Order(
                client_id=client.id,
                title="Starter",
                type="apikey",
                status="pending_setup",
                quantity=1,
                price=0,
                config={"length": 16, "split": False},
                created_at=uow.now(),
                updated_at=uow.now(),
            )
            for _ in range(2)
        ]
        uow.session.add_all(made)
        uow.commit()
    return [order.id for order in made]


def issue(db: Database, order_id: int) -> str:
    """Create the order's key service through assign_new_key and commit it."""
    with db.unit_of_work() as uow:
        order = uow.session.get(Order, order_id)
        assert order is not None
        service = ApiKeyService(
            order_id=order.id,
            client_id=order.client_id,
            enabled=True,
            config=dict(order.config),
            created_at=uow.now(),
            updated_at=uow.now(),
        )
        key = apikey_type.assign_new_key(uow, service)
        uow.session.add(service)
        uow.commit()
    return key


def scripted_keys(monkeypatch: pytest.MonkeyPatch, keys: list[str]) -> list[Any]:
    """Make generate_key hand out `keys` in order; returns the list of formats it was asked."""
    calls: list[Any] = []

    def fake_generate_key(fmt: Any) -> str:
        calls.append(fmt)
        return keys[len(calls) - 1]

    monkeypatch.setattr(apikey_type, "generate_key", fake_generate_key)
    return calls


def test_a_generated_key_that_is_taken_is_retried_with_a_fresh_one(
    db: Database, orders: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted_keys(monkeypatch, ["AAAABBBBCCCCDDDD"])
    issue(db, orders[0])
    calls = scripted_keys(monkeypatch, ["AAAABBBBCCCCDDDD", "1111222233334444"])
    assert issue(db, orders[1]) == "1111222233334444"
    assert len(calls) == 2
    assert calls[0].length == 16 and calls[0].split is False  # the service's own format
    assert key_in_db(db, orders[0]) == "AAAABBBBCCCCDDDD"
    assert key_in_db(db, orders[1]) == "1111222233334444"


def test_a_key_differing_from_a_taken_one_only_in_case_counts_as_taken(
    db: Database, orders: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted_keys(monkeypatch, ["AAAABBBBCCCCDDDD"])
    issue(db, orders[0])
    calls = scripted_keys(monkeypatch, ["aaaabbbbccccdddd", "1111222233334444"])
    assert issue(db, orders[1]) == "1111222233334444"
    assert len(calls) == 2


def test_when_every_attempt_is_taken_key_assignment_gives_up_with_a_conflict(
    db: Database, orders: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted_keys(monkeypatch, ["AAAABBBBCCCCDDDD"])
    issue(db, orders[0])
    calls = scripted_keys(monkeypatch, ["AAAABBBBCCCCDDDD"] * apikey_type.MAX_ATTEMPTS)
    with pytest.raises(Conflict, match="Could not generate a unique API key"):
        issue(db, orders[1])
    assert len(calls) == apikey_type.MAX_ATTEMPTS
    with db.unit_of_work(read_only=True) as uow:
        assert apikey_type.service_of(uow, orders[1]) is None


def test_a_unique_clash_at_commit_is_a_conflict_and_keeps_nothing(db: Database) -> None:
    with db.unit_of_work() as uow:
        new_client(uow, "first@example.com")
        uow.commit()
    with pytest.raises(Conflict, match="conflicts with existing data"), db.unit_of_work() as uow:
        new_client(uow, "first@example.com")
        new_client(uow, "second@example.com")
        uow.commit()
    assert emails(db) == ["first@example.com"]


def test_a_unique_clash_at_flush_is_a_conflict_too(db: Database) -> None:
    with db.unit_of_work() as uow:
        new_client(uow, "first@example.com")
        uow.commit()
    with pytest.raises(Conflict), db.unit_of_work() as uow:
        new_client(uow, "first@example.com")
        uow.flush()
    assert emails(db) == ["first@example.com"]
