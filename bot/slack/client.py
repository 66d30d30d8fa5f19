"""The Web API client: slack-sdk's `WebClient` paced per method, with retries that never post
twice."""

from __future__ import annotations

import json
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot import metrics
from bot.slack.pacing import Pacer


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


class SparesReconciledPosts(RetryHandler):
    """A retry handler that never retries a post its sender reconciles (see above)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # slack-sdk asks every handler about every answer, 200s included: the cheap status
        # test first, the request body only for an answer that would be retried.
        return super()._can_retry(
            state=state, request=request, response=response, error=error
        ) and not reconciled_by_sender(request)


class ServerErrorRetry(SparesReconciledPosts, ServerErrorRetryHandler):
    """Retries a 500 or 503, except posts that their sender reconciles."""


class ConnectionErrorRetry(SparesReconciledPosts, ConnectionErrorRetryHandler):
    """Retries a refused or reset connection, except posts that their sender reconciles."""


class PacedRateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 (always safe: Slack did nothing). The wait itself is the pacer's gate,
    shared by every thread, not a sleep in the one thread that was refused."""

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        state.increment_current_attempt()


def _method_of(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[-1]


def _retry_after(error: HTTPError) -> float:
    try:
        return max(0.0, float(error.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _failed(error: HTTPError) -> str:
    return "ratelimited" if error.code == 429 else "error"


def _result(response: dict[str, Any]) -> str:
    """ "ok" when Slack's answer says `"ok": true`. slack-sdk parses the body into
    `parsed_body` before asking the retry handlers (slack_sdk/web/base_client.py,
    `_perform_urllib_http_request`; always set here: this client has them);
    without it the body is parsed here."""
    body = response.get("parsed_body")
    if body is None and isinstance(response.get("body"), str):
        try:
            body = json.loads(response["body"])
        except ValueError:
            body = None
    return "ok" if isinstance(body, dict) and body.get("ok") is True else "error"


class PacedWebClient(WebClient):
    """slack-sdk's `WebClient` with every HTTP attempt (retries included) paced per method by
    one process-wide `Pacer` (bot/slack/pacing.py)."""

    def __init__(self, *args: Any, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        method = _method_of(url)
        self.pacer.wait_turn(method)
        try:
            response: dict[str, Any] = super()._perform_urllib_http_request_internal(url, req)
        except HTTPError as error:
            if error.code == 429:
                wait = _retry_after(error)
                self.pacer.limited(method, wait)
                metrics.RETRY_AFTER.labels(method).observe(wait)
            metrics.SLACK_CALLS.labels(method, _failed(error)).inc()
            raise
        except Exception:  # no answer (refused, reset, timed out): counted, then retried or raised
            metrics.SLACK_CALLS.labels(method, "error").inc()
            raise
        self.pacer.accepted(method)
        return response

    def _perform_urllib_http_request(
        self, *, url: str, args: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """Every attempt that failed was counted above; the answer that ends the call, when
        it is a 2xx, is counted here by Slack's `ok`, from the body slack-sdk has parsed."""
        response: dict[str, Any] = super()._perform_urllib_http_request(url=url, args=args)
        if 200 <= int(response.get("status", 0)) < 300:
            metrics.SLACK_CALLS.labels(_method_of(url), _result(response)).inc()
        return response
