"""The unit of work: one transaction that rolls back unless committed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from keyvend.adapters.meter import MemoryMeter, Meter
from keyvend.db.engine import READ_ONLY
from keyvend.db.key_cache import KeyCache
from keyvend.db.key_fingerprints import fingerprints_of
from keyvend.db.key_index import KeyIndex
from keyvend.db.models import Event
from keyvend.db.usage_tally import UsageTally
from keyvend.domain.errors import Conflict
from keyvend.domain.shop import Shop
from keyvend.domain.vault import KeyVault

CONFLICT_MESSAGE = "The change conflicts with existing data; please try again"
Clock = Callable[[], datetime]
# Readers of the event spine that act in the event's own transaction (the email outbox):
# each gets the unit of work, the event and its private context. Registered by services.
EventReader = Callable[["UnitOfWork", Event, dict[str, Any]], None]
EVENT_READERS: list[EventReader] = []
# Who the events of this context's units of work name (admin:<id>, client:<id>, system): set
# once per request by the API dispatcher and the pages (`acting_as`), read by every unit.
ACTOR: ContextVar[str] = ContextVar("keyvend_actor", default="system")
# PostgreSQL: a key-changing event wakes every server's feed when its transaction commits.
NOTIFY_CHANNEL = "keyvend_keys"


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Name `actor` in every event recorded inside the block."""
    token = ACTOR.set(actor)
    try:
        yield
    finally:
        ACTOR.reset(token)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Database:
    """The engine plus what every unit of work needs (vault, clock, the shop's facts), and
    what the key checks of this process share: the key index, the usage tally and the
    quota meter (in memory unless the app passes a Redis one)."""

    def __init__(
        self,
        engine: Engine,
        vault: KeyVault,
        clock: Clock = utc_now,
        *,
        timeout: float = 5.0,
        shop: Shop | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.engine = engine
        self.vault = vault
        self.clock = clock
        self.timeout = timeout
        self.shop = shop or Shop()
        # A PostgreSQL round trip can hang (a partition, a paused server): reads that the
        # event loop would run inline go to a thread instead (see `edge.off_loop`).
        self.reads_block = engine.dialect.name == "postgresql"
        self.keys = KeyIndex(engine, timeout=timeout)
        self.usage = UsageTally()
        self.key_cache = KeyCache()
        self.meter: Meter = meter or MemoryMeter(
            seed=self.keys.spent, clock=lambda: clock().timestamp()
        )
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    def dispose(self) -> None:
        """Close every pooled connection and this thread's key-index connection."""
        self.keys.dispose()
        self.engine.dispose()

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        factory = self._read_sessions if read_only else self._sessions
        return UnitOfWork(factory(), self.vault, self.clock, self.shop, self.key_cache)


class UnitOfWork:
    """`with db.unit_of_work() as uow: ...; uow.commit()`; leaving without commit rolls back."""

    def __init__(
        self,
        session: Session,
        vault: KeyVault,
        clock: Clock,
        shop: Shop | None = None,
        key_cache: KeyCache | None = None,
    ) -> None:
        self.session = session
        self.vault = vault
        self.clock = clock
        self.shop = shop or Shop()
        self.actor = ACTOR.get()  # who the recorded events name
        self._key_cache = key_cache
        self._changed_keys: list[str] = []  # fingerprints to evict once committed

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches objects without
        # expiring them, so results read inside the unit stay readable after it.
        self.session.close()

    def commit(self) -> None:
        """Commit; a unique or foreign-key clash (a concurrent change) becomes Conflict."""
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise Conflict(CONFLICT_MESSAGE) from None
        if self._changed_keys and self._key_cache is not None:
            # Zero lag in this process; the others hear of it through the feed.
            self._key_cache.evict(self._changed_keys)
        self._changed_keys = []

    def flush(self) -> None:
        """Send pending changes (to learn new ids); clashes become Conflict as at commit."""
        try:
            self.session.flush()
        except IntegrityError:
            self.session.rollback()
            raise Conflict(CONFLICT_MESSAGE) from None

    def now(self) -> datetime:
        return self.clock()

    def record(
        self,
        type: str,
        *,
        client_id: int | None = None,
        order_id: int | None = None,
        invoice_id: int | None = None,
        data: dict[str, Any] | None = None,
        private: dict[str, Any] | None = None,
    ) -> Event:
        """Append an event to the spine, in this transaction: it exists only if the change
        commits. `data` must never hold a key, token or password; `private` (a reset link,
        say) is handed to the in-transaction readers and never stored in the event."""
        event = Event(
            at=self.now(),
            type=type,
            actor=self.actor,
            client_id=client_id,
            order_id=order_id,
            invoice_id=invoice_id,
            data=data or {},
        )
        event.fingerprints = fingerprints_of(self.session, self.vault, event)
        if event.fingerprints is not None:
            self._changed_keys.extend(event.fingerprints)
            if self.session.get_bind().dialect.name == "postgresql":
                self.session.execute(text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"))
        self.session.add(event)
        for reader in EVENT_READERS:
            reader(self, event, private or {})
        return event
