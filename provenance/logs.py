"""The log format of the long-running commands (`serve`, `bridge run`, `index run --follow`):
one line per record on stderr, plain text for a person or JSON lines for a log collector
(PROVENANCE_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

from ledger_client.errors import ConfigurationError

LOG_FORMAT_VARIABLE = "PROVENANCE_LOG_FORMAT"
LOG_FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A LogRecord's own attributes: whatever else it carries came as `extra=` and is kept in JSON.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def utc_instant(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 UTC with milliseconds (`2026-01-31T12:00:00.123Z`)."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlainFormatter(logging.Formatter):
    """`2026-01-31T12:00:00.123Z INFO oracle_bridge.bridge: ...`, a traceback below if any."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return utc_instant(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's `extra=` fields,
    and `exception` (the traceback as text) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": utc_instant(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        # `default=str`: an extra field of any type is written, never a failed record.
        return json.dumps(line, default=str, ensure_ascii=False)


def log_format(environ: dict[str, str] | None = None) -> str:
    """The format PROVENANCE_LOG_FORMAT asks for: `plain` (the default) or `json`.

    Raises:
        ConfigurationError: any other value, naming the variable and the choices.
    """
    value = (os.environ if environ is None else environ).get(LOG_FORMAT_VARIABLE, "plain")
    chosen = value.strip().lower() or "plain"
    if chosen not in LOG_FORMATS:
        raise ConfigurationError(
            f"{LOG_FORMAT_VARIABLE}={value!r} is not a log format: use plain or json"
        )
    return chosen


def configure_logging(
    *, format: str | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send every logger's records to `stream` (stderr) in `format` (that of
    PROVENANCE_LOG_FORMAT unless given), replacing the root logger's handlers: the one
    logging setup of the long-running commands.

    Raises:
        ConfigurationError: the format is neither plain nor json.
    """
    chosen = log_format({LOG_FORMAT_VARIABLE: format} if format is not None else None)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else PlainFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
