"""The weekly digest's figures, prose, post, chart, drill-down and export, on a hand-made week.

The week is 2026-W47 (Mon 16 Nov to Sun 22 Nov) in America/New_York: from 05:00 UTC on the
16th to 05:00 UTC on the 23rd. Every expected figure below is counted by hand from `WEEK`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.digest.blocks import MAX_MESSAGE_BLOCKS
from bot.digest.chart import PNG_MAGIC
from bot.digest.content import Week, build_digest, render_digest
from bot.digest.post import DigestReport, digest_due_pass, post_week
from bot.sandbox.waiting import wait_for
from db import cases as store
from db.models import AuditEntry, Case, Digest, FollowUp, Outcome, Team

NY = "America/New_York"
MONDAY_9_NY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
LONG_SAID = (
    "<!channel> the invoice & the refund are still wrong, and I have now explained it to three "
    "different people over two weeks without anyone reading the earlier messages at all"
)


def t(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Loop:
    ref: str
    closed: datetime
    due: datetime
    state: str = "done"
    result: str | None = None
    recorded: datetime | None = None
    cause: str | None = None
    said: str | None = None
    missed: datetime | None = None
    remind: datetime | None = None
    flags: tuple[str, ...] = ()
    review: tuple[bool, bool] = (False, False)
    referral: tuple[bool, bool] = (False, False)
    subject: str | None = None
    team: str = "support"
    assigned: bool = True
    template: str = "check_in"
    insight: str | None = None
    reopened: datetime | None = None


WEEK = [
    Loop(
        "A1",
        t(13, 10),
        t(16, 15),
        result="resolved",
        recorded=t(16, 16),
        cause="billing setup",
        said="Works now, thanks!",
        review=(True, True),
    ),
    Loop(
        "A2",
        t(14, 12),
        t(17, 12),
        result="resolved",
        recorded=t(18, 12),
        cause="billing setup",
        said="All good on our side",
        referral=(True, False),
    ),
    Loop(
        "A3",
        t(15, 9),
        t(18, 9),
        state="escalated",
        result="not_resolved",
        recorded=t(18, 13),
        cause="billing setup",
        said=LONG_SAID,
    ),
    Loop(
        "A4",
        t(16, 8),
        t(19, 8),
        state="escalated",
        result="not_resolved",
        recorded=t(20, 9),
        cause="docs gap",
        said="Still can't log in",
    ),
    Loop("A5", t(16, 10), t(19, 10), state="no_reply", result="no_reply", recorded=t(19, 11)),
    Loop("A6", t(17, 10), t(20, 10), state="skipped", result="skipped", recorded=t(20, 10, 30)),
    Loop("A7", t(18, 10), t(21, 10), state="sent", remind=t(21, 14), flags=("missing_resolution",)),
    Loop("A8", t(19, 12), t(22, 12), state="sent", remind=t(23, 16)),
    # Closed this week, but due three weeks ago and past its cut-off: closed, not on time.
    Loop(
        "A9", t(30, 10, month=10), t(2, 10), result="resolved", recorded=t(17, 10), missed=t(9, 10)
    ),
    # Its cut-off fell this week with no outcome: missed (and overdue now).
    Loop("A10", t(6, 10), t(9, 12), state="sent", missed=t(16, 12), remind=t(9, 16)),
    # Its cut-off fell this week, but it was answered the week before: not missed.
    Loop("A11", t(6, 11), t(9, 13), result="resolved", recorded=t(12, 10), missed=t(16, 13)),
    Loop("A12", t(14, 10), t(17, 10), state="cancelled"),
    Loop("A13", t(15, 10), t(18, 9), state="triage", assigned=False),
    # Sunday 22:00 in New York is still week 46 there, though Monday in UTC.
    Loop("B1", t(13, 9), t(16, 2), result="resolved", recorded=t(16, 3)),
    Loop("X1", t(13, 10), t(17, 10), result="resolved", recorded=t(17, 11), team="other"),
]


def seed(deps: Any, loops: list[Loop], tz: str = NY) -> None:
    """Insert cases, follow-ups and outcomes directly, as the real flow would have left them."""
    now = datetime(2026, 10, 1, tzinfo=UTC)
    with deps.session_factory.begin() as session:
        teams: dict[str, Team] = {}
        for loop in loops:
            if loop.team not in teams:
                team = store.team_for(session, loop.team, {"name": loop.team.title()}, now)
                team.timezone = tz
                teams[loop.team] = team
            team = teams[loop.team]
            agent = store.agent_by_slack_id(session, "U0AGENT", now, team.id)
            case = Case(
                source="zendesk",
                external_id=loop.ref,
                team_id=team.id,
                subject=loop.subject or f"Case {loop.ref} about invoices",
                channel="email",
                severity="normal",
                kind="request",
                tags=[],
                closed_at=loop.closed,
                reopened_at=loop.reopened,
                created_at=loop.closed,
                updated_at=loop.closed,
            )
            session.add(case)
            session.flush()
            followup = FollowUp(
                case_id=case.id,
                cycle=1,
                touch=1,
                role="owner",
                rule="ordinary",
                channel="email",
                template=loop.template,
                assignee_id=agent.id if loop.assigned else None,
                state=loop.state,
                due_at=loop.due,
                remind_at=loop.remind or loop.due + timedelta(hours=4),
                lead_at=loop.due + timedelta(days=2),
                missed_at=loop.missed or loop.due + timedelta(days=7),
                draft_flags=list(loop.flags),
                created_at=loop.closed,
                updated_at=loop.closed,
            )
            session.add(followup)
            session.flush()
            if loop.result is not None:
                assert loop.recorded is not None
                session.add(
                    Outcome(
                        follow_up_id=followup.id,
                        result=loop.result,
                        customer_said=loop.said,
                        insight=loop.insight,
                        root_cause=loop.cause,
                        review_asked=loop.review[0],
                        review_given=loop.review[1],
                        referral_asked=loop.referral[0],
                        referral_given=loop.referral[1],
                        recorded_by="U0AGENT",
                        recorded_at=loop.recorded,
                    )
                )
            if loop.state == "triage":
                store.audit(
                    session,
                    at=loop.due,
                    actor="scheduler",
                    surface="triage",
                    entity="follow_up",
                    entity_id=followup.id,
                    action="sent_to_triage",
                    detail={},
                )


def team(deps: Any, slug: str = "support") -> Team:
    with deps.session_factory() as session:
        found = session.scalar(select(Team).where(Team.slug == slug))
        assert found is not None
        return found


@pytest.fixture
def week_bot(bot: Any) -> Any:
    seed(bot.deps, WEEK)
    bot.clock.set(MONDAY_9_NY)
    return bot


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(NY)


def digest_posts(bot: Any, channel: str = "C0DIGEST") -> list[dict[str, Any]]:
    return [
        m
        for m in bot.sandbox.messages(channel)
        if (m.get("metadata") or {}).get("event_type") == ids.METADATA_DIGEST
    ]


def test_the_week_is_the_iso_week_in_the_teams_time_zone() -> None:
    week = Week.parse("2026-W47", _zone())
    assert (week.label, week.period()) == ("2026-W47", "16–22 Nov 2026")
    assert (week.start, week.end) == (t(16, 5), t(23, 5))
    assert Week.containing(t(16, 3), _zone()).label == "2026-W46"


def test_every_figure_matches_the_hand_computed_week(week_bot: Any) -> None:
    deps = week_bot.deps
    with deps.session_factory() as session:
        content = build_digest(session, team(deps), Week.parse("2026-W47", _zone()), MONDAY_9_NY)
    assert content.complete
    # Due this week: A1-A8 and A13; not the cancelled A12, not B1 (week 46). Each is exactly
    # one of on time (A1-A6), late, missed, still open (A7, A8, and A13 in triage).
    loops = content.loops
    assert (loops.due, loops.on_time, loops.late, loops.missed, loops.still_open) == (9, 6, 0, 0, 3)
    assert content.results == {"resolved": 3, "not_resolved": 2, "no_reply": 1, "skipped": 1}
    assert content.recorded == 7  # A1-A6 and A9 (due in week 45, answered late this week)
    assert (content.hold.held, content.hold.not_held) == (3, 2)
    assert content.hold_rate == pytest.approx(3 / 5)
    assert [r.external_id for r in content.not_held] == ["A3", "A4"]  # by root cause
    # Touched: 78, 96, 76, 97, 73 and 432 hours from close to outcome; median (78 + 96) / 2.
    assert content.medians == {"first check-in": pytest.approx(87.0)}
    assert content.overdue == 2  # A7 and A10; A8's reminder time has not come
    assert [(c.name, c.count) for c in content.causes] == [("billing setup", 3), ("docs gap", 1)]
    assert content.causes[1].quotes == ()  # "Still can't log in": too short to teach
    assert (content.review_asked, content.review_given) == (1, 1)
    assert (content.referral_asked, content.referral_given) == (1, 0)
    assert (content.triaged, content.triage_waiting) == (1, 1)
    assert content.flagged_drafts == 1  # A7
    trend = [
        (p.week, p.due, p.on_time, p.late, p.missed, p.still_open, p.hold_rate)
        for p in content.trend
    ]
    assert trend == [
        ("2026-W43", 0, 0, 0, 0, 0, None),
        ("2026-W44", 0, 0, 0, 0, 0, None),
        ("2026-W45", 1, 0, 1, 0, 0, None),  # A9 was due, answered after its cut-off
        ("2026-W46", 3, 2, 0, 1, 0, 1.0),  # A11 and B1 on time; A10 missed
        ("2026-W47", 9, 6, 0, 0, 3, pytest.approx(0.6)),
    ]


def test_the_prose_credits_the_team_and_shows_every_figure(week_bot: Any) -> None:
    deps = week_bot.deps
    with deps.session_factory() as session:
        content = build_digest(session, team(deps), Week.parse("2026-W47", _zone()), MONDAY_9_NY)
    text = render_digest(deps.renderer, content).as_text()
    for expected in (
        "Thank you, team: *6 of 9 due closed on time (67%)*",
        "Follow-ups due this week: *9*: 6 closed on time, 0 closed late, 0 missed "
        "(cut-off passed, no outcome), 3 still open",
        "Outcomes recorded this week: *7*",
        "first check-in *3.6 days*",  # 87 h
        "Overdue now (sent, no outcome, past the reminder): *2*",
        "Resolutions that held: 3 of 5 answered (60%)* (2 still not right)",
        "• billing setup: 3 this week · new",
        "Honest reviews asked: 1, given: 1",
        "Introductions asked: 1, made: 0",
        "could not be assigned: 1 this week, 1 still waiting in triage",
        "too generic (the case lacked a subject or a resolution): 1",
        "9–15 Nov: 3 due: 2 / 0 / 1 / 0 · held 2 of 2",
        "*16–22 Nov: 9 due: 6 / 0 / 0 / 3 · held 3 of 5*",
        # An average of 1 is too small a base for a percentage (it was "+1300%").
        "Due this week: 9, against an average of 1 over the previous 4 weeks.",
    ):
        assert expected in text, expected
    assert "U0AGENT" not in text and "Ada" not in text  # no per-agent figures in public


def test_quotes_are_escaped_and_trimmed(week_bot: Any) -> None:
    deps = week_bot.deps
    with deps.session_factory() as session:
        content = build_digest(session, team(deps), Week.parse("2026-W47", _zone()), MONDAY_9_NY)
    [quote] = content.causes[0].quotes
    assert len(quote) <= 140 and quote.endswith("…")
    assert quote.startswith("<!channel> the invoice & the refund")
    text = render_digest(deps.renderer, content).as_text()
    assert "&lt;!channel&gt; the invoice &amp; the refund" in text
    assert "<!channel>" not in text


def test_the_due_digest_posts_once_with_buttons_and_a_chart(week_bot: Any) -> None:
    bot = week_bot
    report = digest_due_pass(bot.deps)
    assert report.posted == ["support 2026-W47", "other 2026-W47"]
    assert digest_due_pass(bot.deps).posted == []
    posts = digest_posts(bot)
    assert len(posts) == 2
    support = next(p for p in posts if "Support" in json.dumps(p["blocks"]))
    assert len(support["blocks"]) <= MAX_MESSAGE_BLOCKS
    body = json.dumps(support["blocks"], ensure_ascii=False)
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body
    buttons = [e for b in support["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == [
        "Didn't hold",
        "Overdue",
        "Root causes",
        "Keeps coming back",
    ]
    with bot.deps.session_factory() as session:
        row = session.scalar(select(Digest).where(Digest.week == "2026-W47").order_by(Digest.id))
        assert row is not None
        assert (row.state, row.slack_ts, row.slack_channel) == ("posted", support["ts"], "C0DIGEST")
        assert row.summary["on_time"] == 6 and row.summary["hold_rate"] == pytest.approx(0.6)
    assert support["metadata"]["event_payload"]["digest_id"] == row.id
    charts = [f for f in bot.sandbox.files.values() if f["completed"]]
    assert len(charts) == 2
    assert all(f["content"].startswith(PNG_MAGIC) for f in charts)
    assert {f["name"] for f in charts} == {
        "followup-digest-support-2026-W47.png",
        "followup-digest-other-2026-W47.png",
    }


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
def test_a_failed_chart_upload_leaves_the_digest_complete_in_text(
    week_bot: Any, method: str
) -> None:
    bot = week_bot
    # 500s beyond the client's retries, for every upload this pass makes.
    bot.sandbox.fail_next(method, times=10)
    report = DigestReport()
    status = post_week(bot.deps, team(bot.deps), Week.parse("2026-W47", _zone()), report)
    assert status == "posted"
    assert report.chart_failed == ["support 2026-W47"]
    [post] = digest_posts(bot)
    body = json.dumps(post["blocks"], ensure_ascii=False)
    for figure in ("6 of 9 due closed on time", "3 of 5 answered", "billing setup: 3", "16–22"):
        assert figure in body
    assert "6 of 9 due closed on time" in post["text"]
    assert not [f for f in bot.sandbox.files.values() if f["completed"]]
    with bot.deps.session_factory() as session:
        row = session.scalar(select(Digest))
        assert row is not None and row.state == "posted"
        assert row.summary["chart"] == "failed"


def test_an_empty_week_posts_a_short_quiet_digest(bot: Any) -> None:
    seed(bot.deps, [Loop("OLD", t(1, 10), t(4, 10), result="resolved", recorded=t(5, 10))])
    bot.clock.set(MONDAY_9_NY)
    with bot.deps.session_factory() as session:
        content = build_digest(
            session, team(bot.deps), Week.parse("2026-W47", _zone()), MONDAY_9_NY
        )
    assert (content.due, content.closed, content.overdue, content.missed) == (0, 0, 0, 0)
    assert not content.medians and content.hold_rate is None and not content.causes
    assert digest_due_pass(bot.deps).posted == ["support 2026-W47"]
    [post] = digest_posts(bot)
    assert "A quiet week: no follow-ups were due and no outcomes were recorded." in post["text"]
    assert "Outcomes" not in post["text"]


def test_a_team_with_no_cases_gets_no_post(bot: Any) -> None:
    with bot.deps.session_factory.begin() as session:
        empty = store.team_for(session, "empty", {"name": "Empty"}, t(1, 0))
        empty.timezone = NY
    bot.clock.set(MONDAY_9_NY)
    with bot.deps.session_factory() as session:
        content = build_digest(
            session, team(bot.deps, "empty"), Week.parse("2026-W47", _zone()), MONDAY_9_NY
        )
    assert (content.due, content.closed, content.hold_rate, content.medians) == (0, 0, None, {})
    assert "A quiet week" in render_digest(bot.deps.renderer, content).as_text()
    assert digest_due_pass(bot.deps).posted == []
    assert digest_posts(bot) == []
    with bot.deps.session_factory() as session:
        assert session.scalar(select(Digest)) is None


def test_drill_down_buttons_open_modals_listing_the_cases(week_bot: Any) -> None:
    bot = week_bot
    digest_due_pass(bot.deps)
    post = next(p for p in digest_posts(bot) if "Support" in json.dumps(p["blocks"]))
    buttons = {
        e["text"]["text"]: e
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    seen: dict[str, str] = {}
    for opened, label in enumerate(("Didn't hold", "Overdue", "Root causes"), start=1):
        button = buttons[label]
        response = bot.driver.block_action_from_message(
            "U0LEAD", "C0DIGEST", post["ts"], button["action_id"], button["value"]
        )
        assert response.status == 200
        drilldowns = wait_for(
            lambda n=opened: [
                v
                for v in bot.sandbox.views("U0LEAD")
                if v.get("callback_id") == ids.VIEW_DIGEST_DRILLDOWN
            ][n - 1 : n]
        )
        assert drilldowns, f"the {label} drill-down opened"
        [view] = drilldowns
        assert view["title"]["text"] == label
        seen[label] = json.dumps(view["blocks"], ensure_ascii=False)
    assert "zendesk:A3" in seen["Didn't hold"] and "zendesk:A4" in seen["Didn't hold"]
    assert "&lt;!channel&gt;" in seen["Didn't hold"] and "<!channel>" not in seen["Didn't hold"]
    assert "zendesk:A1" not in seen["Didn't hold"]
    assert "zendesk:A7" in seen["Overdue"] and "zendesk:A10" in seen["Overdue"]
    assert "zendesk:A8" not in seen["Overdue"]
    assert "• billing setup: 3" in seen["Root causes"] and "zendesk:A4" in seen["Root causes"]


def test_followup_digest_in_slack_previews_this_week_so_far(week_bot: Any) -> None:
    bot = week_bot
    bot.clock.set(t(19, 12))  # Thursday noon: A1, A9, A2, A3 and A5 are recorded so far
    before = len(bot.sandbox.responses)
    assert bot.driver.command("U0AGENT", "digest").status == 200
    [reply] = wait_for(lambda: bot.sandbox.responses[before:])
    text = json.dumps(reply.body, ensure_ascii=False)
    assert "16–22 Nov 2026 (so far)" in text
    assert "*4 of 6 due closed on time (67%)* so far" in text  # due by Thursday noon
    assert ids.ACTION_DIGEST_DRILLDOWN not in text  # a preview has no digest to drill into
    assert digest_posts(bot) == []


def _cli_env(bot: Any, tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL", "DIGEST_"))
    }
    env["DATABASE_URL"] = bot.deps.settings.database_url
    return env


def csv_export(bot: Any, tmp_path: Path) -> list[dict[str, str]]:
    """`followup digest --format csv` for the support team's 2026-W47, as a process: its rows."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "digest",
            "--team",
            "support",
            "--week",
            "2026-W47",
            "--format",
            "csv",
            "--now",
            MONDAY_9_NY.isoformat(),
        ],
        env=_cli_env(bot, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_csv_export_has_one_row_per_follow_up_of_the_week(
    week_bot: Any, tmp_path: Path
) -> None:
    with week_bot.deps.session_factory.begin() as session:
        case = session.scalar(select(Case).where(Case.external_id == "A5"))
        assert case is not None
        case.subject = '=HYPERLINK("http://evil")'
    rows = csv_export(week_bot, tmp_path)
    by_case = {r["case"]: r for r in rows}
    assert sorted(by_case) == sorted(
        f"zendesk:{r}" for r in ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10", "A13")
    )
    assert all(r["team"] == "support" and r["week"] == "2026-W47" for r in rows)
    a3 = by_case["zendesk:A3"]
    assert (a3["outcome"], a3["held"], a3["on_time"], a3["root_cause"]) == (
        "not_resolved",
        "no",
        "yes",
        "billing setup",
    )
    assert a3["customer_said"] == LONG_SAID and a3["agent"] == "U0AGENT"
    assert (by_case["zendesk:A1"]["held"], by_case["zendesk:A1"]["review_given"]) == ("yes", "yes")
    assert (by_case["zendesk:A9"]["on_time"], by_case["zendesk:A9"]["due_at"]) == (
        "no",
        "2026-11-02T10:00:00Z",
    )
    assert (by_case["zendesk:A10"]["missed"], by_case["zendesk:A10"]["outcome"]) == ("yes", "")
    assert by_case["zendesk:A7"]["draft_flags"] == "missing_resolution"
    assert by_case["zendesk:A13"]["state"] == "triage" and by_case["zendesk:A13"]["agent"] == ""
    assert by_case["zendesk:A5"]["subject"] == '\'=HYPERLINK("http://evil")'


def test_dry_run_prints_the_digest_and_writes_the_chart(week_bot: Any, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "digest",
            "--team",
            "support",
            "--dry-run",
            "--now",
            MONDAY_9_NY.isoformat(),
            "--chart-dir",
            str(tmp_path),
        ],
        env=_cli_env(week_bot, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Weekly follow-up digest: Support, 16–22 Nov 2026" in result.stdout
    assert "6 of 9 due closed on time" in result.stdout and "*" not in result.stdout  # plain
    chart = tmp_path / "followup-digest-support-2026-W47.png"
    assert f"chart: {chart}" in result.stdout
    assert chart.read_bytes().startswith(PNG_MAGIC)
    assert digest_posts(week_bot) == []
    with week_bot.deps.session_factory() as session:
        assert session.scalar(select(Digest)) is None  # a dry run claims nothing


def test_audit_rows_of_other_kinds_do_not_count_as_triage(week_bot: Any) -> None:
    with week_bot.deps.session_factory.begin() as session:
        followup = session.scalar(select(FollowUp).join(Case).where(Case.external_id == "A1"))
        assert followup is not None
        session.add(
            AuditEntry(
                at=t(17, 9),
                actor="x",
                surface="dm",
                entity="follow_up",
                entity_id=followup.id,
                action="nudge_sent",
                detail={},
            )
        )
    with week_bot.deps.session_factory() as session:
        content = build_digest(
            session, team(week_bot.deps), Week.parse("2026-W47", _zone()), MONDAY_9_NY
        )
    assert content.triaged == 1


def test_the_digest_templates_pass_templates_check(week_bot: Any) -> None:
    from bot.digest.content import digest_variables
    from bot.render.templates import check_templates

    deps = week_bot.deps
    with deps.session_factory() as session:
        content = build_digest(session, team(deps), Week.parse("2026-W47", _zone()), MONDAY_9_NY)
    sections = ("summary", "outcomes", "root_causes", "asks", "attention", "trend", "footer")
    samples: dict[str, list[dict[str, Any]]] = {
        f"digest/{name}": [digest_variables(content)] for name in sections
    }
    samples["digest/drilldown_item"] = [
        {"reference": "zendesk:1", "subject": "Export", "detail": None, "said": None}
    ]
    samples["digest/chart_comment"] = [{"team": "Support"}]
    assert check_templates(deps.renderer, samples) == []
