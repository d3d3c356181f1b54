"""Delivering webhooks (DESIGN.md section 12): claim a due delivery, send it, record the try.

Like the email outbox, no transaction is open while a receiver is being waited for: a claim
marks one due delivery `sending` in a short transaction, its lease in `next_attempt_at` (SKIP
LOCKED on PostgreSQL, the write lock on SQLite), and counts the attempt; the send follows;
another transaction records a `WebhookAttempt` and the outcome. A 2xx is delivered; anything
else (no answer within 10 s, a refusal, a redirect) waits the next step of BACKOFF, which
spans more than 24 hours; the try after the last step's wait that fails too makes it `failed`.
A delivery whose sender died mid-send is claimed again once its lease passes.

A slow or dead receiver never delays another: a claim skips every webhook that has a delivery
in flight (here, or under another worker's lease), so each webhook holds at most one thread of
the pool, and the rest go on in parallel (`Dispatcher`, run every second by the worker).
`deliver_due` is the same, once, for `keyvend cron`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from keyvend.adapters.webhook_sender import Outcome, WebhookSender
from keyvend.db.models import Webhook, WebhookAttempt, WebhookDelivery
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import KeyvendError
from keyvend.schemas.webhook import DeliveryStatus

log = logging.getLogger("keyvend.webhooks")
# The wait after the 1st, 2nd, ... failed attempt: 27.7 hours in all, then `failed`.
BACKOFF = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=2)  # far beyond the sender's 10 s timeout
THREADS = 8  # webhooks served at once by one worker
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt, with what sending it needs."""

    id: int
    webhook_id: int
    attempts: int  # as claimed: a later claim or a retry changes it, and the row is theirs
    url: str
    secret: str
    body: bytes


def claim(db: Database, *, busy: Collection[int] = ()) -> Claim | None:
    """The first due delivery of an enabled webhook that has none in flight (and is not in
    `busy`), marked `sending` under a lease; None when there is none."""
    with db.unit_of_work() as uow:
        now = uow.now()
        other = aliased(WebhookDelivery)
        in_flight = exists().where(
            and_(
                other.webhook_id == WebhookDelivery.webhook_id,
                other.status == DeliveryStatus.SENDING,
                other.next_attempt_at > now,
            )
        )
        due = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
        query = (
            select(WebhookDelivery)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.status.in_(due),
                WebhookDelivery.next_attempt_at <= now,
                Webhook.enabled,
                ~in_flight,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        if busy:
            query = query.where(WebhookDelivery.webhook_id.not_in(list(busy)))
        row = uow.session.scalar(query)
        if row is None:
            return None
        hook = uow.session.get(Webhook, row.webhook_id)
        if hook is None:
            return None  # deleted since the query: its deliveries went with it
        row.status, row.next_attempt_at, row.updated_at = DeliveryStatus.SENDING, now + LEASE, now
        row.attempts += 1  # counted now: a delivery that kills its sender still runs out
        body = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False).encode()
        secret = uow.vault.decrypt_key(hook.secret_ciphertext)
        uow.commit()
        return Claim(row.id, row.webhook_id, row.attempts, hook.url, secret, body)


def attempt(db: Database, sender: WebhookSender, claimed: Claim) -> bool:
    """Send a claimed delivery once and record how it went; whether it was delivered."""
    try:
        outcome = sender.send(
            claimed.url, message_id=str(claimed.id), body=claimed.body, secret=claimed.secret
        )
    except Exception:
        log.exception("sending webhook delivery #%s failed", claimed.id)
        outcome = Outcome(None, 0, "Internal error (see the log)")
    finish(db, claimed, outcome)
    return outcome.delivered


def finish(db: Database, claimed: Claim, outcome: Outcome) -> None:
    """Record an attempt: delivered, or when to try again (or failed)."""
    with db.unit_of_work() as uow:
        row = uow.session.get(WebhookDelivery, claimed.id, with_for_update=True)
        if row is None:
            return  # the webhook was deleted meanwhile
        now = uow.now()
        error = outcome.error[:500] if outcome.error else None
        uow.session.add(
            WebhookAttempt(
                delivery_id=row.id,
                at=now,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                error=error,
            )
        )
        # Retried by hand or claimed again after the lease: the row is no longer this try's.
        if row.status == DeliveryStatus.SENDING and row.attempts == claimed.attempts:
            _settle(row, outcome, error, now)
        uow.commit()


def _settle(row: WebhookDelivery, outcome: Outcome, error: str | None, now: datetime) -> None:
    row.last_status_code, row.last_error = outcome.status_code, error
    row.last_duration_ms, row.updated_at = outcome.duration_ms, now
    if outcome.delivered:
        row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
    elif row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.FAILED
    else:
        row.status = DeliveryStatus.PENDING
        row.next_attempt_at = now + BACKOFF[row.attempts - 1]


def deliver_due(
    db: Database, sender: WebhookSender, *, limit: int = 200, threads: int = THREADS
) -> list[int]:
    """Send what is due now, each webhook's deliveries one after another and the webhooks in
    parallel, until nothing is due or `limit` attempts were made; the ids delivered. A
    webhook whose attempt fails gets no more in this run (a dead one costs one timeout)."""
    delivered: list[int] = []
    failing: set[int] = set()  # a webhook that failed once in this run waits for the next
    with ThreadPoolExecutor(threads, thread_name_prefix="keyvend-webhook") as pool:
        tried = 0
        while tried < limit:
            batch = _claim_batch(db, min(threads, limit - tried), failing)
            if not batch:
                break
            tried += len(batch)
            results = pool.map(lambda c: attempt(db, sender, c), batch)
            for claimed, ok in zip(batch, results, strict=True):
                if ok:
                    delivered.append(claimed.id)
                else:
                    failing.add(claimed.webhook_id)
    return delivered


def _claim_batch(db: Database, size: int, skip: set[int]) -> list[Claim]:
    """Up to `size` claims, of as many different webhooks, none of `skip`."""
    batch: list[Claim] = []
    while len(batch) < size and (found := claim(db, busy=skip | {c.webhook_id for c in batch})):
        batch.append(found)
    return batch


class Dispatcher:
    """The worker's delivery loop: each `tick` hands due deliveries of idle webhooks to a
    thread pool and returns at once; at most one in flight per webhook."""

    def __init__(self, db: Database, sender: WebhookSender, *, threads: int = THREADS) -> None:
        self.db = db
        self.sender = sender
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="keyvend-webhook")
        self._lock = threading.Lock()
        self._busy: set[int] = set()  # webhooks with a delivery in flight
        self._futures: set[Future[None]] = set()

    def tick(self) -> int:
        """Start what is due (as many as there are free threads); how many were started."""
        started = 0
        while True:
            with self._lock:
                if len(self._busy) >= self.threads:
                    return started
                busy = set(self._busy)
            claimed = self._claim(busy)
            if claimed is None:
                return started
            with self._lock:
                self._busy.add(claimed.webhook_id)
                future = self._pool.submit(self._run, claimed)
                self._futures.add(future)
            future.add_done_callback(self._forget)
            started += 1

    def in_flight(self) -> int:
        """How many deliveries this dispatcher is sending now."""
        with self._lock:
            return len(self._busy)

    def close(self, timeout: float = STOP_TIMEOUT) -> None:
        """Wait up to `timeout` for the deliveries in flight, then stop the pool (a delivery
        still waiting for its receiver is claimed again once its lease passes)."""
        with self._lock:
            pending = set(self._futures)
        wait(pending, timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _claim(self, busy: set[int]) -> Claim | None:
        try:
            return claim(self.db, busy=busy)
        except KeyvendError:
            return None  # a concurrent claim won: the next tick tries again

    def _run(self, claimed: Claim) -> None:
        try:
            attempt(self.db, self.sender, claimed)
        except Exception:  # the database, most likely: the lease brings it back
            log.exception("recording webhook delivery #%s failed", claimed.id)
        finally:
            with self._lock:
                self._busy.discard(claimed.webhook_id)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
