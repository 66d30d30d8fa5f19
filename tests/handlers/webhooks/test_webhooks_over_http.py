"""Every vendor end to end over HTTP: its real payload shape, signed its own way, is stored;
a wrong signature is refused and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import webhook_payloads as payloads
from sqlalchemy import func, select
from webhook_testkit import PUBLIC, SECRET, encode, signature_headers

from db.models import Case
from tests.posting import post_webhook

VENDORS: dict[str, tuple[Callable[[], Any], dict[str, str]]] = {
    "generic": (payloads.generic, {}),
    "zendesk": (payloads.zendesk_trigger, {"X-Zendesk-Webhook-Invocation-Id": "inv-1"}),
    "intercom": (payloads.intercom_v2, {}),
    "freshdesk": (payloads.freshdesk, {}),
    "hubspot": (lambda: [payloads.hubspot_event()], {}),  # the webhooks API posts a batch
    "jira": (payloads.jira, {"X-Atlassian-Webhook-Identifier": "wh-1"}),
    "helpscout": (payloads.helpscout, {"X-HelpScout-Event": "convo.status"}),
    "front": (payloads.front, {}),
    "chatwoot": (payloads.chatwoot, {}),
    "zammad": (payloads.zammad, {"X-Zammad-Delivery": "d-1"}),
}


@pytest.fixture
def bot_with_all_vendors(make_bot: Any) -> Any:
    secrets = {f"WEBHOOK_SECRET_{source.upper()}": SECRET for source in VENDORS}
    # HubSpot signs the URL it calls: the bot rebuilds it from PUBLIC_URL.
    return make_bot(PUBLIC_URL=PUBLIC, **secrets)


def cases(bot: Any) -> int:
    with bot.deps.session_factory() as session:
        return int(session.scalar(select(func.count(Case.id))) or 0)


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_a_vendors_signed_close_is_stored_over_http(bot_with_all_vendors: Any, source: str) -> None:
    bot = bot_with_all_vendors
    make, extra = VENDORS[source]
    body = encode(make())
    headers = {
        "Content-Type": "application/json",
        **extra,
        **signature_headers(source, SECRET, body, at=bot.clock.now()),
    }
    status, reply = post_webhook(f"{bot.url}/webhooks/{source}", body, headers)
    assert (status, reply.get("status")) == (202, "accepted"), reply
    assert cases(bot) == 1
    again = post_webhook(f"{bot.url}/webhooks/{source}", body, headers)
    assert again[0] == 200, "the same delivery twice makes one case"
    assert cases(bot) == 1


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_a_wrong_signature_is_refused_and_writes_nothing(
    bot_with_all_vendors: Any, source: str
) -> None:
    bot = bot_with_all_vendors
    make, extra = VENDORS[source]
    body = encode(make())
    headers = {
        "Content-Type": "application/json",
        **extra,
        **signature_headers(source, "not-the-secret", body, at=bot.clock.now()),
    }
    status, reply = post_webhook(f"{bot.url}/webhooks/{source}", body, headers)
    assert status == 401, reply
    assert cases(bot) == 0
