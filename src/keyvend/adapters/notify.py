"""Change notification: how a process learns that the `events` table has grown.

`Listening` (PostgreSQL) holds one connection in LISTEN on the channel that key-changing
units of work NOTIFY in their transaction, so a commit wakes every server at once; it also
wakes every `SAFETY_POLL` seconds in case a notification was missed. `Polling` (SQLite, which
has no notifications) wakes every `POLL_SECONDS`; the read it triggers is one indexed range
query on the events' primary key. Either way the follower then reads the events it has not
seen (`services.key_feed`), so a missed wake-up delays a change, never loses it.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from sqlalchemy import Engine

POLL_SECONDS = 0.02
SAFETY_POLL = 1.0


class Notifications(Protocol):
    def wait(self, stop: threading.Event) -> None:
        """Return when something may have changed (or `stop` is set)."""
        ...

    def close(self) -> None: ...


class Polling:
    """No notifications: wake every `interval` seconds."""

    def __init__(self, interval: float = POLL_SECONDS) -> None:
        self.interval = interval

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.interval)

    def close(self) -> None:
        return None


class Listening:
    """PostgreSQL LISTEN on `channel`, on a connection of its own (autocommit)."""

    def __init__(self, engine: Engine, channel: str) -> None:
        import psycopg

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: Any = psycopg.connect(url, autocommit=True)
        self._connection.execute(f"LISTEN {channel}")

    def wait(self, stop: threading.Event) -> None:
        # Returns at the first notification (several in a burst are read together next).
        for _ in self._connection.notifies(timeout=SAFETY_POLL, stop_after=1):
            break

    def close(self) -> None:
        self._connection.close()


def notifications_for(engine: Engine, channel: str) -> Notifications:
    """LISTEN on PostgreSQL, polling anywhere else."""
    if engine.dialect.name == "postgresql":
        return Listening(engine, channel)
    return Polling()
