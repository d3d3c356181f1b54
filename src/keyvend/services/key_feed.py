"""The feed of key changes in each server process: the `events` table, followed.

One thread per process reads every event it has not seen, as soon as the database says the
table grew (`adapters.notify`: LISTEN/NOTIFY on PostgreSQL, polling on SQLite). For each
event that can change a key's answer it evicts those keys from the process's key cache and
hands the change to every subscriber (the revocation stream's connections).

Sequence numbers are handed out at insert but become visible at commit, so a lower one can
appear after a higher one (two transactions committing in the other order). The follower
remembers the numbers it skipped for `GAP_SECONDS` and asks for them again, so a late commit
is delivered late, never lost; a rolled-back transaction's number is forgotten after that.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from keyvend.adapters.notify import Notifications, notifications_for
from keyvend.db.engine import make_engine
from keyvend.db.models import Event
from keyvend.db.unit_of_work import NOTIFY_CHANNEL, Database

log = logging.getLogger("keyvend.key_feed")
GAP_SECONDS = 60.0
MAX_GAPS = 10_000
BATCH = 500
RETRY_SECONDS = 1.0
QUEUE_SIZE = 10_000


@dataclass(frozen=True)
class KeyChange:
    """An event that can change key answers: its seq, type, time and the keys' fingerprints."""

    seq: int
    type: str
    at: datetime
    fingerprints: tuple[str, ...]


Subscriber = tuple[asyncio.AbstractEventLoop, "asyncio.Queue[KeyChange | None]"]


class KeyFeed:
    """Follows the events of `db` on a thread of its own (`start`, `stop`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Its own engine: polling never takes a connection from the requests' pool.
        self._engine = make_engine(db.engine.url.render_as_string(hide_password=False))
        self.last_seq = 0
        self._started = False
        self.following = threading.Event()  # set while changes are being followed
        self._gaps: dict[int, float] = {}
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow from now on (again, after a `stop`: an app's lifespan may run twice)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keyvend-key-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._engine.dispose()
        self.db.key_cache.stop()
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            _hand(loop, queue, None)

    def subscribe(self) -> asyncio.Queue[KeyChange | None]:
        """A queue of the changes from now on (None: the feed ended, reconnect)."""
        queue: asyncio.Queue[KeyChange | None] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._subscribers.add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[KeyChange | None]) -> None:
        with self._lock:
            self._subscribers = {s for s in self._subscribers if s[1] is not queue}

    def _run(self) -> None:
        while not self._stop.is_set():
            notifications: Notifications | None = None
            try:
                notifications = notifications_for(self._engine, NOTIFY_CHANNEL)
                self._follow(notifications)
            except Exception:
                log.exception("key feed lost the database; retrying in %s s", RETRY_SECONDS)
                self.following.clear()
                self.db.key_cache.stop()  # nothing cached may outlive what we cannot hear
                self._stop.wait(RETRY_SECONDS)
            finally:
                if notifications is not None:
                    notifications.close()

    def _follow(self, notifications: Notifications) -> None:
        if not self._started:  # from now on: what happened before is in every answer
            with self._engine.connect() as connection:
                self.last_seq = int(connection.scalar(select(func.max(Event.seq))) or 0)
            self._started = True
        while not self._stop.is_set():
            self._deliver(self._read())
            if not self.following.is_set():
                self.db.key_cache.start()  # caught up: from now on every change is heard
                self.following.set()
            notifications.wait(self._stop)

    def _read(self) -> list[KeyChange]:
        """Every event after `last_seq`, and any skipped number that has appeared since."""
        now = time.monotonic()
        self._gaps = {seq: t for seq, t in self._gaps.items() if now - t < GAP_SECONDS}
        query = select(Event.seq, Event.type, Event.at, Event.fingerprints)
        newer = Event.seq > self.last_seq
        query = query.where(or_(newer, Event.seq.in_(list(self._gaps))) if self._gaps else newer)
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(Event.seq).limit(BATCH)).all()
        changes = []
        for seq, type_, at, fingerprints in rows:
            self._note(seq, now)
            if fingerprints is not None:
                changes.append(KeyChange(seq, type_, at, tuple(fingerprints)))
        return changes

    def _note(self, seq: int, now: float) -> None:
        if seq in self._gaps:
            del self._gaps[seq]
            return
        if seq > self.last_seq + 1 and len(self._gaps) < MAX_GAPS:
            for skipped in range(self.last_seq + 1, min(seq, self.last_seq + 1 + MAX_GAPS)):
                self._gaps[skipped] = now
        self.last_seq = max(self.last_seq, seq)

    def _deliver(self, changes: list[KeyChange]) -> None:
        if not changes:
            return
        for change in changes:
            self.db.key_cache.evict(change.fingerprints)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            for change in changes:
                _hand(loop, queue, change)


def latest_seq(db: Database) -> int:
    """The newest event's seq (0 for none)."""
    with db.unit_of_work(read_only=True) as uow:
        return int(uow.session.scalar(select(func.max(Event.seq))) or 0)


def changes_after(db: Database, seq: int, *, limit: int = BATCH) -> list[KeyChange]:
    """The key changes after `seq`, oldest first (a stream's replay from Last-Event-ID)."""
    query = (
        select(Event.seq, Event.type, Event.at, Event.fingerprints)
        .where(Event.seq > seq, Event.fingerprints.is_not(None))
        .order_by(Event.seq)
        .limit(limit)
    )
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(query).all()
    return [KeyChange(s, t, at, tuple(f or ())) for s, t, at, f in rows]


def _hand(loop: asyncio.AbstractEventLoop, queue: Any, change: KeyChange | None) -> None:
    """Put `change` on a subscriber's queue from this thread; a full queue ends that stream
    (its client reconnects and replays what it missed)."""

    def put() -> None:
        try:
            queue.put_nowait(change)
        except asyncio.QueueFull:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    try:
        loop.call_soon_threadsafe(put)
    except RuntimeError:  # the subscriber's loop is closed
        return
