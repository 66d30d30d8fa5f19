"""Write-back through the whole loop: a Slack action commits the outcome and its outbox row
together, the agent's acknowledgement never waits on a helpdesk, and the next pass lands the
note (and the reopen) on the ticket in the helpdesk sandbox."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.cases import ClosedCase, Event
from bot.config import WRITEBACK_SECRET_NAMES
from bot.dispatch.dispatcher import dispatch_pass
from bot.intake.accept import accept_case
from bot.nudge.refresh import drain_refreshes
from bot.people.directory import sync_directory
from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.sandbox.waiting import wait_for
from bot.writeback.worker import deliver_writebacks
from db.agents import by_slack_id
from db.models import Case, FollowUp, Writeback
from tests.handlers.views.test_outcome import click, make_lead, opened_modal
from tests.nudging import FRIDAY_10_UTC, MONDAY_10_UTC, nudge

TICKETS = {
    "generic": "ZD-77",
    "zendesk": "4711",
    "freshdesk": "4711",
    "zammad": "4711",
    "jira": "10042",
    "hubspot": "4711",
    "helpscout": "4711",
    "front": "cnv_55c8c149",
    "chatwoot": "4711",
    "intercom": "4711",
}
"""A ticket id of each vendor's own shape (the case's external id as its webhook gives it)."""


@pytest.fixture
def wb_bot(make_bot: Any, helpdesk: HelpdeskSandbox) -> Iterator[Any]:
    bot = make_bot(**helpdesk.env())
    helpdesk.state["now"] = lambda: bot.clock.now().timestamp()
    sync_directory(bot.deps)  # as `followup run` reads it at start-up: names for the notes
    yield bot


def arrives(bot: Any, source: str, ticket: str, at: datetime, event: Event = Event.CLOSED) -> None:
    """The helpdesk's close (or reopen) of `ticket`, stored as its webhook would store it."""
    with bot.deps.session_factory.begin() as session:
        accept_case(
            session,
            bot.deps,
            ClosedCase(
                source=source,
                external_id=ticket,
                subject="Charged twice for November",
                closed_at=at,
                owner_email="ada@example.com",
                resolution="Refunded the second charge",
                customer_name="Priya Shah",
                event=event,
            ),
            actor="test",
            surface="webhook",
        )


def closed_at_vendor(bot: Any, source: str, ticket: str) -> dict[str, Any]:
    """A case closed in `source`'s helpdesk (as its webhook would store it), DMed to Ada."""
    arrives(bot, source, ticket, FRIDAY_10_UTC)
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    dm = bot.sandbox.dm_messages("U0AGENT")[-1]
    followup_id = dm["metadata"]["event_payload"]["followup_ids"][0]
    return {"channel": bot.sandbox.im_channel("U0AGENT"), "ts": dm["ts"], "id": followup_id}


def record(bot: Any, dm: dict[str, Any], result: str, said: str = "") -> None:
    click(bot, dm, ids.ACTION_FOLLOWED_UP)
    modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
    values = {"result": result, "said": said, "cause": "billing error"}
    assert bot.driver.submit_view("U0AGENT", modal["id"], values).status == 200


def handle(bot: Any, dm: dict[str, Any], did: str) -> None:
    [post] = wait_for(lambda: bot.sandbox.messages("C0ESCALATE"))
    bot.driver.block_action_from_message(
        "U0LEAD", "C0ESCALATE", post["ts"], ids.ACTION_ESCALATION_HANDLED, str(dm["id"])
    )
    modal = opened_modal(bot, "U0LEAD", ids.VIEW_ESCALATION_HANDLED)
    assert bot.driver.submit_view("U0LEAD", modal["id"], {"did": did}).status == 200


def rows(bot: Any) -> list[Writeback]:
    with bot.deps.session_factory() as session:
        found = list(session.scalars(select(Writeback).order_by(Writeback.id)))
        session.expunge_all()
        return found


def test_the_outcome_and_its_outbox_row_commit_together_and_slack_never_waits(
    wb_bot: Any, helpdesk: HelpdeskSandbox
) -> None:
    helpdesk.down("generic", 60)  # the helpdesk is out: the agent's click must not notice
    dm = nudge(wb_bot, subject="Refund missing on the March invoice")
    record(wb_bot, dm, "resolved", said="All sorted, thank you!")
    [row] = rows(wb_bot)
    assert (row.state, row.source, row.ticket, row.reopen) == ("pending", "generic", "ZD-77", False)
    assert helpdesk.calls() == [], "nothing called the helpdesk while Slack waited"
    helpdesk.up("generic")
    assert deliver_writebacks(wb_bot.deps).delivered == 1
    ticket = helpdesk.ticket("generic", "ZD-77")
    [note] = ticket.notes
    assert "Followed up by Ada Lovelace by email" in note.body
    assert "What the customer said: All sorted, thank you!" in note.body
    assert "Root cause: billing error" in note.body
    assert note.body.endswith(f"Followup ref {row.marker}")
    assert ticket.status == "closed", "a fix that held leaves the ticket closed"
    [event] = helpdesk.state["generic_events"]
    assert event["event"] == "outcome_recorded" and event["case"]["id"] == "ZD-77"
    assert rows(wb_bot)[0].state == "delivered"


def test_still_not_right_reopens_and_the_leads_handled_is_noted_after_it(
    wb_bot: Any, helpdesk: HelpdeskSandbox
) -> None:
    helpdesk.add_ticket("zendesk", "4711")
    dm = closed_at_vendor(wb_bot, "zendesk", "4711")
    make_lead(wb_bot)
    record(wb_bot, dm, "not_resolved", said="The second charge is back")
    handle(wb_bot, dm, "Refunded again and fixed the billing retry")
    assert [r.event for r in rows(wb_bot)] == ["outcome", "handled"]
    first = deliver_writebacks(wb_bot.deps)
    assert first.delivered == 1, "the handled note waits for the outcome's, on one ticket"
    assert deliver_writebacks(wb_bot.deps).delivered == 1
    ticket = helpdesk.ticket("zendesk", "4711")
    assert ticket.history == ["solved", "open"]
    outcome_note, handled_note = ticket.notes
    assert outcome_note.private and handled_note.private
    assert "Followup reopens this ticket: the resolution did not hold" in outcome_note.body
    assert "What the customer said: The second charge is back" in outcome_note.body
    assert "Handled by Grace Hopper" in handled_note.body
    assert "What we did: Refunded again and fixed the billing retry" in handled_note.body
    assert "open again: Followup plans the next check-in when it is solved" in handled_note.body


def test_a_case_logged_by_hand_owes_its_helpdesk_nothing(wb_bot: Any) -> None:
    with wb_bot.deps.session_factory.begin() as session:
        accept_case(
            session,
            wb_bot.deps,
            ClosedCase(
                source="manual",
                external_id="M-1",
                subject="Phone call about the invoice",
                closed_at=FRIDAY_10_UTC,
                owner_email="ada@example.com",
            ),
            actor="test",
            surface="slash",
        )
    wb_bot.clock.set(MONDAY_10_UTC)
    dispatch_pass(wb_bot.deps)
    dm = wb_bot.sandbox.dm_messages("U0AGENT")[-1]
    record(
        wb_bot,
        {
            "channel": wb_bot.sandbox.im_channel("U0AGENT"),
            "ts": dm["ts"],
            "id": dm["metadata"]["event_payload"]["followup_ids"][0],
        },
        "resolved",
    )
    assert rows(wb_bot) == []


def test_the_note_never_reaches_the_logs(
    wb_bot: Any, helpdesk: HelpdeskSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    secret_words = "Priya's card ending 4242 was charged again"
    dm = nudge(wb_bot)
    record(wb_bot, dm, "not_resolved", said=secret_words)
    helpdesk.fail("generic", 500)
    with caplog.at_level("DEBUG", logger="followup"):
        deliver_writebacks(wb_bot.deps)
        wb_bot.clock.set(wb_bot.clock.now().replace(hour=11))
        deliver_writebacks(wb_bot.deps)
    ours = [r for r in caplog.records if r.name.startswith("followup")]
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in ours)
    assert "write-back 1 delivered" in logged
    assert secret_words not in logged and "4242" not in logged
    for name, value in helpdesk.env().items():
        if name in WRITEBACK_SECRET_NAMES:
            assert value not in logged, name


def test_a_refused_note_fails_tells_the_agent_and_lead_and_an_operator_retries_it(
    wb_bot: Any, helpdesk: HelpdeskSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from bot.loop.queue import publish_home
    from bot.nudge.refresh import drain_refreshes
    from bot.runtime.writeback_cli import run as run_writeback_cli

    dm = closed_at_vendor(wb_bot, "zendesk", "4711")  # no such ticket in Zendesk: 404
    make_lead(wb_bot)
    with wb_bot.deps.session_factory.begin() as session:  # Grace leads Ada's team
        ada, grace = (by_slack_id(session, u) for u in ("U0AGENT", "U0LEAD"))
        assert ada is not None and grace is not None
        grace.team_id = ada.team_id
    record(wb_bot, dm, "resolved")
    report = deliver_writebacks(wb_bot.deps)
    assert report.failed == 1, "a 404 will not change by retrying: it fails at once"
    [row] = rows(wb_bot)
    assert (row.state, row.last_error) == ("failed", "update ticket: HTTP 404 RecordNotFound")

    drain_refreshes(wb_bot.deps)  # the DM is queued for an update when the row fails
    shown = json.dumps(wb_bot.sandbox.message(dm["channel"], dm["ts"])["blocks"])
    assert "The note for Zendesk ticket 4711 did not go through" in shown
    assert f"followup writeback retry {row.id}" in shown
    publish_home(wb_bot.deps, "U0LEAD")
    home = json.dumps(wb_bot.sandbox.home_view("U0LEAD"))
    assert "Not noted in the helpdesk" in home and "Zendesk ticket #4711" in home

    env = ["--env-file", str(write_env(wb_bot))]
    assert main([*env, "writeback", "list", "--failed"]) == 0
    listed = capsys.readouterr().out
    assert f"{row.id:>6}  failed" in listed and "zendesk ticket 4711" in listed
    assert "HTTP 404" in listed and "Ada" not in listed, "ids and errors, never the note"

    helpdesk.add_ticket("zendesk", "4711")  # the ticket found (or access fixed)
    retry = argparse.Namespace(writeback_command="retry", ids=[row.id], all_failed=False)
    assert run_writeback_cli(wb_bot.deps.settings, retry, wb_bot.clock) == 0
    assert "queued again" in capsys.readouterr().out
    assert run_writeback_cli(wb_bot.deps.settings, retry, wb_bot.clock) == 1, "nothing to retry"
    assert deliver_writebacks(wb_bot.deps).delivered == 1
    assert helpdesk.calls("zendesk", "GET"), "the retry looked for its note before adding it"
    assert len(helpdesk.ticket("zendesk", "4711").notes) == 1
    drain_refreshes(wb_bot.deps)
    shown = json.dumps(wb_bot.sandbox.message(dm["channel"], dm["ts"])["blocks"])
    assert "did not go through" not in shown


def write_env(bot: Any) -> Any:
    """An env file for the CLI pointing at the bot's database."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "followup.env"
    path.write_text(f"DATABASE_URL={bot.deps.settings.database_url}\n")
    return path


def reopen_arrives(bot: Any, source: str, ticket: str) -> None:
    """The helpdesk's own reopen webhook, as its trigger fires after our reopen."""
    arrives(bot, source, ticket, bot.clock.now(), Event.REOPENED)


def open_touches(bot: Any) -> list[tuple[int, str]]:
    with bot.deps.session_factory() as session:
        return [
            (f.cycle, f.template)
            for f in session.scalars(select(FollowUp).where(FollowUp.state == "planned"))
        ]


def solved_again(bot: Any, source: str, ticket: str) -> None:
    """The agent solves the reopened ticket in the helpdesk: its close webhook arrives."""
    arrives(bot, source, ticket, bot.clock.now() + timedelta(hours=2))


def case_status(bot: Any, ticket: str) -> str:
    with bot.deps.session_factory() as session:
        found = session.scalar(select(Case).where(Case.external_id == ticket))
        assert found is not None
        return found.status


def test_our_reopen_hands_the_case_back_and_its_next_solve_plans_the_one_check_in(
    wb_bot: Any, helpdesk: HelpdeskSandbox
) -> None:
    """The reopen puts the ticket back in the helpdesk's queue: the case is reopened here when
    it lands (whether or not the helpdesk's own reopen trigger is set up), the lead's
    "Handled" plans no check-in of its own, and the helpdesk's next solve starts the cycle
    whose touch is the check-in. The customer hears once."""
    helpdesk.add_ticket("zendesk", "4711")
    dm = closed_at_vendor(wb_bot, "zendesk", "4711")
    make_lead(wb_bot)
    record(wb_bot, dm, "not_resolved", said="The second charge is back")
    deliver_writebacks(wb_bot.deps)
    assert case_status(wb_bot, "4711") == "reopened", "no reopen webhook needed"
    handle(wb_bot, dm, "Refunded again")
    assert open_touches(wb_bot) == []
    deliver_writebacks(wb_bot.deps)
    handled_note = helpdesk.ticket("zendesk", "4711").notes[-1].body
    assert "open again: Followup plans the next check-in when it is solved" in handled_note
    assert "fresh check-in" not in handled_note
    reopen_arrives(wb_bot, "zendesk", "4711")  # the helpdesk's own trigger, if set up
    solved_again(wb_bot, "zendesk", "4711")
    assert [cycle for cycle, _ in open_touches(wb_bot)] == [2], "one touch: the new cycle's"
    shown = json.dumps(wb_bot.sandbox.message(dm["channel"], dm["ts"])["blocks"])
    assert "the case is back in the helpdesk" in shown and "fresh check-in" not in shown


def test_a_handled_before_the_reopen_lands_plans_a_check_in_the_reopen_then_cancels(
    wb_bot: Any, helpdesk: HelpdeskSandbox
) -> None:
    """The lead is quicker than the write-back pass: the reopen may yet fail, so the check-in
    is planned; when the reopen lands it cancels it, the DM says the case is back in the
    helpdesk, and the handled note (which goes after the reopen) says what comes next."""
    helpdesk.add_ticket("zendesk", "4711")
    dm = closed_at_vendor(wb_bot, "zendesk", "4711")
    make_lead(wb_bot)
    record(wb_bot, dm, "not_resolved")
    handle(wb_bot, dm, "Refunded again")
    assert [t for _, t in open_touches(wb_bot)] == ["check_in"]
    [post] = wb_bot.sandbox.messages("C0ESCALATE")
    assert wait_for(
        lambda: (
            "unless the helpdesk takes the case back"
            in json.dumps(wb_bot.sandbox.message("C0ESCALATE", post["ts"])["blocks"])
        )
    ), "the post says the check-in holds only if the reopen fails"
    deliver_writebacks(wb_bot.deps)  # the reopen lands
    assert open_touches(wb_bot) == [] and case_status(wb_bot, "4711") == "reopened"
    drain_refreshes(wb_bot.deps)
    shown = json.dumps(wb_bot.sandbox.message(dm["channel"], dm["ts"])["blocks"])
    assert "the case is back in the helpdesk" in shown and "fresh check-in" not in shown
    deliver_writebacks(wb_bot.deps)  # the handled note
    assert "The ticket is open again" in helpdesk.ticket("zendesk", "4711").notes[-1].body


def test_when_the_reopen_failed_the_lead_s_handled_plans_the_fresh_check_in(
    wb_bot: Any, helpdesk: HelpdeskSandbox
) -> None:
    """No ticket 4711 in Zendesk: the reopen fails, the helpdesk never took the case back, so
    the check-in stays Followup's to plan; a reopen that comes later cancels it."""
    dm = closed_at_vendor(wb_bot, "zendesk", "4711")
    make_lead(wb_bot)
    record(wb_bot, dm, "not_resolved")
    assert deliver_writebacks(wb_bot.deps).failed == 1
    handle(wb_bot, dm, "Refunded again")
    assert [t for _, t in open_touches(wb_bot)] == ["check_in"]
    reopen_arrives(wb_bot, "zendesk", "4711")
    assert open_touches(wb_bot) == [], "the reopen cancelled the fresh check-in"
    solved_again(wb_bot, "zendesk", "4711")
    assert {cycle for cycle, _ in open_touches(wb_bot)} == {2}, "the new cycle's touches alone"


@pytest.mark.parametrize("source", sorted(set(TICKETS) - {"generic"}))
def test_each_helpdesk_shows_the_note_and_the_reopen_after_the_slack_actions(
    wb_bot: Any, helpdesk: HelpdeskSandbox, source: str
) -> None:
    ticket = helpdesk.add_ticket(source, TICKETS[source])
    closed_status = ticket.status
    dm = closed_at_vendor(wb_bot, source, TICKETS[source])
    make_lead(wb_bot)
    record(wb_bot, dm, "not_resolved", said="The second charge is back")
    handle(wb_bot, dm, "Refunded again and fixed the billing retry")
    deliver_writebacks(wb_bot.deps)  # the outcome's note and reopen
    deliver_writebacks(wb_bot.deps)  # then the lead's, on the same ticket
    assert [r.state for r in rows(wb_bot)] == ["delivered", "delivered"], [
        r.last_error for r in rows(wb_bot)
    ]
    assert ticket.status != closed_status and len(ticket.history) == 2, ticket.history
    outcome_note, handled_note = ticket.notes
    assert outcome_note.private and handled_note.private
    assert "The second charge is back" in outcome_note.body
    assert "Refunded again and fixed the billing retry" in handled_note.body
    markers = [r.marker for r in rows(wb_bot)]
    assert [m in n.body for m, n in zip(markers, ticket.notes, strict=True)] == [True, True]


NOTE_CALLS = {
    "zendesk": ("PUT", "/tickets/"),
    "freshdesk": ("POST", "/notes"),
    "zammad": ("PUT", "/tickets/"),
    "jira": ("POST", "/comment"),
    "hubspot": ("POST", "/objects/notes"),
    "helpscout": ("POST", "/notes"),
    "front": ("POST", "/comments"),
    "chatwoot": ("POST", "/messages"),
    "intercom": ("POST", "/reply"),
}
"""The call that adds the note, per vendor (each module's header cites it)."""


@pytest.mark.parametrize("source", sorted(NOTE_CALLS))
def test_a_note_that_landed_while_the_call_timed_out_is_not_added_again(
    helpdesk: HelpdeskSandbox, source: str
) -> None:
    """The vendor took the note but its answer never came: the retry reads the ticket, finds
    the marker, and only finishes the reopen."""
    from bot.writeback.transport import Transient
    from tests.writeback.conftest import client_for, job

    ticket = helpdesk.add_ticket(source, TICKETS[source])
    method, path = NOTE_CALLS[source]
    client = client_for(helpdesk, source, timeout=0.2)
    client.check()  # signed in (Help Scout's token), as a running bot would be
    helpdesk.hang(source, 0.6, apply=True, method=method, path_contains=path)
    with pytest.raises(Transient):
        client.deliver(job(source, TICKETS[source], reopen=True))
    assert len(ticket.notes) == 1, "the note landed although the client timed out"
    client.deliver(job(source, TICKETS[source], reopen=True, retried=True))
    assert len(ticket.notes) == 1
    assert ticket.status != ticket.history[0], "reopened"


def test_a_skip_says_nobody_was_contacted(wb_bot: Any, helpdesk: HelpdeskSandbox) -> None:
    dm = nudge(wb_bot, subject="Refund missing on the March invoice")
    click(wb_bot, dm, ids.ACTION_SKIP)
    modal = opened_modal(wb_bot, "U0AGENT", ids.VIEW_SKIP)
    reason = {"reason": "Customer asked not to be contacted again"}
    assert wb_bot.driver.submit_view("U0AGENT", modal["id"], reason).status == 200
    deliver_writebacks(wb_bot.deps)
    [note] = helpdesk.ticket("generic", "ZD-77").notes
    assert "Skipped by Ada Lovelace" in note.body and "was not contacted" in note.body
    assert "Followed up by" not in note.body
    assert "Why: Customer asked not to be contacted again" in note.body


def test_a_no_reply_says_another_try_comes(wb_bot: Any, helpdesk: HelpdeskSandbox) -> None:
    record(wb_bot, nudge(wb_bot), "no_reply")
    deliver_writebacks(wb_bot.deps)
    [note] = helpdesk.ticket("generic", "ZD-77").notes
    assert "No reply yet" in note.body
    assert "Followup will remind Ada Lovelace to try once more" in note.body


def test_a_retried_reopen_never_undoes_the_agents_next_solve(
    wb_bot: Any, helpdesk: HelpdeskSandbox
) -> None:
    """Freshdesk takes the note, then the call times out before the reopen. Meanwhile the
    agent works the case (the customer wrote back) and solves it again. The retry finds its
    note, and does not reopen the solved ticket: the new cycle's check-in stands."""
    import bot.writeback.worker as worker_module
    from bot.writeback.transport import Http

    ticket = helpdesk.add_ticket("freshdesk", "4711")
    solved = ticket.status
    dm = closed_at_vendor(wb_bot, "freshdesk", "4711")
    make_lead(wb_bot)
    record(wb_bot, dm, "not_resolved")
    vendor, http = worker_module._vendor_and_http(
        "freshdesk", wb_bot.deps.settings.writeback["freshdesk"]
    )
    short = Http(timeout=0.2)
    vendor.http = short  # type: ignore[attr-defined]
    try:
        helpdesk.hang("freshdesk", 0.5, apply=True, method="POST", path_contains="/notes")
        assert deliver_writebacks(wb_bot.deps).retrying == 1
    finally:
        vendor.http = http  # type: ignore[attr-defined]
    assert len(ticket.notes) == 1 and ticket.status == solved, "noted, not reopened"
    reopen_arrives(wb_bot, "freshdesk", "4711")  # the customer wrote back
    solved_again(wb_bot, "freshdesk", "4711")
    wb_bot.clock.set(wb_bot.clock.now() + timedelta(minutes=5))
    assert deliver_writebacks(wb_bot.deps).delivered == 1
    assert len(ticket.notes) == 1 and ticket.status == solved, "the solved ticket stays solved"
    assert [cycle for cycle, _ in open_touches(wb_bot)] == [2]
    assert case_status(wb_bot, "4711") == "closed"
