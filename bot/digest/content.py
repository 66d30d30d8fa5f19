"""What one team's weekly digest says: ISO weeks in the team's time zone, figures, and prose.

The figures come from `db.digest` (aggregates over the week's range); the prose from the
Jinja templates in `templates/digest/`, whose `finalize` Slack-escapes every value, so what
`render_digest` returns is safe mrkdwn. Only team figures: per-agent ones stay in App Home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.render.templates import Renderer
from bot.slack.text import escape
from db import digest as digest_store
from db.digest import CaseRow
from db.models import Team

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TREND_WEEKS = 4
"""The digest compares the week with this many weeks before it."""
QUOTE_LIMIT = 140
QUOTES = 2
TOP_CAUSES = 5
NOT_HELD_SHOWN = 5
SUBJECT_LIMIT = 80
RESULT_LABELS = {
    "resolved": "confirmed resolved",
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
    """A root cause, how often it came up, and what customers said (raw, trimmed)."""

    name: str
    count: int
    quotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrendPoint:
    week: str
    due: int
    closed: int
    on_time: int
    resolved: int
    not_resolved: int

    @property
    def hold_rate(self) -> float | None:
        answered = self.resolved + self.not_resolved
        return self.resolved / answered if answered else None


@dataclass(frozen=True)
class DigestContent:
    """Everything one team's digest for one week shows (raw values; templates escape)."""

    team_name: str
    team_slug: str
    week: Week
    as_of: datetime
    due: int
    closed: int
    on_time: int
    overdue: int
    missed: int
    median_hours: float | None
    results: dict[str, int]
    not_held: tuple[CaseRow, ...]
    causes: tuple[Cause, ...]
    review_asked: int
    review_given: int
    referral_asked: int
    referral_given: int
    triaged: int
    triage_waiting: int
    flagged_drafts: int
    trend: tuple[TrendPoint, ...]
    """Oldest first; the last point is this week."""

    @property
    def complete(self) -> bool:
        return self.as_of >= self.week.end

    @property
    def resolved(self) -> int:
        return self.results.get("resolved", 0)

    @property
    def not_resolved(self) -> int:
        return self.results.get("not_resolved", 0)

    @property
    def hold_rate(self) -> float | None:
        """Confirmed resolved / (confirmed + still not right), as `LoopFigures.hold_rate`."""
        return self.trend[-1].hold_rate

    def summary(self) -> dict[str, Any]:
        """The figures as posted, kept on the digest row."""
        return {
            "due": self.due,
            "closed": self.closed,
            "on_time": self.on_time,
            "overdue": self.overdue,
            "missed": self.missed,
            "median_hours": self.median_hours,
            "results": dict(self.results),
            "hold_rate": self.hold_rate,
            "causes": {c.name: c.count for c in self.causes},
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


def build_digest(session: Session, team: Team, week: Week, as_of: datetime) -> DigestContent:
    """The team's digest for `week` as known at `as_of` (a week still running: so far)."""
    upto = min(week.end, as_of)
    weeks = [week.shifted(-n) for n in range(TREND_WEEKS, 0, -1)]
    bounds = [w.start for w in weeks] + [week.start, max(upto, week.start)]
    counts = digest_store.week_counts(session, team.id, bounds)
    this = counts[-1]
    start, end = week.start, bounds[-1]
    touched = sum(this.result(r) for r in digest_store.TOUCHED)
    causes = []
    for index, (name, count) in enumerate(
        digest_store.top_root_causes(session, team.id, start, end, TOP_CAUSES)
    ):
        # Two short quotes in all: from the top two causes (both from one when it is alone).
        wanted = 0 if index > 1 else (1 if index == 1 else QUOTES)
        said = digest_store.quotes(session, team.id, start, end, name, wanted) if wanted else []
        causes.append(Cause(name, count, tuple(trim_quote(s) for s in said)))
    if len(causes) > 1 and len(causes[0].quotes) > 1 and causes[1].quotes:
        causes[0] = Cause(causes[0].name, causes[0].count, causes[0].quotes[:1])
    not_held = digest_store.outcome_cases(
        session, team.id, start, end, result="not_resolved", limit=NOT_HELD_SHOWN
    )
    triaged, waiting = digest_store.triage_counts(session, team.id, start, end)
    trend = tuple(
        TrendPoint(
            w.label,
            c.due,
            c.closed,
            c.on_time,
            c.result("resolved"),
            c.result("not_resolved"),
        )
        for w, c in zip([*weeks, week], counts, strict=True)
    )
    return DigestContent(
        team_name=team.name,
        team_slug=team.slug,
        week=week,
        as_of=as_of,
        due=this.due,
        closed=this.closed,
        on_time=this.on_time,
        overdue=digest_store.count_overdue(session, team.id, as_of),
        missed=digest_store.count_missed(session, team.id, start, end),
        median_hours=digest_store.median_hours_to_done(session, team.id, start, end, touched),
        results={r: this.result(r) for r in digest_store.RESULTS if this.result(r)},
        not_held=tuple(not_held),
        causes=tuple(causes),
        review_asked=this.review_asked,
        review_given=this.review_given,
        referral_asked=this.referral_asked,
        referral_given=this.referral_given,
        triaged=triaged,
        triage_waiting=waiting,
        flagged_drafts=this.flagged_drafts,
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


def percent(part: int, whole: int) -> str | None:
    return f"{part / whole:.0%}" if whole else None


def hours_text(hours: float | None) -> str | None:
    if hours is None:
        return None
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def _subject(text: str) -> str:
    flat = " ".join((text or "").split()) or "(no subject)"
    return flat if len(flat) <= SUBJECT_LIMIT else flat[: SUBJECT_LIMIT - 1].rstrip() + "…"


def digest_variables(content: DigestContent) -> dict[str, Any]:
    """Template variables: numbers and raw strings (the renderer escapes them)."""
    previous = content.trend[:-1]
    closed_before = [p.closed for p in previous]
    average = sum(closed_before) / len(closed_before) if closed_before else 0.0
    holds = [p.hold_rate for p in previous if p.hold_rate is not None]
    return {
        "team": content.team_name,
        "slug": content.team_slug,
        "week": content.week.label,
        "period": content.week.period(),
        "complete": content.complete,
        "due": content.due,
        "closed": content.closed,
        "on_time": content.on_time,
        "on_time_pct": percent(content.on_time, content.closed),
        "overdue": content.overdue,
        "missed": content.missed,
        "median": hours_text(content.median_hours),
        "results": [
            {"label": RESULT_LABELS.get(name, name), "count": count}
            for name, count in content.results.items()
        ],
        "resolved": content.resolved,
        "not_resolved": content.not_resolved,
        "hold": percent(content.resolved, content.resolved + content.not_resolved),
        "not_held": [
            {
                "reference": row.reference,
                "subject": _subject(row.subject),
                "said": trim_quote(row.customer_said) if row.customer_said else None,
            }
            for row in content.not_held
        ],
        "not_held_more": max(content.not_resolved - len(content.not_held), 0),
        "causes": [
            {"name": c.name, "count": c.count, "quotes": list(c.quotes)} for c in content.causes
        ],
        "review_asked": content.review_asked,
        "review_given": content.review_given,
        "referral_asked": content.referral_asked,
        "referral_given": content.referral_given,
        "triaged": content.triaged,
        "triage_waiting": content.triage_waiting,
        "flagged": content.flagged_drafts,
        "trend": [
            {
                "week": p.week.split("-")[1],
                "closed": p.closed,
                "on_time": p.on_time,
                "hold": f"{p.hold_rate:.0%}" if p.hold_rate is not None else "–",
            }
            for p in content.trend
        ],
        "average_closed": f"{average:.1f}".removesuffix(".0"),
        "closed_change": _change(content.closed, average) if closed_before else None,
        "average_hold": f"{sum(holds) / len(holds):.0%}" if holds else None,
    }


def _change(now: int, average: float) -> str | None:
    if average == 0:
        return None
    change = (now - average) / average
    return f"{change:+.0%}"


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
