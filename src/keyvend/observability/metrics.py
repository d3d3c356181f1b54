"""Prometheus metrics: every metric object, the small functions that record them, the answer.

With several uvicorn workers each process counts on its own; `keyvend serve` exports
PROMETHEUS_MULTIPROC_DIR before the workers start, so prometheus-client writes every value to
a memory-mapped file there and `/metrics`, in whichever worker answers it, adds up the files
of all of them. Without the variable (tests, one app in one process) the default registry
answers. The mode is fixed when prometheus-client is imported, which is why `serve` sets the
variable before it execs the serving process rather than the app setting it.

`record_check` runs on every key check, on the fast lane too: its label children are bound
once here, so a call is one dictionary lookup, one counter increment and one observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from keyvend.domain.errors import InvalidInput, NotFound, RateLimited

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The mode prometheus-client chose at its import, not the environment as it is now: values
# recorded before the variable appeared are in this process's memory, not in the files.
MULTIPROCESS = values.ValueClass is not values.MutexValue
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Outcomes of a key check (the `outcome` label).
VALID = "valid"  # the key exists and is valid now
INVALID = "invalid"  # the key exists but is not valid (suspended, expired, disabled)
NOT_FOUND = "not_found"  # no such key, or no key sent
REFUSED = "refused"  # rate limited (429)
ERROR = "error"  # any other answer: module inactive, bad credentials, database down, fault
OUTCOMES = (VALID, INVALID, NOT_FOUND, REFUSED, ERROR)

# A check is one indexed probe: tens of microseconds on SQLite, a round trip on PostgreSQL.
CHECK_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)

KEY_CHECKS = Counter(
    "keyvend_key_checks", "Key checks (check and get_info), by outcome.", ["outcome"]
)
KEY_CHECK_SECONDS = Histogram(
    "keyvend_key_check_seconds",
    "Time to answer a key check, in seconds, inside the app.",
    buckets=CHECK_BUCKETS,
)
RATE_LIMIT_REFUSALS = Counter(
    "keyvend_rate_limit_refusals", "Calls refused with 429, by rate-limit policy.", ["policy"]
)
API_CALLS = Counter(
    "keyvend_api_calls",
    "API calls through the general dispatcher, by endpoint and HTTP status class.",
    ["role", "module", "method", "status_class"],
)

JOB_RUNS = Counter(
    "keyvend_job_runs",
    "Cycles of the background jobs in `keyvend serve`, by result (ok, failed).",
    ["result"],
)
JOB_ITEMS = Counter(
    "keyvend_job_items",
    "Rows the background jobs acted on, by job (renewal_invoices, emails_sent, ...).",
    ["job"],
)

_CHECK_CHILDREN = {outcome: KEY_CHECKS.labels(outcome) for outcome in OUTCOMES}
_observe_check = KEY_CHECK_SECONDS.observe


def record_check(outcome: str, seconds: float) -> None:
    """One key check answered with `outcome` (one of OUTCOMES) in `seconds`."""
    _CHECK_CHILDREN[outcome].inc()
    _observe_check(seconds)


def check_outcome(valid: bool) -> str:
    """The outcome of a check that reached a verdict."""
    return VALID if valid else INVALID


def failure_outcome(exc: BaseException) -> str:
    """The outcome of a check that raised `exc` instead of answering."""
    if isinstance(exc, NotFound | InvalidInput):
        return NOT_FOUND
    if isinstance(exc, RateLimited):
        return REFUSED
    return ERROR


def record_refusal(policy: str) -> None:
    """A call refused because `policy`'s budget is spent."""
    RATE_LIMIT_REFUSALS.labels(policy).inc()


def record_call(role: str, module: str, method: str, status: int) -> None:
    """One API call answered with HTTP `status`; only registered endpoints get their names."""
    API_CALLS.labels(role, module, method, f"{status // 100}xx").inc()


def record_jobs(summary: Mapping[str, Any] | None) -> None:
    """One cycle of the background jobs: its summary (ids or counts per job), or None when
    it failed."""
    if summary is None:
        JOB_RUNS.labels("failed").inc()
        return
    JOB_RUNS.labels("ok").inc()
    for job, done in summary.items():
        count = len(done) if isinstance(done, list | tuple) else int(done)
        if count:
            JOB_ITEMS.labels(job).inc(count)


def outbox_exposition(counts: Mapping[str, int]) -> bytes:
    """The outbox's depth by status, read from the database at scrape time (so every worker
    and host answers the same): a gauge in Prometheus text."""
    lines = [
        "# HELP keyvend_outbox_emails Mails in the outbox, by status (queued, sent, failed, ...).",
        "# TYPE keyvend_outbox_emails gauge",
        *(
            f'keyvend_outbox_emails{{status="{status}"}} {n}'
            for status, n in sorted(counts.items())
        ),
    ]
    return ("\n".join(lines) + "\n").encode()


def webhook_exposition(counts: Mapping[str, int]) -> bytes:
    """Webhook deliveries by status (pending, sending, delivered, failed), read from the
    database at scrape time like the outbox: a gauge in Prometheus text."""
    lines = [
        "# HELP keyvend_webhook_deliveries Webhook deliveries, by status (pending, failed, ...).",
        "# TYPE keyvend_webhook_deliveries gauge",
        *(
            f'keyvend_webhook_deliveries{{status="{status}"}} {n}'
            for status, n in sorted(counts.items())
        ),
    ]
    return ("\n".join(lines) + "\n").encode()


def exposition() -> bytes:
    """The Prometheus text of every worker (multiprocess mode) or of this process."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    # A new registry each time: the collector reads the files as they are now.
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
