"""The background worker of `keyvend serve`: the cron jobs every `worker_interval` seconds,
emails included (sent through the SMTP server of KEYVEND_SMTP_URL), every second the
expiries announced as events (`services.expiries`), and every second the due webhook
deliveries handed to a small thread pool (`services.webhook_delivery.Dispatcher`: one
delivery in flight per webhook, so a dead receiver never delays another, nor a request).

One worker per serve, in the serving process rather than in each uvicorn worker, on a thread
of its own with a Database of its own. Several servers may each run one, and `keyvend cron`
may run beside them: the jobs claim their rows (`services.dunning`), so overlapping runs
never do a thing twice. A failed cycle, a database outage included, is logged and the next
one comes at its time.
"""

from __future__ import annotations

import logging
import threading

from keyvend.adapters.mail import mailer_for
from keyvend.adapters.webhook_sender import HttpxSender, WebhookSender
from keyvend.app import build_database
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.observability import metrics
from keyvend.services import cron, expiries, secret, webhook_delivery
from keyvend.services.cron import CronSummary

log = logging.getLogger("keyvend.worker")
STOP_TIMEOUT = 10.0  # seconds `stop` waits for a cycle under way to finish
ANNOUNCE_SECONDS = 1.0
WEBHOOK_SECONDS = 1.0


class Worker:
    """Runs `cron.run` on a thread: at once, then every `interval` seconds until stopped."""

    def __init__(
        self, db: Database, settings: Settings, *, webhooks: WebhookSender | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.interval = settings.worker_interval
        self.mailer = mailer_for(settings)
        self.webhooks = webhook_delivery.Dispatcher(db, webhooks or HttpxSender())
        self.cycle_done = threading.Event()  # set after every cycle, failed or not
        self._checked = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="keyvend-worker", daemon=True)
        self._announcer = threading.Thread(
            target=self._announce_loop, name="keyvend-expiries", daemon=True
        )
        self._webhook_thread = threading.Thread(
            target=self._webhook_loop, name="keyvend-webhooks", daemon=True
        )

    def run_once(self) -> CronSummary | None:
        """One cycle; None if it failed (logged). The first one checks that the secret is
        the database's, as every server process does, before any job may write."""
        summary: CronSummary | None = None
        try:
            if not self._checked:
                secret.check(self.db, self.settings)
                self._checked = True
            summary = cron.run(self.db, self.mailer, self.webhooks.sender)
        except Exception:
            log.exception("background jobs failed; next run in %s s", self.interval)
        finally:
            metrics.record_jobs(summary)  # before cycle_done: a waiter sees the counts
            self.cycle_done.set()
        if summary is not None and any(summary.values()):
            log.info("background jobs ran", extra={"summary": summary})
        return summary

    def start(self) -> None:
        self._thread.start()
        self._announcer.start()
        self._webhook_thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop at once when idle, or after the cycle under way; then close the database."""
        self._stopping.set()
        for thread in (self._thread, self._announcer, self._webhook_thread):
            if thread.is_alive():
                thread.join(timeout)
        self.webhooks.close(timeout)
        self.db.dispose()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self.interval)

    def _announce_loop(self) -> None:
        """Expiries become events within about a second (`services.expiries`)."""
        while not self._stopping.wait(ANNOUNCE_SECONDS):
            try:
                expiries.announce(self.db)
            except Exception:
                log.exception("announcing expiries failed; next try in %s s", ANNOUNCE_SECONDS)

    def _webhook_loop(self) -> None:
        """Due webhook deliveries start within about a second; none before the secret is
        known to be the database's (the first cron cycle checks it)."""
        while not self._stopping.wait(WEBHOOK_SECONDS):
            if not self._checked:
                continue
            try:
                self.webhooks.tick()
            except Exception:
                log.exception("starting webhook deliveries failed; next try in 1 s")


def start(settings: Settings) -> Worker | None:
    """The worker of these settings, started; None when `worker_interval` is 0 (off)."""
    if settings.worker_interval <= 0:
        return None
    worker = Worker(build_database(settings), settings)
    worker.start()
    return worker
