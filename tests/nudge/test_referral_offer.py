"""Where the referral ask goes now that the "has it held?" touch never carries one (#21 item 7):
into the agent's DM the moment they record that the customer confirmed it is resolved, on a
case the policy makes eligible (../shared/DOMAIN.md, "Reviews and referrals": "offered only
once the customer has confirmed the outcome is good; never when the resolution did not hold").
"""

from __future__ import annotations

import json
from typing import Any

from bot import ids
from tests.handlers.views.test_outcome import click, opened_modal
from tests.idle import wait_idle
from tests.nudging import nudge


def record(bot: Any, dm: dict[str, Any], values: dict[str, Any]) -> str:
    click(bot, dm, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    assert bot.driver.submit_view("U0AGENT", modal["id"], values).status == 200
    wait_idle(bot)
    return json.dumps(bot.sandbox.message(dm["channel"], dm["ts"])["blocks"])


B2B = {"b2b": True, "company": "Costa Logistics", "customer_name": "Marta Costa"}


def test_a_confirmed_resolution_on_an_eligible_case_offers_the_referral_ask(bot: Any) -> None:
    dm = nudge(bot, **B2B)
    shown = record(bot, dm, {"result": "resolved", "said": "All good now, thanks"})
    assert "introduction ask" in shown
    assert "outside Costa Logistics" in shown


def test_no_referral_ask_when_it_did_not_hold_or_the_case_is_not_eligible(bot: Any) -> None:
    dm = nudge(bot, **B2B)
    shown = record(bot, dm, {"result": "not_resolved", "said": "Still broken"})
    assert "introduction" not in shown


def test_no_referral_ask_on_a_routine_case_the_policy_does_not_make_eligible(bot: Any) -> None:
    dm = nudge(bot)
    shown = record(bot, dm, {"result": "resolved"})
    assert "introduction" not in shown
