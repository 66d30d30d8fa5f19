"""Each helpdesk's own id for the requester is kept on the case (`customer_external_id`), so the
review cap can tell one customer from another when the helpdesk sends no email (#21).

Where each id is, per vendor (the payload fixtures in webhook_payloads.py follow these):
- Zendesk event webhooks: `detail.requester_id` (Zendesk developer docs, "Ticket events"; the
  envelope carries ids only, no emails). Trigger bodies: the `{{ticket.requester.id}}`
  placeholder in our body (the "Zendesk placeholders reference" lists ticket.requester
  properties; the `.id` form is the one public Zendesk trigger bodies on GitHub use).
- Freshdesk automation rules: `{{ticket.requester.id}}` in our Advanced body (seen in
  published Freshdesk rule bodies on GitHub; not confirmed in Freshdesk's own placeholder list,
  so a body without it still works: the id is then absent). Simple content has no requester id.
- Intercom: the conversation's customer (`user`, `source.author` or `customers[0]`) `id`
  (Intercom API "Conversation model"; contacts and users carry `id`).
- Help Scout: `primaryCustomer.id` (Help Scout developer docs, Webhooks "Conversation Object":
  the customer is a Person with an id).
- Chatwoot: `meta.sender.id` (chatwoot/chatwoot app/models/contact.rb `push_event_data`: id,
  name, email, ..., type "contact").
- Zammad: `ticket.customer.id` (the expanded user object; Zammad's webhook docs).
- Front: `conversation.recipient.handle` (Front API "Conversation" recipient: the contact's
  handle, an email address or a phone number, is how Front names the contact).
- Jira: `issue.fields.reporter.accountId` (Atlassian Jira Cloud REST "User" object).
- Generic: the optional `customer_id`.
HubSpot is left out: a ticket's associated contact id is not among the properties its webhooks
send, as far as we could confirm.
"""

from __future__ import annotations

from typing import Any

import pytest
from webhook_payloads import (
    chatwoot,
    freshdesk,
    front,
    generic,
    helpscout,
    intercom_v1,
    intercom_v2,
    jira,
    zammad,
    zendesk_event,
    zendesk_trigger,
)
from webhook_testkit import accept, refuse, signed

from bot.cases import ClosedCase


def zendesk_event_from(requester_id: str) -> dict[str, Any]:
    body = zendesk_event()
    body["detail"]["requester_id"] = requester_id  # the fixture's requester is its assignee
    return body


CASES: list[tuple[str, Any, dict[str, str], str]] = [
    ("zendesk", zendesk_event_from("9001"), {}, "9001"),
    ("zendesk", zendesk_trigger(requester_id="366923"), {}, "366923"),
    ("freshdesk", freshdesk(requester_id="77001234"), {}, "77001234"),
    ("intercom", intercom_v1(), {}, "5c9553cb27e377f24eed49f7"),
    ("intercom", intercom_v2(), {}, "6762f0dc1bb69f9f2193bb83"),
    ("helpscout", helpscout(), {"X-HelpScout-Event": "convo.status"}, "238123"),
    ("chatwoot", chatwoot(), {}, "12"),
    ("zammad", zammad(), {}, "8"),
    ("front", front(), {}, "lukasz@example.pl"),
    ("jira", jira(), {}, "qm:1234"),
    ("generic", generic(customer_id="crm-4471"), {}, "crm-4471"),
]


def received(source: str, payload: Any, headers: dict[str, str]) -> ClosedCase:
    [case] = accept(signed(source, payload, extra=headers)).cases
    return case


@pytest.mark.parametrize(
    ("source", "payload", "headers", "requester"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_the_requester_id_is_kept(
    source: str, payload: Any, headers: dict[str, str], requester: str
) -> None:
    assert received(source, payload, headers).customer_external_id == requester


def test_a_blank_placeholder_leaves_no_requester_id() -> None:
    """A placeholder with no value renders empty ("Zendesk placeholders reference")."""
    case = received("zendesk", zendesk_trigger(requester_id=""), {})
    assert case.customer_external_id is None


def test_the_generic_customer_id_must_be_text() -> None:
    refused = refuse(signed("generic", generic(customer_id=["not", "an", "id"])))
    assert "customer_id" in str(refused)
