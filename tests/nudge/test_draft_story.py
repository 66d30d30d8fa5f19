"""The draft's input assembled from the case's story and the people behind it (issue #21): the
fresh check-in after a lead's "Handled" carries the lead's new fix, never the failed one; the
team is named by its display name, never its slug; the sender's phone and signature fill the
placeholders; one batch of drafts reads its story in one query.

Everything goes over HTTP through the sandbox driver, as in tests/handlers/views.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.nudge.items import Lookups, draft_context, speaker_of
from db import nudge_rows
from db.models import Agent, Team
from tests.handlers.views.test_escalation_capture import (
    click_handled,
    escalation_post,
    record,
)
from tests.handlers.views.test_outcome import make_lead, opened_modal
from tests.nudging import nudge

FAILED_FIX = "Refunded the duplicate charge on their November invoice"
NEW_FIX = "Issued a corrected December invoice and removed the second charge at the source"


def handle(bot: Any, dm: dict[str, Any], did: str | None) -> None:
    record(bot, dm, {"result": "not_resolved", "said": "Both charges are still there"})
    click_handled(bot, escalation_post(bot), dm, "U0LEAD")
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    assert bot.driver.submit_view("U0LEAD", modal["id"], {"did": did} if did else {}).status == 200


def fresh_check_in_dm(bot: Any) -> str:
    bot.clock.set(bot.clock.now() + timedelta(days=7))
    assert dispatch_pass(bot.deps).delivered == 1
    return str(bot.sandbox.dm_messages("U0AGENT")[-1]["blocks"])


def test_the_fresh_check_in_carries_the_leads_new_fix(bot: Any) -> None:
    dm = nudge(bot, subject="Charged twice for November", resolution=FAILED_FIX, kind="complaint")
    make_lead(bot)
    handle(bot, dm, NEW_FIX)
    text = fresh_check_in_dm(bot)
    assert "sorry the first fix" in text
    assert "issued a corrected December invoice" in text
    assert "duplicate charge on" not in text, "never the fix that failed"


def test_without_the_leads_words_the_dm_asks_the_agent_for_the_new_fix(bot: Any) -> None:
    dm = nudge(bot, subject="Charged twice for November", resolution=FAILED_FIX)
    make_lead(bot)
    handle(bot, dm, None)
    text = fresh_check_in_dm(bot)
    assert "[the new fix, in a few words]" in text and "Before you send it" in text
    assert "duplicate charge on" not in text


def test_the_team_name_phone_and_signature_come_from_the_settings(bot: Any) -> None:
    dm = nudge(bot, channel="chat")
    with bot.deps.session_factory() as session:
        [row] = nudge_rows.by_ids(session, [dm["id"]])
        assert row.team_slug == row.team_name, "the team is still called by its slug"
        slug_ctx = draft_context(row, Lookups.of(session, [row]))
    assert bot.deps.renderer.render_draft(slug_ctx).body.count(str(row.team_slug)) == 0

    with bot.deps.session_factory.begin() as session:
        team = session.scalars(select(Team)).one()
        team.name = "Northwind Support"
        ada = session.scalars(select(Agent).where(Agent.slack_user_id == "U0AGENT")).one()
        ada.phone, ada.signature = "+44 20 7946 0018", "Ada Lovelace\nNorthwind Support"
    with bot.deps.session_factory() as session:
        [row] = nudge_rows.by_ids(session, [dm["id"]])
        ctx = draft_context(row, Lookups.of(session, [row]))
    assert (ctx.team_name, ctx.agent_phone) == ("Northwind Support", "+44 20 7946 0018")
    assert ctx.agent_signature == "Ada Lovelace\nNorthwind Support"
    assert "from Northwind Support" in bot.deps.renderer.render_draft(ctx).body
    assert speaker_of(row) == "owner"


def test_a_batch_reads_its_story_in_one_query(bot: Any) -> None:
    dm = nudge(bot)
    with bot.deps.session_factory() as session:
        rows = nudge_rows.by_ids(session, [dm["id"]]) * 50
        statements: list[str] = []
        engine = session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            Lookups.of(session, rows)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert sum("what_we_did" in s for s in statements) == 1


def test_a_stand_in_speaks_in_their_own_role(bot: Any) -> None:
    dm = nudge(bot)
    make_lead(bot)
    with bot.deps.session_factory() as session:
        [row] = nudge_rows.by_ids(session, [dm["id"]])
        lead = session.scalars(select(Agent).where(Agent.slack_user_id == "U0LEAD")).one()
    assert speaker_of(row) == "owner"
    as_manager = type(row)(**{**_fields(row), "account_manager_id": row.assignee_id})
    assert speaker_of(as_manager) == "account_manager"
    as_lead = type(row)(**{**_fields(row), "assignee_id": lead.id, "assignee_is_lead": True})
    assert speaker_of(as_lead) == "lead"


def _fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__slots__}
