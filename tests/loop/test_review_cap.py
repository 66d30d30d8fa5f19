"""The public review cap keys on the customer however the helpdesk names them (#21): email,
else the helpdesk's requester id, else name and company. Before, a customer without an email
was invited again 30 days later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.dispatch.dispatcher import dispatch_pass
from bot.nudge.review_cap import identity
from db.review_asks import CustomerNames
from tests.planning.test_reviews_and_referrals import REVIEW, close, latest_draft

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday


def invited_after(bot: Any, case_id: str, days: int, **customer: Any) -> bool:
    """Close a case `days` after START (a weekday early enough that 72 h later is one too),
    dispatch it then: was its customer invited?"""
    closed = START + timedelta(days=days)
    bot.clock.set(closed)
    close(bot, case_id, closed, **customer)
    bot.clock.set(closed + timedelta(hours=72))
    assert dispatch_pass(bot.deps).delivered == 1
    return REVIEW in latest_draft(bot)


def test_a_customer_without_email_is_capped_by_the_helpdesks_requester_id(bot: Any) -> None:
    who = {"customer_email": None, "customer_name": "Priya Shah", "customer_id": "req-8841"}
    assert invited_after(bot, "Q-1", 0, **who), "the first eligible case is invited"
    assert not invited_after(bot, "Q-2", 28, **who), "four weeks later: not again"
    assert invited_after(bot, "Q-3", 98, **who), "after the 90 days, invited again"


def test_another_requester_with_the_same_name_is_still_invited(bot: Any) -> None:
    assert invited_after(bot, "Q-1", 0, customer_email=None, customer_id="req-1")
    assert invited_after(bot, "Q-2", 28, customer_email=None, customer_id="req-2")


def test_a_requester_once_known_by_email_is_recognised_by_id_alone(bot: Any) -> None:
    assert invited_after(bot, "Q-1", 0, customer_id="req-8841")  # with the default email
    assert not invited_after(bot, "Q-2", 28, customer_email=None, customer_id="req-8841")


def test_without_email_or_id_the_cap_keys_on_name_and_company(bot: Any) -> None:
    who = {"customer_email": None, "customer_name": "Priya Shah", "company": "BrightCart"}
    assert invited_after(bot, "N-1", 0, **who)
    again = {**who, "customer_name": "  priya   SHAH ", "company": "brightcart"}
    assert not invited_after(bot, "N-2", 28, **again), "the same name and company, any case"
    other = {**who, "company": "Kessler Logistik GmbH"}
    assert invited_after(bot, "N-3", 29, **other), "the same name at another company"


def test_the_customers_identity_prefers_email_then_requester_id_then_name() -> None:
    full = CustomerNames("P@X.example", "zendesk", "366", "Priya", "BrightCart")
    assert identity(full) == ("email", "p@x.example")
    assert identity(full._replace(email=None)) == ("requester", "zendesk", "366")
    no_id = full._replace(email=None, requester_id=None)
    assert identity(no_id) == ("name", "priya", "brightcart")
    assert identity(no_id._replace(name=None)) is None, "a company alone is not a customer"
