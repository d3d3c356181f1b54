"""The background worker: a thread running the cron jobs, and the one `keyvend serve` starts.

The thread's cycles are awaited through its `cycle_done` event and stopping it is timed; the
real server is polled (with a deadline) until the row its worker writes appears.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from keyvend import worker
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.models import Session as SessionRow
from keyvend.db.unit_of_work import Database, utc_now
from keyvend.schemas.account import ClientCreate
from keyvend.schemas.order import OrderCreate
from keyvend.schemas.product import ProductCreate, ProductUpdate
from keyvend.services import auth, order, product
from keyvend.services import client as clients
from tests.conftest import SECRET, FakeClock
from tests.support.live_server import free_port, serve_in_process
from tests.support.smtp_server import SmtpServer

PROMPTLY = 1.0  # seconds a stop may take when the worker is waiting for its next cycle


def expired_order(db: Database, clock: FakeClock) -> int:
    """An active free 1M order that expired a month ago (by the clock the test drives)."""
    clock.now = utc_now() - timedelta(days=60)
    cid = clients.create(
        db, ClientCreate(email="jo@example.com", first_name="Jo", password="jo-pass-123")
    ).id
    pid = product.prepare(db, ProductCreate(title="Starter", type="apikey"))
    product.update(db, pid, ProductUpdate(status="enabled", setup="after_order"))
    made = order.create(db, OrderCreate(client_id=cid, product_id=pid, period="1M", activate=True))
    clock.now = utc_now()
    return made


@pytest.fixture
def background(settings: Settings, clock: FakeClock, db: Database) -> Iterator[worker.Worker]:
    """A worker (not started) with a Database of its own, waiting an hour between cycles."""
    hourly = settings.model_copy(update={"worker_interval": 3600.0})
    made = worker.Worker(build_database(hourly, clock), hourly)
    yield made
    made.stop()


def test_run_once_runs_the_cron_jobs(
    db: Database, clock: FakeClock, background: worker.Worker
) -> None:
    oid = expired_order(db, clock)
    summary = background.run_once()
    assert summary is not None and summary["suspended_orders"] == [oid]
    assert order.get(db, oid).status == "suspended"
    assert background.run_once() == {**summary, "suspended_orders": []}


def test_the_worker_thread_runs_a_cycle_at_once_and_stops_promptly(
    db: Database, clock: FakeClock, background: worker.Worker
) -> None:
    oid = expired_order(db, clock)
    auth.login(db, "client", email="jo@example.com", password="jo-pass-123", ttl_hours=1)
    clock.advance(hours=2)
    background.start()
    assert background.cycle_done.wait(30)
    assert order.get(db, oid).status == "suspended"
    with db.unit_of_work(read_only=True) as uow:  # the expired session was deleted
        assert uow.session.scalar(select(func.count()).select_from(SessionRow)) == 0
    assert background.running  # waiting an hour for its next cycle
    started = time.monotonic()
    background.stop()
    assert time.monotonic() - started < PROMPTLY
    assert not background.running


def test_the_worker_delivers_the_queued_mails_through_the_smtp_server_of_its_settings(
    settings: Settings, clock: FakeClock, db: Database
) -> None:
    with SmtpServer() as smtp:
        smtp_url = SecretStr(smtp.url)
        mailing = settings.model_copy(update={"smtp_url": smtp_url, "mail_from": "s@example.com"})
        made = worker.Worker(build_database(mailing, clock), mailing)
        try:
            clients.create(db, ClientCreate(email="jo@example.com", first_name="Jo"))
            summary = made.run_once()
            assert summary is not None and len(summary["emails_sent"]) == 1
            [welcome] = smtp.wait_for(1)
        finally:
            made.stop()
    assert welcome.to == ["jo@example.com"] and welcome.mail_from == "s@example.com"


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a database that cannot be used: a SQLite file that is not a database, or
    a PostgreSQL server that is not there."""
    if request.param == "sqlite":
        garbage = tmp_path / "keyvend.db"
        garbage.write_bytes(b"this is not a database" * 100)
        url = f"sqlite:///{garbage}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    return Settings(data_dir=tmp_path, database_url=url, secret_key=SECRET, worker_interval=0.01)


def test_a_database_outage_is_logged_and_the_worker_carries_on(
    unreachable: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = worker.Worker(build_database(unreachable), unreachable)
    with caplog.at_level(logging.ERROR, logger="keyvend.worker"):
        assert down.run_once() is None
        down.start()
        for _ in range(3):  # three more cycles: the thread lives on
            down.cycle_done.clear()
            assert down.cycle_done.wait(30)
            assert down.running
        down.stop()
    failures = [r for r in caplog.records if r.message.startswith("background jobs failed")]
    assert len(failures) >= 4
    assert all(r.exc_info for r in failures)


def test_an_interval_of_0_starts_no_worker(tmp_path: Path) -> None:
    off = Settings(data_dir=tmp_path, secret_key=SECRET, worker_interval=0)
    assert worker.start(off) is None


def test_keyvend_serve_runs_the_jobs_in_the_background(
    settings: Settings, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KEYVEND_DATA_DIR": str(tmp_path / "serve"),
        "KEYVEND_DATABASE_URL": str(settings.database_url),
        "KEYVEND_SECRET_KEY": SECRET,
        "KEYVEND_CONFIG": str(tmp_path / "absent.toml"),
        "KEYVEND_WORKER_INTERVAL": "0.1",
        "KEYVEND_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "keyvend.cli", "serve", "--port", str(port)]
    with serve_in_process(command, port=port, env=env):
        oid = expired_order(db, clock)  # made once the server runs: a later cycle finds it
        deadline = time.monotonic() + 30
        while order.get(db, oid).status != "suspended":
            assert time.monotonic() < deadline, "the server's worker did not suspend the order"
            time.sleep(0.05)
    assert order.get(db, oid).reason == f"Expired {order.get(db, oid).expires_at:%Y-%m-%d}"
