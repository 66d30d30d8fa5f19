"""The one object that carries the bot's dependencies into listeners, jobs and webhooks."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import Settings
from db.engine import SessionFactory

if TYPE_CHECKING:
    from bot.drafting import Renderer
    from bot.intake_batch import IntakeWriter
    from bot.policy import Policy


def make_web_client(settings: Settings, max_rate_limit_retries: int = 5) -> WebClient:
    """The one Web API client: `SLACK_API_URL` as base, retries on 429 (Retry-After) and 5xx."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def _intake_writer() -> IntakeWriter:
    from bot.intake_batch import IntakeWriter

    return IntakeWriter()


def worker_name() -> str:
    """A name for this process in claims and leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Deps:
    """Settings, database, clock and Slack client: built once in the composition root."""

    settings: Settings
    engine: Engine
    session_factory: SessionFactory
    clock: Clock
    client: WebClient
    policy: Policy
    renderer: Renderer
    worker: str = field(default_factory=worker_name)
    intake: IntakeWriter = field(default_factory=_intake_writer)
    """Webhook deliveries are written through this (group commit; see bot/intake_batch.py)."""
