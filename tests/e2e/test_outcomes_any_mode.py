"""The DM's buttons and modals in both modes: modal errors come back in the acknowledgement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from db.models import FollowUp, Outcome

MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def nudged(bot_any_mode: Any, post_case: Any) -> dict[str, Any]:
    """A case closed Friday and DMed to Ada on Monday: where its DM is, and its follow-up id."""
    bot = bot_any_mode
    assert post_case(bot, case_id="O-1")[0] == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    [dm] = bot.sandbox.dm_messages("U0AGENT")
    followup_id = dm["metadata"]["event_payload"]["followup_ids"][0]
    return {"channel": bot.sandbox.im_channel("U0AGENT"), "ts": dm["ts"], "id": followup_id}


def open_modal(
    bot: Any, nudged: dict[str, Any], action_id: str, callback_id: str, wait: Any
) -> dict[str, Any]:
    clicked = bot.driver.block_action_from_message(
        "U0AGENT", nudged["channel"], nudged["ts"], action_id, str(nudged["id"])
    )
    assert (clicked.status, clicked.body) == (200, "")
    found = wait(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v.get("callback_id") == callback_id
        ]
    )
    assert found, f"no {callback_id} modal opened"
    return dict(found[-1])


def state_of(bot: Any, followup_id: int) -> tuple[str, Outcome | None]:
    with bot.deps.session_factory() as session:
        row = session.get(FollowUp, followup_id)
        assert row is not None
        outcome = session.scalar(select(Outcome).where(Outcome.follow_up_id == followup_id))
        return row.state, outcome


def test_followed_up_resolved_closes_the_loop(
    bot_any_mode: Any, nudged: Any, wait_for: Any
) -> None:
    bot = bot_any_mode
    modal = open_modal(bot, nudged, ids.ACTION_FOLLOWED_UP, ids.VIEW_OUTCOME, wait_for)
    answer = bot.driver.submit_view("U0AGENT", modal["id"], {"result": "resolved"})
    assert answer.status == 200
    state, outcome = state_of(bot, nudged["id"])
    assert state == "done"
    assert outcome is not None and outcome.result == "resolved"
    assert wait_for(
        lambda: (
            "Loop closed"
            in json.dumps(bot.sandbox.message(nudged["channel"], nudged["ts"])["blocks"])
        )
    )


def test_skip_without_a_reason_is_refused_inside_the_modal(
    bot_any_mode: Any, nudged: Any, wait_for: Any
) -> None:
    bot = bot_any_mode
    modal = open_modal(bot, nudged, ids.ACTION_SKIP, ids.VIEW_SKIP, wait_for)
    refused = bot.driver.submit_view("U0AGENT", modal["id"], {"reason": "  "})
    assert refused.status == 200
    answer = refused.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"]["skip_reason"]
    assert state_of(bot, nudged["id"])[0] == "sent"
    bot.driver.submit_view("U0AGENT", modal["id"], {"reason": "Customer asked not to be called"})
    state, outcome = state_of(bot, nudged["id"])
    assert state == "skipped"
    assert outcome is not None and outcome.skip_reason == "Customer asked not to be called"
