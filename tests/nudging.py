"""One closed case DMed to Ada, as the tests of what happens after a nudge start from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.dispatch.dispatcher import dispatch_pass

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def nudge(bot: Any, **fields: Any) -> dict[str, Any]:
    """A case (`fields` over a plain one) closed Friday 10:00 UTC, sent through the signed
    generic webhook and DMed to Ada on Monday at 10:00: the DM's channel, ts and follow-up id."""
    payload = {
        "case_id": "ZD-77",
        "subject": "Refund missing on the March invoice",
        "resolution": "Re-issued the credit note",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        **fields,
    }
    assert bot.post_generic(payload)[0] == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    [dm] = bot.sandbox.dm_messages("U0AGENT")
    followup_id = dm["metadata"]["event_payload"]["followup_ids"][0]
    return {"channel": bot.sandbox.im_channel("U0AGENT"), "ts": dm["ts"], "id": followup_id}
