"""The one object that carries the bot's dependencies into listeners, jobs and webhooks."""

from __future__ import annotations

import json
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
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import Settings
from db.engine import SessionFactory

if TYPE_CHECKING:
    from bot.drafting import Renderer
    from bot.intake_batch import IntakeWriter
    from bot.policy import Policy


def reconciled_by_sender(request: HttpRequest) -> bool:
    """A `chat.postMessage` carrying message metadata (a nudge DM, a digest): its sender looks
    for it in the channel's history before posting again. A 5xx or a dropped connection can
    come after Slack posted it, so a blind retry here could only post it twice."""
    if not request.url.endswith("/chat.postMessage") or not request.data:
        return False
    try:
        body = json.loads(request.data)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("metadata"))


class ServerErrorRetry(ServerErrorRetryHandler):
    """Retries a 500 or 503, except posts that their sender reconciles."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return not reconciled_by_sender(request) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


class ConnectionErrorRetry(ConnectionErrorRetryHandler):
    """Retries a refused or reset connection, except posts that their sender reconciles."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return not reconciled_by_sender(request) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


def make_web_client(settings: Settings, max_rate_limit_retries: int = 5) -> WebClient:
    """The one Web API client: `SLACK_API_URL` as base, retries on 429 (Retry-After, always
    safe: Slack did nothing) and on 5xx and dropped connections (except reconciled posts)."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetry(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
            ServerErrorRetry(max_retry_count=2),
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
