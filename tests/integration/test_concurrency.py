"""Concurrent resets, checks and activations on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from keyvend.db.models import ApiKeyService
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import Conflict, NotFound
from keyvend.domain.order_states import Action
from keyvend.schemas.order import OrderCreate
from keyvend.services import order, serviceapikey
from tests.conftest import Api
from tests.support.keys import key_via_service


def run_together(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Run every task on its own thread at once; return results or the exceptions raised."""

    def outcome(task: Callable[[], Any]) -> Any:
        try:
            return task()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(outcome, tasks))


def test_fifty_concurrent_resets_and_checks_leave_exactly_one_valid_key(
    db: Database, active_order: dict[str, Any]
) -> None:
    oid, first_key = active_order["id"], active_order["key"]
    resets = [lambda: serviceapikey.reset(db, order_id=oid) for _ in range(25)]
    checks = [lambda: serviceapikey.check(db, first_key) for _ in range(25)]
    interleaved = [task for pair in zip(resets, checks, strict=True) for task in pair]
    outcomes = run_together(interleaved)
    reset_outcomes, check_outcomes = outcomes[0::2], outcomes[1::2]
    assert reset_outcomes == [True] * 25
    # A check sees the key either before a reset (valid) or after (gone): nothing else.
    assert all(o is True or isinstance(o, NotFound) for o in check_outcomes), check_outcomes
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalar(select(func.count()).where(ApiKeyService.order_id == oid))
    assert rows == 1
    final_key = key_via_service(db, oid)
    assert serviceapikey.check(db, final_key) is True
    assert isinstance(run_together([lambda: serviceapikey.check(db, first_key)])[0], NotFound)


def test_concurrent_activations_of_one_order_issue_exactly_one_key(
    db: Database, api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    oid = order.create(
        db, OrderCreate(client_id=customer["id"], product_id=product_id, period="1M")
    )
    outcomes = run_together([lambda: order.act(db, oid, Action.ACTIVATE) for _ in range(20)])
    assert outcomes.count(True) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if o is not True), outcomes
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.scalar(select(func.count()).where(ApiKeyService.order_id == oid))
    assert rows == 1
    assert serviceapikey.check(db, key_via_service(db, oid)) is True


def test_concurrent_activations_of_many_orders_never_duplicate_a_key(
    db: Database, api: Api, product_id: int, customer: dict[str, Any]
) -> None:
    ids = [
        order.create(db, OrderCreate(client_id=customer["id"], product_id=product_id, period="1M"))
        for _ in range(20)
    ]
    outcomes = run_together([lambda oid=oid: order.act(db, oid, Action.ACTIVATE) for oid in ids])
    assert outcomes == [True] * 20
    with db.unit_of_work(read_only=True) as uow:
        digests = uow.session.scalars(select(ApiKeyService.key_digest)).all()
    assert len(digests) == len(set(digests)) == 20
    assert {serviceapikey.check(db, key_via_service(db, oid)) for oid in ids} == {True}
