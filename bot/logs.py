"""Logging set-up (called once from the composition root): text or JSON lines, and a filter
that hides secrets in both.

Code that logs an event passes its ids through `extra=` under the keys of `FIELDS`, e.g.
`log.info("DM sent ...", extra={"event": "dm_sent", "agent": 7, "follow_up": [12, 13]})`:
ids only, never case text, customer data or secrets. The text format shows the message alone
(it reads on its own); the JSON format adds those fields to each line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.config import hide_secrets

FIELDS = (
    "event",
    "source",
    "case",
    "follow_up",
    "agent",
    "delivery",
    "outcome",
    "reason",
    "method",
    "status",
)
"""The structured fields a JSON line carries when a log call gives them through `extra=`."""

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class SecretFilter(logging.Filter):
    """Replaces any configured secret value in a log record with `***`, however short: in the
    message, its arguments, the structured fields and the exception text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self._hide(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._hide(record.exc_text)
        if record.stack_info:
            record.stack_info = self._hide(record.stack_info)
        if redacted != message:
            record.msg, record.args = redacted, None
        for name in FIELDS:
            if name in record.__dict__:
                record.__dict__[name] = self._hide_value(record.__dict__[name])
        return True

    def _hide(self, text: str) -> str:
        return hide_secrets(text, self._secrets, _stars)

    def _hide_value(self, value: object) -> object:
        if isinstance(value, str):
            return self._hide(value)
        if isinstance(value, list | tuple):
            return [self._hide_value(item) for item in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self._hide(str(value))


def _stars(_secret: str) -> str:
    return "***"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (ISO 8601, UTC), `level`, `logger`, `message`, the
    structured fields given, and `exc` (the traceback as one string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for `LOG_FORMAT` (`text` or `json`)."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, secrets: Iterable[str], log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter at INFO is noise for operators.
    for noisy in ("apscheduler", "waitress", "slack_sdk", "slack_bolt", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
