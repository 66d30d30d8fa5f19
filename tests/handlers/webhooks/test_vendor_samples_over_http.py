"""`followup webhooks test <source>`'s samples for Zendesk, Intercom, Chatwoot, Zammad and Front:
each, signed as its vendor signs, posted to a running bot and stored with what the recipe makes
the vendor send (the shapes are cited in each adapter's module header)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from webhook_testkit import PUBLIC, SECRET

from db.models import Case
from handlers.webhooks import chatwoot, front, intercom, zammad, zendesk
from tests.posting import post_webhook

SAMPLES = {m.RECIPE.source: m.sample_request for m in (zendesk, intercom, chatwoot, zammad, front)}
# What each sample's case stores: (subject, owner email, owner id, resolution).
STORED = {
    "zendesk": (
        "Invoice shows the wrong VAT number",
        "agent@example.com",
        None,
        "Corrected the VAT number and re-issued the invoice.",
    ),
    "intercom": (
        "My invoice shows the wrong VAT number",
        "agent@example.com",
        "5017691",
        "Corrected the VAT number and re-issued the invoice.",
    ),
    "chatwoot": (
        "Invoice shows the wrong VAT number",
        None,
        "3",
        "Corrected the VAT number and re-issued the invoice.",
    ),
    "zammad": (
        "Invoice shows the wrong VAT number",
        "agent@example.com",
        "3",
        "Corrected the VAT number and re-issued the invoice.",
    ),
    "front": ("Invoice shows the wrong VAT number", "agent@example.com", "tea_2x4g", None),
}


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_the_sample_close_is_stored(make_bot: Any, source: str) -> None:
    bot = make_bot(PUBLIC_URL=PUBLIC, **{f"WEBHOOK_SECRET_{source.upper()}": SECRET})
    url = f"{bot.url}/webhooks/{source}"
    body, headers = SAMPLES[source](
        SECRET, f"{PUBLIC}/webhooks/{source}", bot.clock.now(), "followup-test-1"
    )
    status, reply = post_webhook(url, body, headers)
    assert (status, reply.get("status")) == (202, "accepted"), reply
    with bot.deps.session_factory() as session:
        case = session.scalars(select(Case).where(Case.source == source)).one()
        stored = (case.subject, case.owner_email, case.owner_external_id, case.resolution)
    assert stored == STORED[source]
