"""`followup digest` (post, preview, CSV export) and `followup teams` (digest day, time, channel).

Kept out of bot/cli.py, which only adds these parsers and hands the parsed arguments here.
"""

from __future__ import annotations

import argparse
import csv
import html
import re
import sys
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.digest.content import Week, team_zone
from bot.digest.figures import held, loop_state
from bot.digest.post import DigestReport, chart_png, post_week, preview
from bot.people.settings import review_link_error, set_review_link
from bot.planning.plan import team_defaults
from db import cases as store
from db import digest as digest_store
from db import digest_export

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.digest.content import Week
    from db.digest_export import ExportRow
    from db.models import Team

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$")
CSV_COLUMNS = (
    "team",
    "week",
    "followup_id",
    "case",
    "subject",
    "agent",
    "role",
    "touch",
    "state",
    "due_at",
    "missed_at",
    "outcome",
    "recorded_at",
    "on_time",
    "ended",
    "held",
    "missed",
    "root_cause",
    "customer_said",
    "review_asked",
    "review_given",
    "referral_asked",
    "referral_given",
    "draft_flags",
)


def file_slug(name: str) -> str:
    """A name safe in a file name: lowercase ASCII letters, digits and single hyphens, never
    empty ("team" stands in), so `x/../../pwned` becomes `x-pwned` and never leaves its folder."""
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    return slug[:80].rstrip("-") or "team"


def chart_path(folder: Path, team_slug: str, week_label: str) -> Path:
    """Where `--dry-run` writes a team's chart: always directly inside `folder`."""
    name = f"followup-digest-{file_slug(team_slug)}-{file_slug(week_label).upper()}.png"
    return folder / name


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    example: str,
) -> argparse.ArgumentParser:
    """A `followup` subcommand whose `--help` says what it does and shows an example."""
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `digest` and `teams` to the `followup` command line."""
    digest = add_command(
        sub,
        "digest",
        "post the weekly digest (or preview it, or export its cases as CSV)",
        "Post each team's digest of the last full week (once per team and week), or preview\n"
        "it with --dry-run, or export the week's follow-ups as CSV with --format csv.",
        "followup digest --team support --week 2026-W47 --dry-run",
    )
    digest.add_argument("--team", help="the team's slug (default: every team with cases)")
    digest.add_argument("--now", help="pretend it is this ISO 8601 instant")
    digest.add_argument("--week", help="the ISO week, e.g. 2026-W47 (default: the last full week)")
    digest.add_argument(
        "--dry-run",
        action="store_true",
        help="print the digest and write its chart to a file instead of posting",
    )
    digest.add_argument(
        "--format",
        choices=("text", "csv"),
        default="text",
        help="csv: print one row per follow-up of the week to stdout (posts nothing)",
    )
    digest.add_argument(
        "--chart-dir",
        type=Path,
        default=None,
        help="where --dry-run writes the chart PNG (default: the current folder)",
    )
    digest.add_argument(
        "--force",
        action="store_true",
        help="post a week whose digest failed or went stale (never one already posted)",
    )
    teams = add_command(
        sub,
        "teams",
        "teams and their weekly digest settings",
        "List teams, or change a team's weekly digest day, time, channel and time zone.",
        "followup teams list",
    )
    teams_sub = teams.add_subparsers(dest="teams_command", required=True, metavar="ACTION")
    add_command(
        teams_sub,
        "list",
        "every team with its time zone and digest settings",
        "Every team with its time zone and when and where its weekly digest goes.",
        "followup teams list",
    )
    setting = add_command(
        teams_sub,
        "set",
        "change a team's digest day, time or channel",
        "Change a team's digest day, time, channel or time zone (the team is created if new).",
        "followup teams set support --digest-day fri --digest-time 16:30 --digest-channel C0ABC",
    )
    setting.add_argument("slug", help="the team (created if new)")
    setting.add_argument("--digest-day", choices=DAY_NAMES, help="default mon")
    setting.add_argument("--digest-time", help="HH:MM in the team's time zone (default 09:00)")
    setting.add_argument("--digest-channel", help="channel id (C…) or #name")
    setting.add_argument("--timezone", help="IANA time zone, e.g. Europe/London")
    setting.add_argument(
        "--name", help='the name people read, e.g. "Northwind Support" (default: the slug)'
    )
    setting.add_argument(
        "--review-link", help="the team's public review page (https://…), for review asks"
    )


_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]*)`")


def plain_text(mrkdwn: str) -> str:
    """Slack mrkdwn as plain text for a terminal: no `*bold*` or backtick markers, Slack's
    escapes (`&amp;`, `&lt;`, `&gt;`) read back (Slack's "Formatting text for app surfaces")."""
    return html.unescape(_CODE.sub(r"\1", _BOLD.sub(r"\1", mrkdwn)))


def needs_slack(args: argparse.Namespace) -> bool:
    """Only posting talks to Slack; previews, exports and settings work offline."""
    return args.command == "digest" and not args.dry_run and args.format == "text"


def run(deps: Deps, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.command == "teams":
        return _teams(deps, args, out)
    return _digest(deps, args, out)


def _fail(message: str) -> int:
    print(f"followup: {message}", file=sys.stderr)
    return 2


def _chosen_teams(deps: Deps, slug: str | None) -> list[Team] | str:
    with deps.session_factory() as session:
        teams = digest_store.teams(session)
        if slug is not None:
            chosen = [t for t in teams if t.slug == slug.strip().lower()]
            if not chosen:
                known = ", ".join(t.slug for t in teams) or "none yet"
                return f"--team: no team {slug!r} (known: {known})"
            return chosen
        return [t for t in teams if digest_store.team_has_cases(session, t.id)]


def _digest(deps: Deps, args: argparse.Namespace, out: TextIO) -> int:
    teams = _chosen_teams(deps, args.team)
    if isinstance(teams, str):
        return _fail(teams)
    now = deps.clock.now()
    weeks: dict[int, Week] = {}
    for team in teams:
        try:
            weeks[team.id] = (
                Week.parse(args.week, team_zone(team))
                if args.week
                else Week.containing(now, team_zone(team)).shifted(-1)
            )
        except ValueError as error:
            return _fail(f"--week: {error}")
    if args.format == "csv":
        _export(deps, teams, weeks, now, out)
        return 0
    if not teams:
        print("no team has cases yet: nothing to digest", file=out)
        return 0
    if args.dry_run:
        folder = args.chart_dir or Path.cwd()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return _fail(f"--chart-dir: cannot create {str(folder)!r}: {error.strerror or error}")
        for team in teams:
            composed = preview(deps, team, weeks[team.id])
            print(plain_text(composed.text.as_text()), file=out)
            content = composed.content
            png = chart_png(content)
            if png is None:
                print("chart: none (nothing to chart in the period)", file=out)
                continue
            path = chart_path(folder, content.team_slug, content.week.label)
            try:
                path.write_bytes(png)
            except OSError as error:
                return _fail(f"--chart-dir: cannot write {str(path)!r}: {error.strerror or error}")
            print(f"chart: {path}", file=out)
        return 0
    report = DigestReport()
    worst = 0
    for team in teams:
        week = weeks[team.id]
        if week.end > now:
            print(
                f"{team.slug} {week.label}: the week has not ended yet; --dry-run previews it",
                file=out,
            )
            worst = max(worst, 1)
            continue
        status = post_week(deps, team, week, report, force=args.force)
        print(f"{team.slug} {week.label}: {status}", file=out)
        if status not in ("posted", "reconciled", "already posted"):
            worst = max(worst, 1)
    if report.chart_failed:
        print("the chart upload failed (the digest text was posted)", file=out)
    return worst


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _yes(flag: bool | None) -> str:
    return "" if flag is None else ("yes" if flag else "no")


def csv_record(team: str, week: str, row: ExportRow, now: datetime) -> list[str]:
    """One follow-up; `ended`, `on_time`, `held` and `missed` by bot/digest/figures.py's rules."""
    ended = loop_state(row.missed_at, row.recorded_at, row.state, now)
    on_time = None if ended in ("open", "missed") else ended == "on time"
    return [
        team,
        week,
        str(row.followup_id),
        _cell(row.reference),
        _cell(row.subject),
        _cell(row.agent),
        row.role,
        str(row.touch),
        row.state,
        _iso(row.due_at),
        _iso(row.missed_at),
        row.result or "",
        _iso(row.recorded_at),
        _yes(on_time),
        ended,
        _yes(held(row.result, row.reopened_since)),
        _yes(ended == "missed"),
        _cell(row.root_cause),
        _cell(row.customer_said),
        _yes(row.review_asked),
        _yes(row.review_given),
        _yes(row.referral_asked),
        _yes(row.referral_given),
        ";".join(row.draft_flags),
    ]


def _export(
    deps: Deps, teams: list[Team], weeks: dict[int, Week], now: datetime, out: TextIO
) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    with deps.session_factory() as session:
        for team in teams:
            week = weeks[team.id]
            for row in digest_export.export_rows(session, team.id, week.start, week.end):
                writer.writerow(csv_record(team.slug, week.label, row, now))


def _teams(deps: Deps, args: argparse.Namespace, out: TextIO) -> int:
    if args.teams_command == "list":
        with deps.session_factory() as session:
            teams = digest_store.teams(session)
            if not teams:
                print(
                    "no teams yet: a team is created by its first case, or by "
                    "followup teams set <slug>",
                    file=out,
                )
            for team in teams:
                channel = team.digest_channel or deps.settings.digest_channel or "(none)"
                print(
                    f"{team.slug}: {team.name}, {team.timezone}; digest {team.digest_day} "
                    f"{team.digest_time} in {channel}",
                    file=out,
                )
        return 0
    if args.digest_time is not None and not _TIME.match(args.digest_time):
        return _fail(f"--digest-time: expected HH:MM like 09:00, got {args.digest_time!r}")
    if args.digest_channel is not None and not _CHANNEL.match(args.digest_channel):
        return _fail(
            f"--digest-channel: expected a channel id like C0123ABCD or #name, "
            f"got {args.digest_channel!r}"
        )
    name = getattr(args, "name", None)
    name = " ".join(name.split())[:200] if name is not None else None
    if name == "":
        return _fail('--name: expected a name people read, e.g. "Northwind Support"')
    if args.timezone is not None:
        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return _fail(f"--timezone: expected an IANA time zone, got {args.timezone!r}")
    review_link = getattr(args, "review_link", None)
    if review_link and (problem := review_link_error(review_link.strip())):
        return _fail(f"--review-link: {problem}")
    with deps.session_factory.begin() as session:
        team = store.team_for(session, args.slug, team_defaults(deps), deps.clock.now())
        if review_link is not None:
            set_review_link(session, team, review_link, actor="cli", now=deps.clock.now())
        if args.digest_day is not None:
            team.digest_day = args.digest_day
        if args.digest_time is not None:
            team.digest_time = args.digest_time
        if args.digest_channel is not None:
            team.digest_channel = args.digest_channel
        if args.timezone is not None:
            team.timezone = args.timezone
        if name is not None:
            team.name = name
        line = (
            f"{team.slug} ({team.name}): digest {team.digest_day} {team.digest_time} "
            f"({team.timezone}) in "
            f"{team.digest_channel or deps.settings.digest_channel or '(no channel)'}"
        )
    print(line, file=out)
    return 0
