"""What one team's weekly digest says: ISO weeks in the team's time zone, figures, and prose.

The figures come from `db.digest` (aggregates over the week's range); the prose from the
Jinja templates in `templates/digest/`, whose `finalize` Slack-escapes every value, so what
`render_digest` returns is safe mrkdwn. Only team figures: per-agent ones stay in App Home.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.digest import figures
from bot.digest.causes import (
    CANDIDATES,
    COMES_BACK_WEEKS,
    CauseTrend,
    cause_trends,
    choose_quotes,
)
from bot.digest.causes import TREND_WEEKS as CAUSE_WEEKS
from bot.render.templates import Renderer
from bot.slack.text import escape
from db import digest as digest_store
from db import digest_runs
from db.digest import HELD_RESULTS, CaseRow, DueCounts, HoldCounts, WeekCounts
from db.models import Team

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TREND_WEEKS = 4
"""The digest compares the week with this many weeks before it (five weeks in the chart)."""
QUOTE_LIMIT = 140
QUOTES = 2
TOP_CAUSES = 5
NOT_HELD_SHOWN = 5
SUBJECT_LIMIT = 80
RESULT_LABELS = {
    "resolved": "confirmed resolved",
    "unhappy": "resolved, but unhappy with how it went",
    "not_resolved": "still not right",
    "no_reply": "no reply yet",
    "unreachable": "could not reach",
    "no_response": "no response to the last touch",
    "skipped": "skipped",
}


@dataclass(frozen=True)
class Week:
    """An ISO week, Monday 00:00 to Monday 00:00 in one time zone."""

    monday: date
    tz: ZoneInfo

    @classmethod
    def containing(cls, moment: datetime, tz: ZoneInfo) -> Week:
        local = moment.astimezone(tz).date()
        return cls(local - timedelta(days=local.weekday()), tz)

    @classmethod
    def parse(cls, label: str, tz: ZoneInfo) -> Week:
        """`2026-W47` (ISO 8601 week); ValueError when malformed."""
        year, _, number = label.strip().upper().partition("-W")
        try:
            return cls(date.fromisocalendar(int(year), int(number), 1), tz)
        except ValueError:
            raise ValueError(f"expected an ISO week like 2026-W47, got {label!r}") from None

    @property
    def label(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, time(0), tzinfo=self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.shifted(1).start

    def shifted(self, weeks: int) -> Week:
        return Week(self.monday + timedelta(weeks=weeks), self.tz)

    def period(self) -> str:
        """ "16–22 Nov 2026" (or across months/years, both ends in full)."""
        sunday = self.monday + timedelta(days=6)
        if sunday.month == self.monday.month:
            return f"{self.monday.day}–{sunday:%-d %b %Y}"
        if sunday.year == self.monday.year:
            return f"{self.monday:%-d %b}–{sunday:%-d %b %Y}"
        return f"{self.monday:%-d %b %Y}–{sunday:%-d %b %Y}"


def team_zone(team: Team) -> ZoneInfo:
    try:
        return ZoneInfo(team.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def digest_moment(week: Week, day: str, at: str) -> datetime:
    """When `week`'s digest is due: `day` at `at` (HH:MM) in the following week, local time."""
    offset = DAYS.index(day) if day in DAYS else 0
    hour, _, minute = (at or "09:00").partition(":")
    local = datetime.combine(
        week.monday + timedelta(days=7 + offset), time(int(hour), int(minute)), tzinfo=week.tz
    )
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Cause:
    """A root cause named this week: how often, its 8-week trend, and quotes (raw, trimmed)."""

    name: str
    count: int
    quotes: tuple[str, ...] = ()
    status: str = "new"
    weeks_named: int = 1
    """In how many of the last four weeks it was named (this one included)."""

    @property
    def keeps_coming_back(self) -> bool:
        return self.weeks_named >= COMES_BACK_WEEKS


@dataclass(frozen=True)
class TrendPoint:
    """One week's loops (the follow-ups due in it, as `DueCounts`) and how the answers of the
    week held (`HoldCounts`): the chart's and the trend line's input."""

    week: str
    due: int
    on_time: int
    late: int
    missed: int
    held: int
    not_held: int

    @property
    def closed(self) -> int:
        return self.on_time + self.late

    @property
    def still_open(self) -> int:
        return self.due - self.closed - self.missed

    @property
    def hold_rate(self) -> float | None:
        answered = self.held + self.not_held
        return self.held / answered if answered else None

    @property
    def monday(self) -> date:
        year, _, number = self.week.partition("-W")
        return date.fromisocalendar(int(year), int(number), 1)


@dataclass(frozen=True)
class DigestContent:
    """Everything one team's digest for one week shows (raw values; templates escape)."""

    team_name: str
    team_slug: str
    week: Week
    as_of: datetime
    loops: DueCounts
    """The follow-ups due this week, each on time, late, missed or still open."""
    hold: HoldCounts
    """The answers recorded this week, by whether the fix held."""
    overdue: int
    medians: dict[str, float]
    """Kind of touch -> median hours from case closed to follow-up done."""
    results: dict[str, int]
    """Outcomes recorded this week (answers to earlier weeks' follow-ups too)."""
    not_held: tuple[CaseRow, ...]
    causes: tuple[Cause, ...]
    cause_trends: tuple[CauseTrend, ...]
    """Every root cause of the last TREND_WEEKS weeks, this week's first."""
    review_asked: int
    review_given: int
    referral_asked: int
    referral_given: int
    triaged: int
    triage_waiting: int
    trend: tuple[TrendPoint, ...]
    """Oldest first; the last point is this week."""

    @property
    def complete(self) -> bool:
        return self.as_of >= self.week.end

    @property
    def due(self) -> int:
        return self.loops.due

    @property
    def closed(self) -> int:
        return self.loops.closed

    @property
    def on_time(self) -> int:
        return self.loops.on_time

    @property
    def missed(self) -> int:
        return self.loops.missed

    @property
    def flagged_drafts(self) -> int:
        return self.loops.flagged_drafts

    @property
    def hold_rate(self) -> float | None:
        return figures.hold_rate(self.hold)

    @property
    def recorded(self) -> int:
        return sum(self.results.values())

    @property
    def keeps_coming_back(self) -> tuple[CauseTrend, ...]:
        return tuple(t for t in self.cause_trends if t.keeps_coming_back)

    def quotes_shown(self) -> list[str]:
        return [q for c in self.causes for q in c.quotes]

    def summary(self) -> dict[str, Any]:
        """The figures as posted, kept on the digest row (`quotes`: not repeated next week)."""
        return {
            "due": self.due,
            "on_time": self.on_time,
            "late": self.loops.late,
            "missed": self.missed,
            "still_open": self.loops.still_open,
            "overdue": self.overdue,
            "medians": dict(self.medians),
            "results": dict(self.results),
            "held": self.hold.held,
            "not_held": self.hold.not_held,
            "reopened": self.hold.reopened,
            "unhappy": self.hold.unhappy,
            "hold_rate": self.hold_rate,
            "causes": {c.name: c.count for c in self.causes},
            "keeps_coming_back": [t.name for t in self.keeps_coming_back],
            "quotes": self.quotes_shown(),
            "reviews": [self.review_asked, self.review_given],
            "referrals": [self.referral_asked, self.referral_given],
            "triaged": self.triaged,
            "flagged_drafts": self.flagged_drafts,
        }


def trim_quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """One line, at most `limit` characters, cut at a word with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def week_bounds(week: Week, weeks: int, upto: datetime) -> list[datetime]:
    """The starts of `weeks` weeks ending with `week`, then `upto` (its end, or now)."""
    return [week.shifted(-n).start for n in range(weeks - 1, -1, -1)] + [max(upto, week.start)]


def shown_last_week(session: Session, team: Team, week: Week) -> set[str]:
    previous = digest_runs.find(session, team.id, week.shifted(-1).label)
    if previous is None:
        return set()
    return {str(q) for q in (previous.summary or {}).get("quotes", [])}


def _causes(
    session: Session, team: Team, week: Week, trends: list[CauseTrend], end: datetime
) -> list[Cause]:
    """This week's top causes, with QUOTES quotes in all from the top ones."""
    named = [t for t in trends if t.this_week][:TOP_CAUSES]
    seen = shown_last_week(session, team, week)
    causes: list[Cause] = []
    left = QUOTES
    for trend in named:
        quotes: list[str] = []
        if left:
            wanted = 1 if len(named) > 1 and len(causes) == 0 else left
            insights = digest_store.quote_candidates(
                session, team.id, week.start, end, trend.name, "insight", CANDIDATES
            )
            said = digest_store.quote_candidates(
                session, team.id, week.start, end, trend.name, "customer_said", CANDIDATES
            )
            quotes = [trim_quote(q) for q in choose_quotes(insights, said, seen, wanted)]
            left -= len(quotes)
        weeks_named = sum(1 for n in trend.weekly[-4:] if n)
        causes.append(Cause(trend.name, trend.this_week, tuple(quotes), trend.status, weeks_named))
    return causes


def cause_weekly(weeks: Sequence[WeekCounts]) -> dict[str, list[int]]:
    """Root cause -> how many outcomes named it in each of `weeks` (oldest first)."""
    found: dict[str, list[int]] = {}
    for index, week in enumerate(weeks):
        for cause, count in week.causes.items():
            found.setdefault(cause, [0] * len(weeks))[index] = count
    return found


def team_cause_trends(session: Session, team: Team, week: Week, upto: datetime) -> list[CauseTrend]:
    """The team's root causes over the CAUSE_WEEKS weeks ending with `week` (to `upto`)."""
    bounds = week_bounds(week, CAUSE_WEEKS, upto)
    return cause_trends(cause_weekly(digest_store.week_counts(session, bounds, team_id=team.id)))


def build_digest(session: Session, team: Team, week: Week, as_of: datetime) -> DigestContent:
    """The team's digest for `week` as known at `as_of` (a week still running: so far).

    One grouped pass over the outcomes of the last CAUSE_WEEKS weeks gives the week's results,
    every week's hold counts and every cause's weekly counts; one over the follow-ups due in
    the charted weeks gives on time / late / missed / open."""
    upto = min(week.end, as_of)
    charted = TREND_WEEKS + 1
    loops = digest_store.due_counts(
        session, week_bounds(week, charted, upto), as_of, team_id=team.id
    )
    outcomes = digest_store.week_counts(
        session, week_bounds(week, CAUSE_WEEKS, upto), team_id=team.id
    )
    this = outcomes[-1]
    holds = [w.hold for w in outcomes[-charted:]]
    start, end = week.start, max(upto, week.start)
    trends = cause_trends(cause_weekly(outcomes))
    not_held = (
        digest_store.not_held_cases(
            session, team.id, start, end, NOT_HELD_SHOWN, reopened=holds[-1].reopened > 0
        )
        if holds[-1].not_held
        else []
    )
    triaged, waiting = digest_store.triage_counts(session, team.id, start, end)
    labels = [week.shifted(-n).label for n in range(TREND_WEEKS, -1, -1)]
    trend = tuple(
        TrendPoint(label, c.due, c.on_time, c.late, c.missed, h.held, h.not_held)
        for label, c, h in zip(labels, loops, holds, strict=True)
    )
    return DigestContent(
        team_name=team.name,
        team_slug=team.slug,
        week=week,
        as_of=as_of,
        loops=loops[-1],
        hold=holds[-1],
        overdue=digest_store.count_overdue(session, team.id, as_of),
        medians=digest_store.median_hours_by_kind(session, team.id, start, end),
        results={r: this.result(r) for r in digest_store.RESULTS if this.result(r)},
        not_held=tuple(not_held),
        causes=tuple(_causes(session, team, week, trends, end)),
        cause_trends=tuple(trends),
        review_asked=this.review_asked,
        review_given=this.review_given,
        referral_asked=this.referral_asked,
        referral_given=this.referral_given,
        triaged=triaged,
        triage_waiting=waiting,
        trend=trend,
    )


# -- prose ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestText:
    """The rendered, Slack-escaped mrkdwn sections of one digest, in order."""

    header: str
    """Plain text (a header block shows no mrkdwn and needs no escaping)."""
    summary: str
    outcomes: str
    causes: str
    asks: str
    attention: str
    trend: str
    footer: str

    def sections(self) -> list[str]:
        return [
            s
            for s in (self.summary, self.outcomes, self.causes, self.asks, self.attention)
            if s.strip()
        ] + [self.trend]

    def as_text(self) -> str:
        """The whole digest as one mrkdwn text (the message's fallback, `--dry-run`)."""
        title = f"*{escape(self.header)}*"
        return "\n\n".join([title, *self.sections(), self.footer]).strip() + "\n"


def hours_text(hours: float | None) -> str | None:
    if hours is None:
        return None
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def _subject(text: str) -> str:
    flat = " ".join((text or "").split()) or "(no subject)"
    return flat if len(flat) <= SUBJECT_LIMIT else flat[: SUBJECT_LIMIT - 1].rstrip() + "…"


def short_period(monday: date) -> str:
    """ "16–22 Nov", or "30 Nov–6 Dec" across a month."""
    sunday = monday + timedelta(days=6)
    if sunday.month == monday.month:
        return f"{monday.day}–{sunday.day} {sunday:%b}"
    return f"{monday.day} {monday:%b}–{sunday.day} {sunday:%b}"


def _not_held_groups(content: DigestContent) -> list[dict[str, Any]]:
    """The cases that did not hold, grouped by root cause (in the order the query gave)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in content.not_held:
        how = "reopened in the helpdesk" if row.result in HELD_RESULTS else "still not right"
        groups.setdefault(row.root_cause or "no root cause recorded", []).append(
            {
                "reference": row.reference,
                "subject": _subject(row.subject),
                "how": how,
                "said": trim_quote(row.customer_said) if row.customer_said else None,
            }
        )
    return [{"cause": cause, "cases": cases} for cause, cases in groups.items()]


def _medians(content: DigestContent) -> list[dict[str, str]]:
    order = [digest_store.FIRST_CHECK_IN, *digest_store.TOUCH_KINDS.values()]
    return [
        {"kind": kind, "median": hours_text(content.medians[kind]) or ""}
        for kind in order
        if kind in content.medians
    ]


def digest_variables(content: DigestContent) -> dict[str, Any]:
    """Template variables: numbers and raw strings (the renderer escapes them)."""
    loops, hold = content.loops, content.hold
    previous = content.trend[:-1]
    return {
        "team": content.team_name,
        "slug": content.team_slug,
        "week": content.week.label,
        "period": content.week.period(),
        "complete": content.complete,
        "due": loops.due,
        "on_time": loops.on_time,
        "on_time_rate": figures.rate_text(loops.on_time, loops.due, "due closed on time"),
        "late": loops.late,
        "missed": loops.missed,
        "still_open": loops.still_open,
        "recorded": content.recorded,
        "overdue": content.overdue,
        "medians": _medians(content),
        "results": [
            {"label": RESULT_LABELS.get(name, name), "count": count}
            for name, count in content.results.items()
        ],
        "answered": hold.answered,
        "hold": figures.hold_text(hold),
        "still_not_right": hold.not_held - hold.reopened,
        "reopened": hold.reopened,
        "unhappy": hold.unhappy,
        "not_held_groups": _not_held_groups(content),
        "not_held_more": max(hold.not_held - len(content.not_held), 0),
        "causes": [
            {
                "name": c.name,
                "count": c.count,
                "status": c.status,
                "weeks": c.weeks_named,
                "quotes": list(c.quotes),
            }
            for c in content.causes
        ],
        "coming_back": [
            {"name": t.name, "weeks": sum(1 for n in t.weekly[-4:] if n), "total": t.total}
            for t in content.keeps_coming_back
        ],
        "fading": [t.name for t in content.cause_trends if t.status == "fading"][:TOP_CAUSES],
        "review_asked": content.review_asked,
        "review_given": content.review_given,
        "referral_asked": content.referral_asked,
        "referral_given": content.referral_given,
        "triaged": content.triaged,
        "triage_waiting": content.triage_waiting,
        "flagged": content.flagged_drafts,
        "trend": [
            {
                "week": short_period(p.monday),
                "due": p.due,
                "on_time": p.on_time,
                "late": p.late,
                "missed": p.missed,
                "open": p.still_open,
                "hold": f"{p.held} of {p.held + p.not_held}" if p.held + p.not_held else "–",
            }
            for p in content.trend
        ],
        "due_change": figures.change_text(loops.due, [p.due for p in previous]),
        "weeks_before": len(previous),
    }


def render_digest(renderer: Renderer, content: DigestContent) -> DigestText:
    """The digest's sections, each rendered from `templates/digest/<section>.j2`."""
    variables = digest_variables(content)

    def section(name: str) -> str:
        return renderer.render(f"digest/{name}.j2", variables).strip()

    scope = "so far" if not content.complete else ""
    header = f"Weekly follow-up digest: {content.team_name}, {content.week.period()}"
    if scope:
        header += f" ({scope})"
    return DigestText(
        header=header[:150],
        summary=section("summary"),
        outcomes=section("outcomes"),
        causes=section("root_causes"),
        asks=section("asks"),
        attention=section("attention"),
        trend=section("trend"),
        footer=section("footer"),
    )
