"""The one object that carries the bot's dependencies into listeners, jobs and webhooks."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import Settings
from bot.group_commit import GroupCommit
from bot.render.templates import Renderer
from bot.rules.policy import Policy
from bot.slack.client import (
    ConnectionErrorRetry,
    PacedRateLimitRetry,
    PacedWebClient,
    ServerErrorRetry,
)
from bot.slack.pacing import Pacer
from db.engine import SessionFactory


def make_web_client(
    settings: Settings, max_rate_limit_retries: int = 5, pacer: Pacer | None = None
) -> WebClient:
    """The one Web API client: `SLACK_API_URL` as base; every method paced process-wide once
    Slack answers it 429 (bot/slack/pacing.py), the refused call retried after `Retry-After`; 5xx
    and dropped connections retried too (except reconciled posts)."""
    return PacedWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetry(max_retry_count=2),
            PacedRateLimitRetry(max_retry_count=max_rate_limit_retries),
            ServerErrorRetry(max_retry_count=2),
        ],
        pacer=pacer or Pacer(),
    )


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
    intake: GroupCommit[Any] = field(default_factory=GroupCommit)
    """Webhook deliveries are written through this (see bot/intake/batch.py)."""
