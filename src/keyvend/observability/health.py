"""Readiness: is the database reachable and at the newest migration, and how is Redis?

A server whose database is unreachable or not migrated cannot answer a key check, so it is
not ready (503) and a load balancer should send it nothing. Redis is reported but never makes
a server unready: when Redis is down the rate limiter counts in memory and every call is still
answered, and taking every server out of rotation at once would turn a Redis blip into an
outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import anyio
import anyio.to_thread
import redis
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from keyvend.db.migrate import MIGRATIONS

# Redis answers in well under a millisecond when it is well (as the rate limiter assumes).
REDIS_TIMEOUT_SECONDS = 0.1
# A probe that waits longer than this has failed anyway (Kubernetes' default probe timeout is
# 1 s); a hung database makes /readyz say so instead of hanging with it.
DATABASE_WAIT_SECONDS = 1.0
OK = "ok"
DOWN = "down"
NOT_CONFIGURED = "not configured"
UNREACHABLE = "unreachable"
NO_ANSWER = "no answer"


@dataclass(frozen=True)
class Readiness:
    """What /readyz answers: the state of each part and whether the server is ready."""

    database: str
    redis: str

    @property
    def ready(self) -> bool:
        return self.database == OK

    def as_json(self) -> dict[str, str]:
        status = "ready" if self.ready else "not ready"
        return {"status": status, "database": self.database, "redis": self.redis}


class ReadinessProbe:
    """Checks the parts a server needs, each time it is asked (no cached answer)."""

    def __init__(self, engine: Engine, redis_url: str | None) -> None:
        self.engine = engine
        self.redis = (
            redis.Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            if redis_url
            else None
        )

    async def check(self) -> Readiness:
        """Both parts, each in a worker thread; the database gets DATABASE_WAIT_SECONDS."""
        database = NO_ANSWER
        with anyio.move_on_after(DATABASE_WAIT_SECONDS):
            # Abandoned, not waited for, when the database hangs: the thread ends by itself.
            database = await anyio.to_thread.run_sync(self.database, abandon_on_cancel=True)
        return Readiness(database=database, redis=await anyio.to_thread.run_sync(self.redis_state))

    def database(self) -> str:
        """`ok`, `unreachable` or `not migrated (...)`: one connection, one small query."""
        try:
            with self.engine.connect() as connection:
                current = set(MigrationContext.configure(connection).get_current_heads())
        except (SQLAlchemyError, OSError):
            return UNREACHABLE
        head = script_heads()
        if current != head:
            at = ", ".join(sorted(current)) or "none"
            return f"not migrated (at {at}, head {', '.join(sorted(head))})"
        return OK

    def redis_state(self) -> str:
        """`ok`, `down` or `not configured`: one PING."""
        if self.redis is None:
            return NOT_CONFIGURED
        try:
            self.redis.ping()
        except (redis.RedisError, OSError):
            return DOWN
        return OK


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code (read once)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())
