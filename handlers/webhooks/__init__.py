"""Helpdesk webhook adapters: `POST /webhooks/<source>` bodies in, `ClosedCase` records out.

`handle(request, config)` checks the size, verifies the vendor's signature, checks the
content type and parses; it raises `WebhookRejected` (status + message) and never writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import (
    Adapter,
    CaseInsensitiveHeaders,
    WebhookConfig,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
)
from .chatwoot import ChatwootAdapter
from .freshdesk import FRESHDESK_RULE_BODY, FreshdeskAdapter
from .front import FrontAdapter
from .generic import GenericAdapter, sign_generic
from .helpscout import HelpScoutAdapter
from .hubspot import HubSpotAdapter
from .intercom import IntercomAdapter
from .jira import JiraAdapter
from .zammad import ZammadAdapter
from .zendesk import ZENDESK_TRIGGER_BODY, ZendeskAdapter

ADAPTERS: Mapping[str, Adapter] = {
    adapter.source: adapter
    for adapter in (
        GenericAdapter(),
        ZendeskAdapter(),
        IntercomAdapter(),
        FreshdeskAdapter(),
        HubSpotAdapter(),
        JiraAdapter(),
        HelpScoutAdapter(),
        FrontAdapter(),
        ChatwootAdapter(),
        ZammadAdapter(),
    )
}


def handle(request: WebhookRequest, config: WebhookConfig) -> WebhookResult:
    """Size check (413), signature (401), content type (415) and payload (400), in that order."""
    adapter = ADAPTERS.get(request.source)
    if adapter is None:
        raise WebhookRejected(404, f"unknown webhook source {request.source!r}")
    if len(request.body) > config.max_body_bytes:
        limit = config.max_body_bytes // 1024
        raise WebhookRejected(413, f"body is larger than {limit} KiB")
    adapter.verify(request, config)
    return adapter.parse(request, config)


__all__ = [
    "ADAPTERS",
    "FRESHDESK_RULE_BODY",
    "ZENDESK_TRIGGER_BODY",
    "Adapter",
    "CaseInsensitiveHeaders",
    "WebhookConfig",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookResult",
    "handle",
    "sign_generic",
]
