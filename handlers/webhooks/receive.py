"""`POST /webhooks/<source>`: the HTTP request in, the vendor's adapter, the case written, the
HTTP answer out."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.intake.batch import take_delivery

from . import ADAPTERS, WebhookConfig, WebhookRejected, WebhookRequest, handle


def receive_webhook(deps: Deps, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Verify, parse, store; (HTTP status, JSON reply). `request` is the server's plain view
    of the HTTP request (bot/runtime/server.py)."""
    settings = deps.settings
    source = request["source"]
    if source not in ADAPTERS:
        return 404, {"error": f"unknown webhook source {source!r}"}
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
    )
    try:
        parsed = handle(webhook, config)
    except WebhookRejected as rejected:
        return rejected.status, {"error": rejected.message}
    if parsed.challenge is not None:
        # Front's save-time handshake: it keeps the webhook only if the value comes back.
        return 200, {"challenge": parsed.challenge}
    if not parsed.cases:
        return 200, {"status": "ignored", "reason": "; ".join(parsed.ignored) or "no case"}
    written = take_delivery(deps, source, parsed.cases, parsed.delivery_id)
    if written.duplicate_delivery:
        return 200, {"status": "duplicate", "delivery_id": parsed.delivery_id}
    ids = [c.external_id for c in parsed.cases]
    if written.is_new:
        return 202, {"status": "accepted", "case_id": ids[0], "case_ids": ids}
    return 200, {"status": "duplicate", "case_id": ids[0], "case_ids": ids}
