"""Logging set-up (called once from the composition root) with a filter that hides secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.config import hide_secrets


class SecretFilter(logging.Filter):
    """Replaces any configured secret value in a log record with `***`, however short."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = hide_secrets(message, self._secrets, _stars)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = hide_secrets(record.exc_text, self._secrets, _stars)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _stars(_secret: str) -> str:
    return "***"


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter at INFO is noise for operators.
    for noisy in ("apscheduler", "waitress", "slack_sdk", "slack_bolt", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
