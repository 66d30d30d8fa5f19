"""#22: figures with their denominators, what keeps breaking, quotes that say something, team
names, and the lead's 8-week view. Weeks as in test_digest.py: 2026-W47 is 16-22 Nov in New
York; every expected figure is counted by hand from the loops seeded in each test."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.digest import figures
from bot.digest.causes import choose_quotes, is_thanks, trend_status
from bot.digest.content import DigestContent, Week, build_digest, render_digest
from bot.digest.post import chart_weeks, digest_due_pass
from bot.loop.queue import home_view
from bot.sandbox.waiting import wait_for
from db.models import Agent, Digest, Team
from tests.digest.test_digest import (
    MONDAY_9_NY,
    WEEK,
    Loop,
    _cli_env,
    _zone,
    csv_export,
    digest_posts,
    seed,
    t,
    team,
)

W47 = Week.parse("2026-W47", _zone())


@pytest.fixture
def week_bot(bot: Any) -> Any:
    """test_digest.py's hand-made week, as that module's fixture of the same name."""
    seed(bot.deps, WEEK)
    bot.clock.set(MONDAY_9_NY)
    return bot


def digest(bot: Any, week: Week = W47) -> DigestContent:
    with bot.deps.session_factory() as session:
        return build_digest(session, team(bot.deps), week, MONDAY_9_NY)


def text_of(bot: Any, content: DigestContent) -> str:
    return render_digest(bot.deps.renderer, content).as_text()


def reply(bot: Any, user: str, text: str) -> str:
    before = len(bot.sandbox.responses)
    assert bot.driver.command(user, text).status == 200
    got = wait_for(lambda: bot.sandbox.responses[before:])
    assert got[-1].body.get("response_type") == "ephemeral"
    return str(got[-1].body["text"])


def weekly(cause: str, weeks_ago: list[int], per_week: int = 1) -> list[Loop]:
    """`per_week` resolved loops naming `cause` in each of the weeks `weeks_ago` (0: W47)."""
    loops = []
    for ago in weeks_ago:
        for n in range(per_week):
            recorded = t(17, 15) - timedelta(weeks=ago) + timedelta(hours=n)
            loops.append(
                Loop(
                    f"{cause[:3]}-{ago}-{n}",
                    recorded - timedelta(days=4),
                    recorded - timedelta(days=1),
                    result="resolved",
                    recorded=recorded,
                    cause=cause,
                )
            )
    return loops


# -- 1. one definition per figure -------------------------------------------------------------


def test_every_week_due_splits_into_on_time_late_missed_and_open(week_bot: Any) -> None:
    """Was: "7 loops closed, 6 on time" beside "missed this week: 1", counted over different
    follow-ups. Now each week's follow-ups due are split, so the parts add up to the whole."""
    content = digest(week_bot)
    for point in content.trend:
        assert point.on_time + point.late + point.missed + point.still_open == point.due
    text = text_of(week_bot, content)
    assert "*6 of 9 due closed on time (67%)*" in text
    assert "loops closed" not in text and "missed this week" not in text


@pytest.mark.parametrize(
    ("now", "before", "says"),
    [
        (5, [0, 0, 1, 0], "5, against an average of 0.2 over the previous 4 weeks"),
        (5, [], "5"),
        (12, [8, 10, 12, 10], "12, against an average of 10 over the previous 4 weeks (+20%)"),
        (4, [5, 5, 5, 5], "4, against an average of 5 over the previous 4 weeks (-20%)"),
    ],
)
def test_a_percentage_change_only_against_a_base_of_five_or_more(
    now: int, before: list[int], says: str
) -> None:
    """Was: "5 closed against an average of 0.2 ... (+1900%)"."""
    assert figures.change_text(now, before) == says
    assert figures.MIN_CHANGE_BASE == 5


def test_rates_show_their_denominators() -> None:
    assert figures.rate_text(2, 5, "due closed on time") == "2 of 5 due closed on time (40%)"
    assert figures.rate_text(0, 0, "due closed on time") == "none due"


def test_the_median_is_per_kind_of_touch(bot: Any) -> None:
    """Was: one median of 30.0 days when 30-day checks dominated the week."""
    loops = [
        Loop(f"F{n}", t(13, 10), t(16, 10), result="resolved", recorded=t(16, 10 + n))
        for n in range(2)  # 72 and 73 hours after close
    ] + [
        Loop(
            f"T{n}",
            t(17, 10, month=10),
            t(16, 10),
            result="resolved",
            recorded=t(16, 10) + timedelta(hours=n),
            template="fix_held",
        )
        for n in range(3)  # 30 days, and an hour and two more
    ]
    seed(bot.deps, loops)
    content = digest(bot)
    assert content.medians == {
        "first check-in": pytest.approx(72.5),
        "30-day check": pytest.approx(30 * 24 + 1),
    }
    assert "first check-in *3.0 days*; 30-day check *30.0 days*" in text_of(bot, content)


def test_the_csv_counts_the_week_as_the_digest_does(week_bot: Any, tmp_path: Path) -> None:
    rows = csv_export(week_bot, tmp_path)
    due = [r for r in rows if W47.start.strftime("%Y-%m-%d") <= r["due_at"][:10] <= "2026-11-22"]
    due = [r for r in due if r["state"] != "cancelled" and r["case"] != "zendesk:B1"]
    loops = digest(week_bot).loops
    ended = Counter(r["ended"] for r in due)
    assert (ended["on time"], ended["late"], ended["missed"], ended["open"]) == (
        loops.on_time,
        loops.late,
        loops.missed,
        loops.still_open,
    )
    assert by_ref(rows, "zendesk:A9")["ended"] == "late"
    assert by_ref(rows, "zendesk:A10")["ended"] == "missed"


def by_ref(rows: list[dict[str, str]], ref: str) -> dict[str, str]:
    return next(r for r in rows if r["case"] == ref)


# -- 2. what keeps breaking -------------------------------------------------------------------


def test_trend_status_rule() -> None:
    assert trend_status([0, 0, 0, 0, 0, 1, 1, 1]) == "new"
    assert trend_status([1, 0, 0, 0, 1, 1, 1, 0]) == "rising"
    assert trend_status([2, 1, 1, 0, 0, 1, 0, 0]) == "fading"
    assert trend_status([1, 0, 1, 0, 0, 1, 1, 0]) == "steady"


def test_root_causes_are_followed_over_eight_weeks(bot: Any) -> None:
    """Was: one week's causes only, "(recurring)" meaning more than one this week."""
    seed(
        bot.deps,
        weekly("billing setup", [0, 1, 2])  # 3 of the last 4 weeks, none before: new, back
        + weekly("docs gap", [4, 5, 6, 7])  # 4 earlier, 1 recent: fading
        + weekly("docs gap", [0])
        + weekly("product bug", [7])  # 1 earlier, 4 recent: rising, back
        + weekly("product bug", [0, 1, 2, 3]),
    )
    content = digest(bot)
    status = {t.name: t.status for t in content.cause_trends}
    assert status == {"billing setup": "new", "docs gap": "fading", "product bug": "rising"}
    assert sorted(t.name for t in content.keeps_coming_back) == ["billing setup", "product bug"]
    text = text_of(bot, content)
    assert "• billing setup: 1 this week · new · keeps coming back (3 of the last 4 weeks)" in text
    assert "• docs gap: 1 this week · fading" in text
    assert "*Keeps coming back* (named in 3 or more of the last 4 weeks): product bug" in text
    assert "(recurring)" not in text


def test_keeps_coming_back_drills_down_to_the_cases(bot: Any) -> None:
    seed(bot.deps, weekly("billing setup", [0, 1, 2]) + weekly("docs gap", [0, 5]))
    bot.clock.set(MONDAY_9_NY)
    digest_due_pass(bot.deps)
    [post] = digest_posts(bot)
    [button] = [
        e
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Keeps coming back"
    ]
    bot.driver.block_action_from_message(
        "U0LEAD", "C0DIGEST", post["ts"], button["action_id"], button["value"]
    )
    [view] = wait_for(lambda: bot.sandbox.views("U0LEAD"))
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert "billing setup: 3 cases in 3 of the last 4 weeks" in shown
    for ago in (0, 1, 2):
        assert f"zendesk:bil-{ago}-0" in shown
    assert "docs gap" not in shown


def test_reopens_count_against_the_hold_rate_and_unhappy_is_held_but_shown(bot: Any) -> None:
    """Was: a case reopened after the follow-up said "resolved" still counted as held."""
    seed(
        bot.deps,
        [
            Loop("R1", t(13, 10), t(16, 10), result="resolved", recorded=t(16, 11)),
            Loop(
                "R2",
                t(13, 10),
                t(16, 10),
                result="resolved",
                recorded=t(16, 12),
                cause="wrong fix",
                reopened=t(18, 9),  # reopened in the helpdesk after "resolved"
            ),
            Loop(
                "R3", t(13, 10), t(16, 10), result="resolved", recorded=t(17, 9), reopened=t(16, 9)
            ),
            Loop("N1", t(13, 10), t(16, 10), result="not_resolved", recorded=t(16, 13)),
            Loop("U1", t(13, 10), t(16, 10), result="unhappy", recorded=t(16, 14)),
        ],
    )
    content = digest(bot)
    hold = content.hold
    # Held: R1, R3 (its reopen came before the outcome), U1; not held: R2 (reopened), N1.
    assert (hold.held, hold.not_held, hold.reopened, hold.unhappy) == (3, 2, 1, 1)
    assert sorted(r.external_id for r in content.not_held) == ["N1", "R2"]
    text = text_of(bot, content)
    assert "Resolutions that held: 3 of 5 answered (60%)* (1 still not right, 1 reopened" in text
    assert "1 resolved, but unhappy with how it went: counted as held" in text
    assert "• wrong fix:\n    :warning: zendesk:R2" in text  # grouped by root cause
    assert "(reopened in the helpdesk)" in text


# -- 3. quotes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "said", ["Works now, thanks!", "thanks, it works", "M fits, thanks.", "All good on our side"]
)
def test_a_thanks_is_never_a_quote(said: str) -> None:
    assert is_thanks(said)
    assert choose_quotes([], [said], set(), 2) == []


def test_quotes_prefer_insight_then_long_words_not_shown_last_week(bot: Any) -> None:
    """Was: quotes picked by recency ("M fits, thanks." for a process gap)."""
    lesson = "Check the plan's seat count before switching the billing entity, every time"
    repeated = "The invoice still showed the old VAT number after two corrections by your team"
    fresh = "I had to explain the VAT change twice before anyone looked at the account history"
    seed(
        bot.deps,
        [
            Loop("Q1", t(13, 10), t(16, 10), "escalated", "not_resolved", t(16, 11), "billing",
                 repeated),
            Loop("Q2", t(13, 10), t(16, 10), "escalated", "not_resolved", t(16, 12), "billing",
                 fresh),
            Loop("Q3", t(13, 10), t(16, 10), result="resolved", recorded=t(18, 9),
                 cause="billing", said="M fits, thanks.", insight=lesson),
            Loop("Q4", t(13, 10), t(16, 10), result="resolved", recorded=t(22, 9),
                 cause="billing", said="Deliveries are instant again."),
        ],
    )  # fmt: skip
    with bot.deps.session_factory.begin() as session:
        support = session.scalar(select(Team).where(Team.slug == "support"))
        assert support is not None
        session.add(
            Digest(
                team_id=support.id,
                week="2026-W46",
                state="posted",
                claimed_at=t(16, 14),
                summary={"quotes": [repeated]},
            )
        )
    [cause] = digest(bot).causes
    assert cause.quotes == (lesson, fresh)
    assert digest(bot).summary()["quotes"] == [lesson, fresh]  # remembered for next week


# -- 5. team names, --chart-dir ---------------------------------------------------------------


def cli(bot: Any, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=_cli_env(bot, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_team_named_once_is_called_so_everywhere(week_bot: Any, tmp_path: Path) -> None:
    """Was: every digest said "default" and there was no way to name a team."""
    named = cli(week_bot, tmp_path, "teams", "set", "support", "--name", "Northwind  Support")
    assert named.returncode == 0, named.stderr
    assert "support (Northwind Support)" in named.stdout
    assert "support: Northwind Support" in cli(week_bot, tmp_path, "teams", "list").stdout
    content = digest(week_bot)
    assert render_digest(week_bot.deps.renderer, content).header.startswith(
        "Weekly follow-up digest: Northwind Support,"
    )
    assert "*Northwind Support: last 7 days*" in reply(week_bot, "U0AGENT", "stats team week")
    with week_bot.deps.session_factory.begin() as session:
        lead = session.scalar(select(Agent).where(Agent.slack_user_id == "U0AGENT"))
        assert lead is not None
        lead.is_lead = True
    home = json.dumps(home_view(week_bot.deps, "U0AGENT").to_dict()["blocks"])
    assert "Your team: Northwind Support" in home
    assert cli(week_bot, tmp_path, "teams", "set", "support", "--name", "  ").returncode == 2


def test_chart_dir_is_created(week_bot: Any, tmp_path: Path) -> None:
    folder = tmp_path / "not" / "there"
    result = cli(
        week_bot, tmp_path, "digest", "--team", "support", "--dry-run",
        "--now", MONDAY_9_NY.isoformat(), "--chart-dir", str(folder),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (folder / "followup-digest-support-2026-W47.png").is_file()


def test_the_chart_gets_the_weeks_as_the_digest_counts_them(week_bot: Any) -> None:
    weeks = chart_weeks(digest(week_bot))
    assert [(w.label, w.on_time, w.late, w.missed, w.held, w.not_held) for w in weeks][-3:] == [
        ("2–8 Nov", 0, 1, 0, 0, 0),
        ("9–15 Nov", 2, 0, 1, 2, 0),
        ("16–22 Nov", 6, 0, 0, 3, 2),
    ]


# -- 6. the lead's view in Slack --------------------------------------------------------------


def test_digest_trends_shows_the_callers_own_team_privately(bot: Any) -> None:
    seed(bot.deps, [*weekly("billing setup", [0, 1, 2]), WEEK[-1]])  # X1: team "other"
    bot.clock.set(datetime(2026, 11, 20, 15, 0, tzinfo=t(1, 0).tzinfo))
    text = reply(bot, "U0AGENT", "digest trends")
    assert "What keeps breaking, Support" in text
    assert "billing setup" in text and "new *" in text
    assert "0     0     0     0     0     1     1     1" in text
    assert "I don't know you" in reply(bot, "U0LEAD", "digest trends")


def test_a_cause_gone_from_the_last_four_weeks_is_fading_not_steady() -> None:
    """A lead reads "steady" as still happening."""
    assert trend_status([1, 0, 0, 0, 0, 0, 0, 0]) == "fading"


@pytest.mark.parametrize(
    "text",
    ["It is not working again on our side", "Still broken after the update", "No, it isn't fixed"],
    # Each was "only thanks words, or nearly" before: "no", "working", "again", "on our side".
)
def test_a_complaint_is_never_taken_for_a_thanks(text: str) -> None:
    assert not is_thanks(text)


def test_a_bad_week_is_stated_plainly_not_thanked(week_bot: Any) -> None:
    """ "Thank you, team: 1 of 10 due closed on time (10%)" sat above "9 missed"."""
    from bot.digest.content import digest_variables

    deps = week_bot.deps
    with deps.session_factory() as session:
        content = build_digest(session, team(deps), W47, MONDAY_9_NY)
    variables = digest_variables(content)

    def summary(on_time: int, missed: int) -> str:
        rate = f"{on_time} of 10 due closed on time ({on_time * 10}%)"
        figures = {"due": 10, "on_time": on_time, "missed": missed, "on_time_rate": rate}
        return str(deps.renderer.render("digest/summary.j2", {**variables, **figures}))

    assert "Thank you, team: *9 of 10 due closed on time (90%)*" in summary(9, 0)
    bad = summary(1, 9)
    assert "Thank you" not in bad and "*1 of 10 due closed on time (10%)*" in bad
