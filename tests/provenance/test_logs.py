"""The long-running commands' log format: plain lines for a person, JSON lines with
PROVENANCE_LOG_FORMAT=json, anything else refused."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest

from ledger_client.errors import ConfigurationError
from provenance.logs import JsonFormatter, PlainFormatter, configure_logging, log_format

pytestmark = pytest.mark.unit

INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("provenance.node", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, its handlers and level put back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_plain_line_starts_with_its_utc_instant():
    record = _record("node started: API %s", "http://127.0.0.1:8000")
    record.created = 1_800_000_000.5
    assert PlainFormatter().format(record) == (
        "2027-01-15T08:00:00.500Z INFO provenance.node: node started: API http://127.0.0.1:8000"
    )


def test_a_json_line_carries_the_record_and_its_extra_fields():
    record = _record("indexed %d logs", 3, block=42, url="http://x")
    record.created = 1_800_000_000.5
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2027-01-15T08:00:00.500Z",
        "level": "INFO",
        "logger": "provenance.node",
        "message": "indexed 3 logs",
        "block": 42,
        "url": "http://x",
    }


def test_a_json_line_holds_the_traceback_and_any_extra_value():
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    record.__dict__["path"] = object()
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert line["exception"].startswith("Traceback")
    assert line["exception"].endswith("ValueError: broken")
    assert line["path"].startswith("<object object")


@pytest.mark.parametrize(
    ("value", "chosen"), [(None, "plain"), ("plain", "plain"), ("JSON", "json"), ("", "plain")]
)
def test_the_format_is_read_from_the_environment(value, chosen):
    environ = {} if value is None else {"PROVENANCE_LOG_FORMAT": value}
    assert log_format(environ) == chosen


def test_an_unknown_format_is_refused_naming_the_variable_and_leaves_logging_alone(root_logger):
    before = root_logger.handlers[:]
    with pytest.raises(ConfigurationError) as refused:
        configure_logging(format="xml")
    assert str(refused.value) == (
        "PROVENANCE_LOG_FORMAT='xml' is not a log format: use plain or json"
    )
    assert root_logger.handlers == before


def test_configure_logging_sends_every_logger_to_one_stream(root_logger, monkeypatch):
    monkeypatch.setenv("PROVENANCE_LOG_FORMAT", "json")
    stream = io.StringIO()
    configure_logging(stream=stream)
    configure_logging(stream=stream)  # again: still one handler, no doubled lines
    logging.getLogger("oracle_bridge.bridge").info("window %d anchored", 7)
    logging.getLogger("noise").debug("not at INFO")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["logger"], line["message"]) == ("oracle_bridge.bridge", "window 7 anchored")
    assert INSTANT.fullmatch(line["time"])


def test_plain_is_the_default(root_logger, monkeypatch):
    monkeypatch.delenv("PROVENANCE_LOG_FORMAT", raising=False)
    stream = io.StringIO()
    configure_logging(stream=stream)
    logging.getLogger("provenance.serve").warning("no MQTT broker")
    (line,) = stream.getvalue().splitlines()
    instant, rest = line.split(" ", 1)
    assert INSTANT.fullmatch(instant)
    assert rest == "WARNING provenance.serve: no MQTT broker"
