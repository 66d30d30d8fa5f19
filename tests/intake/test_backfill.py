"""`followup import FILE.csv`: edge cases, line numbers, idempotency, plans equal to intake's."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.cases import Channel, ClosedCase, Kind, Severity
from bot.intake import backfill
from bot.intake.accept import accept_case
from bot.intake.backfill import import_lines
from bot.intake.backfill_rows import BackfillError, RowError, parse_row
from bot.planning.bulk import TabledCalendar
from bot.rules.working_hours import WorkingCalendar
from db import cases as store
from db.models import Agent, Case, FollowUp
from tests.stored_plans import stored_plan

HEADER = "case_id,subject,closed_at,owner_email,channel,kind,severity,b2b,tags,team"


def run(bot: Any, text: str | bytes, source: str = "generic") -> Any:
    raw = text.encode() if isinstance(text, str) else text
    return import_lines(bot.deps, raw.splitlines(keepends=True), source=source)


def cases(bot: Any) -> dict[str, Case]:
    with bot.deps.session_factory() as session:
        found = {c.external_id: c for c in session.scalars(select(Case))}
        for case in found.values():
            _ = case.team  # loaded before the session closes
        return found


def test_edge_cases_bom_crlf_quotes_newlines_empty_lines_and_bad_rows(bot: Any) -> None:
    text = (
        "\ufeff" + HEADER + "\r\n"
        '1,"Refund, again",2026-11-19T10:00:00Z,ada@example.com,phone,complaint,high,yes,'
        '"vip; billing, eu",\r\n'
        "\r\n"
        '2,"Two\r\nlines ""quoted""",2026-11-19T11:00:00+01:00,ada@example.com,,,,,,\r\n'
        "3,Bad date,2026-13-45,ada@example.com,,,,,,\r\n"
        "4,Naive date,2026-11-19 10:00,ada@example.com,,,,,,\r\n"
        "5,Fax,2026-11-19T10:00:00Z,ada@example.com,fax,,,,,\r\n"
        "6,No owner,2026-11-19T10:00:00Z,,,,,,,\r\n"
        "7,Short row\r\n"
        "1,Same id again,2026-11-19T10:00:00Z,ada@example.com,,,,,,\r\n"
        "8,Ünïcødé ✓ <!channel>,2026-11-19T10:00:00Z,ada@example.com,chat,,,,,support\r\n"
    )
    report = run(bot, text)
    assert (report.rows, report.imported, report.duplicates) == (9, 3, 1)
    assert report.rejection_lines() == [
        "line 6: closed_at: not an ISO 8601 date and time: '2026-13-45'",
        "line 7: closed_at: needs an offset or Z (e.g. 2026-11-20T10:00:00Z): '2026-11-19 10:00'",
        "line 8: channel: unknown value 'fax' (one of: email, phone, chat, web, social, other)",
        "line 9: owner_email: an owner_email or owner_slack_id is required",
        "line 10: has 2 fields, the header has 10",
    ]
    stored = cases(bot)
    assert stored["1"].subject == "Refund, again" and stored["1"].tags == ["vip", "billing", "eu"]
    assert stored["1"].b2b and stored["1"].kind == "complaint" and stored["1"].channel == "phone"
    assert stored["2"].subject == 'Two\r\nlines "quoted"'
    assert stored["2"].closed_at == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert stored["8"].subject == "Ünïcødé ✓ <!channel>" and stored["8"].team.slug == "support"


def test_rerunning_imports_nothing_twice(bot: Any) -> None:
    text = (
        HEADER
        + "\n"
        + "".join(
            f"R{i},Case {i},2026-11-19T10:00:00Z,ada@example.com,,,,,,\n" for i in range(2500)
        )
    )
    first = run(bot, text)
    assert (first.imported, first.duplicates, first.rejected) == (2500, 0, 0)
    with bot.deps.session_factory() as session:
        planned = len(session.scalars(select(FollowUp)).all())
    assert planned == first.planned > 0
    again = run(bot, text)
    assert (again.imported, again.duplicates, again.planned) == (0, 2500, 0)
    with bot.deps.session_factory() as session:
        assert len(session.scalars(select(FollowUp)).all()) == planned


def test_header_problems_stop_the_import_before_anything_is_written(bot: Any) -> None:
    with pytest.raises(BackfillError, match="unknown column\\(s\\) 'priority', 'owner'"):
        run(bot, "case_id,subject,closed_at,priority,owner\n1,x,2026-11-19T10:00:00Z,a,b\n")
    with pytest.raises(BackfillError, match="lacks the required column\\(s\\) closed_at"):
        run(bot, "case_id,subject,owner_email\n")
    with pytest.raises(BackfillError, match="empty"):
        run(bot, "\n\n")
    with pytest.raises(BackfillError, match="--source"):
        run(bot, HEADER + "\n", source="zendesks")
    assert cases(bot) == {}


def test_invalid_utf8_rejects_only_its_row(bot: Any) -> None:
    raw = (
        HEADER.encode() + b"\n"
        b"1,caf\xe9,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n"
        b"2,fine,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n"
    )
    report = run(bot, raw)
    assert report.imported == 1
    assert report.rejection_lines() == ["line 2: contains bytes that are not valid UTF-8"]


def test_a_nul_character_rejects_only_its_row(bot: Any) -> None:
    # PostgreSQL cannot store NUL in text: refused with the field named, on every database.
    raw = (
        HEADER + "\n"
        "1,refund\x00done,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n"
        "2,fine,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n"
    )
    report = run(bot, raw)
    assert report.imported == 1
    assert report.rejection_lines() == ["line 2: subject: must not contain NUL (U+0000) characters"]


def test_close_times_out_of_range_reject_only_their_rows(bot: Any) -> None:
    # Year 9999 overflowed planning (closed_at + 30 days) and aborted the whole import.
    raw = (
        HEADER + "\n"
        "1,far future,9999-12-31T10:00:00Z,ada@example.com,,,,,,\n"
        "2,year one,0001-01-01T00:00:00Z,ada@example.com,,,,,,\n"
        "3,fine,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n"
    )
    report = run(bot, raw)
    assert report.imported == 1
    assert [line.split(":")[0] for line in report.rejection_lines()] == ["line 2", "line 3"]
    assert all("closed_at: must be between 2000-01-01" in r for r in report.rejection_lines())


def test_only_bytes_that_were_not_utf8_are_called_so() -> None:
    header = ["case_id", "subject", "closed_at", "owner_email"]
    values = ["1", "Caf\udce9", "2026-11-19T10:00:00Z", "ada@example.com"]
    with pytest.raises(RowError, match="not valid UTF-8"):
        parse_row(header, values, "generic")
    # A lone surrogate that no undecodable byte left behind is not one of them.
    assert parse_row(header, ["1", "Caf\ud800", *values[2:]], "generic").subject == "Caf\ud800"


def test_an_imported_case_is_the_webhooks_case_and_plans_the_same(bot: Any) -> None:
    run(
        bot,
        HEADER + "\nZ-1,Printer jams,2026-11-19T16:00:00Z,ada@example.com,phone,complaint,"
        "high,true,,\n",
        source="zendesk",
    )
    closed = ClosedCase(
        source="zendesk",
        external_id="Z-2",
        subject="Printer jams",
        closed_at=datetime(2026, 11, 19, 16, tzinfo=UTC),
        owner_email="ada@example.com",
        channel=Channel.PHONE,
        kind=Kind.COMPLAINT,
        severity=Severity.HIGH,
        b2b=True,
    )
    with bot.deps.session_factory.begin() as session:
        accept_case(session, bot.deps, closed, actor="test", surface="test")
        again = accept_case(
            session, bot.deps, closed.replace(external_id="Z-1"), actor="t", surface="t"
        )
    assert again.change.value == "duplicate"  # the webhook sees the imported case
    with bot.deps.session_factory() as session:
        case_ids = session.scalars(select(Case.id).order_by(Case.id)).all()
        imported, accepted = (stored_plan(session, case_id, {}) for case_id in case_ids)
    assert imported == accepted and len(imported) == 2


def test_old_cases_are_history_without_follow_ups(bot: Any) -> None:
    report = run(bot, HEADER + "\nOLD,Ancient,2025-01-06T10:00:00Z,ada@example.com,,,,,,\n")
    assert (report.imported, report.planned, report.too_late) == (1, 0, 1)


ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    minutes=st.integers(0, 60 * 24 * 400),
    hours=st.floats(0, 200, allow_nan=False),
    more=st.floats(0, 40, allow_nan=False),
    days=st.sampled_from(["mon-fri", "mon,wed,sat", "sun-thu"]),
)
def test_tabled_calendar_equals_the_working_calendar(
    zone: str, minutes: int, hours: float, more: float, days: str
) -> None:
    plain = WorkingCalendar.parse(
        tz=zone, days=days, start="08:30", end="17:15", holidays=["2026-12-25", "2027-01-01"]
    )
    tabled = TabledCalendar.of(plain)
    moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    due = plain.next_window_start(moment)
    assert tabled.next_window_start(moment) == due
    assert tabled.add_working_hours(moment, hours) == plain.add_working_hours(moment, hours)
    # A touch's due, reminder and lead times, found from one lookup.
    assert tabled.due_and_later(moment, more, hours) == (
        due,
        plain.add_working_hours(due, more),
        plain.add_working_hours(due, hours),
    )


@pytest.mark.realclock  # `followup import` in its own process reads the real clock
def test_cli_import_prints_summary_and_rejections(bot: Any, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        HEADER + "\n1,Fine,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n2,Bad,soon,a@b.c,,,,,,\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["DATABASE_URL"] = bot.deps.settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", str(path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1  # some rows were rejected
    assert "importing" not in done.stderr, "no progress bar when stderr is no terminal"
    assert "line 3: closed_at: not an ISO 8601 date and time: 'soon'" in done.stderr
    assert done.stdout.startswith("2 rows: imported 1, duplicates 0, rejected 1")


def _roster(bot: Any) -> None:
    """A lead in New York, an agent in Tokyo with her own lead, an account manager in Paris."""
    now = bot.clock.now()
    with bot.deps.session_factory.begin() as session:
        team = store.team_for(session, "support", {}, now)
        lead = Agent(
            slack_user_id="UL1",
            email="lead@example.com",
            timezone="America/New_York",
            team_id=team.id,
            is_lead=True,
            created_at=now,
        )
        own_lead = Agent(slack_user_id="UL2", email="boss@example.com", created_at=now)
        session.add_all([lead, own_lead])
        session.flush()
        session.add_all(
            [
                Agent(
                    slack_user_id="UA1",
                    email="kei@example.com",
                    timezone="Asia/Tokyo",
                    team_id=team.id,
                    lead_id=own_lead.id,
                    created_at=now,
                ),
                Agent(
                    slack_user_id="UM1",
                    email="am@example.com",
                    timezone="Europe/Paris",
                    work_start="10:00",
                    created_at=now,
                ),
            ]
        )


def _stored(bot: Any, prefix: str) -> dict[str, tuple[Any, ...]]:
    """Each case's people and team, and its plan (ids replaced by Slack ids)."""
    found = {}
    with bot.deps.session_factory() as session:
        agents = {a.id: a.slack_user_id for a in session.scalars(select(Agent))}
        for case in session.scalars(select(Case).where(Case.external_id.like(f"{prefix}%"))):
            plan = stored_plan(session, case.id, agents, counters=True)
            found[case.external_id.removeprefix(prefix)] = (
                case.team.slug,
                agents.get(case.owner_id),
                agents.get(case.account_manager_id),
                case.closed_at,
                case.tags,
                plan,
            )
    return found


def test_imported_cases_are_stored_and_planned_as_each_webhook_case(bot: Any) -> None:
    """Many kinds of case, people and close times: an import stores and plans each case as
    `accept_case` does, but for the touches already past their cut-off."""
    _roster(bot)
    now = bot.clock.now()
    header = (
        "case_id,subject,closed_at,owner_email,owner_slack_id,channel,kind,severity,b2b,"
        "senior_involved,account_manager_email,team,tags"
    )
    owners = [("kei@example.com", ""), ("lead@example.com", ""), ("", "UNEW9"), ("x@y.z", "")]
    managers = ["", "am@example.com", "ghost@example.com"]
    lines, webhook = [header], []
    for i in range(120):
        closed_at = now - timedelta(minutes=137 * i + i % 7)  # the last 11 days, any minute
        email, slack_id = owners[i % 4]
        facts = {
            "channel": list(Channel)[i % 6],
            "kind": list(Kind)[(i // 6) % 4],
            "severity": list(Severity)[(i // 24) % 4],
            "b2b": i % 5 == 0,
            "senior_involved": i % 7 == 0,
            "account_manager_email": managers[i % 3] or None,
            "team": "support" if i % 2 else None,
            "tags": ("escalated",) if i % 11 == 0 else (),
        }
        lines.append(
            f"IMP-{i},Case {i},{closed_at.isoformat()},{email},{slack_id},{facts['channel']},"
            f"{facts['kind']},{facts['severity']},{facts['b2b']},{facts['senior_involved']},"
            f"{facts['account_manager_email'] or ''},{facts['team'] or ''},"
            f"{';'.join(facts['tags'])}"
        )
        webhook.append(
            ClosedCase(
                source="zendesk",
                external_id=f"WEB-{i}",
                subject=f"Case {i}",
                closed_at=closed_at,
                owner_email=email or None,
                owner_slack_id=slack_id or None,
                **facts,
            )
        )
    report = run(bot, "\n".join(lines), source="zendesk")
    assert (report.imported, report.rejected) == (120, 0)
    with bot.deps.session_factory.begin() as session:
        for closed in webhook:
            accept_case(session, bot.deps, closed, actor="test", surface="test")
    imported, accepted = _stored(bot, "IMP-"), _stored(bot, "WEB-")
    late = 0
    for number, (*case, plan) in accepted.items():
        *imported_case, imported_plan = imported[number]
        assert imported_case == case, number
        in_time = [touch for touch in plan if touch[11] > now]  # missed_at after now
        assert imported_plan == in_time, number
        late += len(plan) - len(in_time)
    assert report.planned == sum(len(case[-1]) for case in imported.values())
    assert report.too_late == late > 0 and report.planned > 0


def test_the_collector_runs_rarely_while_importing_and_as_before_afterwards(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = gc.get_threshold()
    during: list[int] = []
    store_chunk = backfill._store_chunk

    def spying(*args: Any) -> None:
        during.append(gc.get_threshold()[0])
        store_chunk(*args)

    monkeypatch.setattr(backfill, "_store_chunk", spying)
    run(bot, HEADER + "\n1,Fine,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n")
    assert during == [max(before[0], backfill.RARE_COLLECTIONS)]
    assert gc.get_threshold() == before

    def failing(*args: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(backfill, "_store_chunk", failing)
    with pytest.raises(RuntimeError):
        run(bot, HEADER + "\n2,Fine,2026-11-19T10:00:00Z,ada@example.com,,,,,,\n")
    assert gc.get_threshold() == before
