"""JSON log lines on stdout, one object per line, with the standard library only.

Every record becomes `{"time", "level", "logger", "message", ...}` plus the
fields passed as `extra=` (the access log's method, route, status, latency_ms,
model, version, request_id; a model load's model, version and reason), so a log
shipper indexes them without parsing messages. The standard library suffices
(a formatter of twenty lines), which keeps python-json-logger out of the image.

Two ways in, same result: `python -m app` hands `log_config()` to uvicorn, which
applies it in the supervisor and in every worker and turns uvicorn's own lines
into JSON too; the app's lifespan calls `configure_logging()`, which only
attaches the handler when nothing did yet, so `uvicorn app.main:app` and tests
get JSON from the `app` loggers as well. The `app` logger keeps propagating (to
a root logger that has no handler in production), so pytest's `caplog` still sees it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_DROPPED = frozenset({"color_message"})  # uvicorn's ANSI-coloured copy of the message
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
"""One encoder for every line: `json.dumps` with options builds a new one per call
(0.7 of its 3.6 us for an access-log line)."""


def _entry(created: float, level: int, logger: str, message: str) -> dict[str, Any]:
    """The fields every line starts with: time (UTC, ms), level, logger, message."""
    return {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": logging.getLevelName(level).lower(),
        "logger": logger,
        "message": message,
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = _entry(record.created, record.levelno, record.name, record.getMessage())
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _DROPPED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _encode(entry)


def write_line(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """The line `JsonFormatter` would write for `logger.log(level, message, extra=fields)`,
    written straight to stdout: for the access log, one line per request, where a
    LogRecord, the handler's lock and the formatter's pass over every record attribute
    cost twice the line itself (BENCHMARKS.md, "Measurements behind design choices").
    The logger's level still decides, so `FORECAST_LOG_LEVEL` applies as to any logger.
    """
    if not logger.isEnabledFor(level):
        return
    entry = _entry(time.time(), level, logger.name, message) | fields
    sys.stdout.write(_encode(entry) + "\n")
    sys.stdout.flush()


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is when a record arrives.

    A handler that kept the stream it was created with would write into a
    closed capture buffer after pytest swapped stdout back.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: str) -> None:
    """JSON lines for the `app` loggers at `level`; idempotent, keeps a handler already there."""
    logger = logging.getLogger("app")
    if not any(isinstance(h, StdoutHandler) for h in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn: JSON for `app` and `uvicorn`, no access log.

    The access log is off because the app writes its own line per request, with
    the route template, model, version and request id uvicorn cannot know.
    """
    handler = {"()": f"{__name__}.StdoutHandler", "formatter": "json"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stdout": handler},
        "loggers": {
            "app": {"handlers": ["stdout"], "level": level.upper()},
            "uvicorn": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
