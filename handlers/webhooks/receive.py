"""`POST /webhooks/<source>`: the HTTP request in, the vendor's adapter, the case written, the
HTTP answer out."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot import metrics
from bot.deps import Deps
from bot.intake.batch import take_delivery
from db.cases import Change

from . import ADAPTERS, WebhookConfig, WebhookRejected, WebhookRequest, handle

log = logging.getLogger("followup.webhooks")


@dataclass(frozen=True)
class Answer:
    """What one webhook request came to: the HTTP answer, and the outcome an admin reads in
    the log (`accepted`, `duplicate`, `ignored` or `refused`) with its ids and reason."""

    status: int
    reply: dict[str, Any]
    outcome: str
    case: str | None = None
    delivery: str | None = None
    reason: str | None = None


def receive_webhook(deps: Deps, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Verify, parse, store; (HTTP status, JSON reply). `request` is the server's plain view
    of the HTTP request (bot/runtime/server.py). Every request leaves one INFO line naming its
    source, case and delivery ids and outcome; never its body, headers or any secret."""
    source = request["source"]
    answer = _receive(deps, request)
    shown = source if source in ADAPTERS else "unknown"
    logged = _without_values(answer.reason)
    reason = f": {logged}" if logged else ""
    log.info(
        "webhook %s case %s delivery %s: %s (%d)%s",
        shown,
        answer.case or "-",
        answer.delivery or "-",
        answer.outcome,
        answer.status,
        reason,
        extra={
            "event": "webhook",
            "source": shown,
            "case": answer.case,
            "delivery": answer.delivery,
            "outcome": answer.outcome,
            "reason": logged,
            "status": answer.status,
        },
    )
    metrics.WEBHOOKS.labels(source=shown, outcome=answer.outcome).inc()
    return answer.status, answer.reply


def _receive(deps: Deps, request: dict[str, Any]) -> Answer:
    settings = deps.settings
    source = request["source"]
    if source not in ADAPTERS:
        refusal = {"error": f"unknown webhook source {source!r}"}
        return Answer(404, refusal, "refused", reason="unknown webhook source")  # path not logged
    now = deps.clock.now()
    base = (settings.public_url or "").rstrip("/")
    query_string = request.get("query_string") or ""
    url = f"{base}{request['path']}" + (f"?{query_string}" if query_string else "")
    webhook = WebhookRequest(
        source=source,
        method=request["method"],
        url=url,
        path=request["path"],
        query=request["query"],
        headers=request["headers"],
        body=request["body"],
        received_at=now,
    )
    config = WebhookConfig(
        secret=settings.webhook_secrets.get(source),
        insecure=source in settings.webhook_insecure,
        hubspot_closed_stages=settings.hubspot_closed_stages,
        hubspot_open_stages=settings.hubspot_open_stages,
        hubspot_accept_v1_v2=settings.hubspot_accept_v2,
        freshdesk_token_header=settings.freshdesk_token_header,
        token_place=settings.webhook_token_sources.get(source),
    )
    try:
        parsed = handle(webhook, config)
    except WebhookRejected as rejected:
        return _refused(rejected.status, rejected.message)
    delivery = parsed.delivery_id
    if parsed.challenge is not None:
        # Front's save-time handshake: it keeps the webhook only if the value comes back.
        reason = "the save-time handshake, answered"
        return Answer(200, {"challenge": parsed.challenge}, "ignored", None, delivery, reason)
    if not parsed.cases:
        reason = "; ".join(parsed.ignored) or "no case in this delivery"
        return Answer(
            200, {"status": "ignored", "reason": reason}, "ignored", None, delivery, reason
        )
    ids = [c.external_id for c in parsed.cases]
    first = ids[0]
    written = take_delivery(deps, source, parsed.cases, delivery)
    if written.duplicate_delivery:
        reply: dict[str, Any] = {"status": "duplicate", "delivery_id": delivery}
        return Answer(200, reply, "duplicate", first, delivery, "delivery seen before")
    if written.is_new:
        reply = {"status": "accepted", "case_id": first, "case_ids": ids}
        return Answer(202, reply, "accepted", first, delivery)
    if all(change is Change.REOPEN_UNKNOWN for change in written.changes):
        reason = f"reopen of a case Followup never saw closed ({source}:{first})"
        reply = {"status": "ignored", "reason": reason, "case_id": first, "case_ids": ids}
        return Answer(200, reply, "ignored", first, delivery, reason)
    reply = {"status": "duplicate", "case_id": first, "case_ids": ids}
    return Answer(200, reply, "duplicate", first, delivery, _why_duplicate(written.changes))


QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
"""A value quoted in a refusal's reason ("customer_email: is not an email address: 'Jane
Doe <jane@…>'"): the sender is told it, the log is not (it may be a customer's)."""


def _without_values(reason: str | None) -> str | None:
    return QUOTED.sub("<value>", reason) if reason else reason


def _refused(status: int, reason: str) -> Answer:
    return Answer(status, {"error": reason}, "refused", reason=reason)


def _why_duplicate(changes: list[Change]) -> str:
    if Change.DUPLICATE in changes:
        return "case already closed: only a reopen starts a new follow-up cycle"
    return "reopen already recorded"
