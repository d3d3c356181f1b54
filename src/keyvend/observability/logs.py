"""Logging: structlog's processors behind one stdlib handler, so every line has one format.

Keyvend's modules log through stdlib loggers (`logging.getLogger("keyvend...")`) or structlog
loggers; both end in the same `ProcessorFormatter` on the root logger, which adds the time,
level, logger name and whatever the request bound to the context (its request id, the actor),
then renders the line as JSON (`KEYVEND_LOG_FORMAT=json`) or for people (`console`). uvicorn's
own loggers are pointed at the same handler, so a server's whole output shares the format.

Only `keyvend` loggers get `KEYVEND_LOG_LEVEL`: third-party loggers keep their own levels
(SQLAlchemy logs every statement at INFO, parameters included).
"""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import Processor

from keyvend.config import Settings

_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is written (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(settings: Settings) -> None:
    """Route every log line through one formatter; safe to call again (the last call wins)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger bound before the first configure would keep the defaults.
        cache_logger_on_first_use=False,
    )
    handler = _Stderr()
    handler.setFormatter(_formatter(settings.log_format))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    root.addHandler(handler)
    logging.getLogger("keyvend").setLevel(settings.log_level.upper())
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = [handler]
        uvicorn_logger.propagate = False


def _without_colors(
    logger: object, method_name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """uvicorn repeats each message with terminal colours as an extra: drop the copy."""
    event_dict.pop("color_message", None)
    return event_dict


def _formatter(log_format: str) -> logging.Formatter:
    # Tracebacks without local variables: a frame's locals may hold a key, token or password.
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        tail: list[Processor] = [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        ]
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
        tail = []
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(), _without_colors],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *tail,
            renderer,
        ],
    )
