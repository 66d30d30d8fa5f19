"""The `followup` console script."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bot.clock import ManualClock, parse_instant
from bot.config import Settings, SettingsError
from bot.digest.cli import add_parsers as add_digest_parsers
from bot.digest.cli import needs_slack as digest_needs_slack
from db.engine import DATABASE_DOWN

if TYPE_CHECKING:
    from bot.deps import Deps


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup",
        description="Followup: nudges support agents to close the loop after every closed case.",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="read variables from this file (default: .env in this folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="start the bot: Slack (Socket Mode or HTTP), webhooks, scheduler")

    demo = sub.add_parser(
        "demo", help="the whole loop with no Slack account: two weeks, a record to read"
    )
    demo.add_argument("--fast", action="store_true", help="fewer cases (for tests)")
    demo.add_argument("--out", type=Path, default=None, help="write the record into this folder")
    demo.add_argument(
        "--slack-tiers",
        action="store_true",
        help="the local Slack enforces Slack's published rate limits (slower, as on Slack)",
    )

    dispatch = sub.add_parser(
        "dispatch", help="run one dispatch pass and one overdue pass (reminders, leads) and exit"
    )
    dispatch.add_argument("--now", help="pretend it is this ISO 8601 instant (e.g. for tests)")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations up to the latest schema")

    policy = sub.add_parser("policy", help="the follow-up policy")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    policy_sub.add_parser("check", help="validate the policy file (FOLLOWUP_POLICY)")
    explain = policy_sub.add_parser("explain", help="which rule a case matches, and when")
    explain.add_argument("case", help="a case reference: <source>:<id>, or just the id")

    templates = sub.add_parser("templates", help="draft templates")
    templates_sub = templates.add_subparsers(
        dest="templates_command", required=True, metavar="ACTION"
    )
    templates_sub.add_parser("check", help="render every template with sample cases")

    backfill = sub.add_parser("import", help="backfill closed cases from a CSV file")
    backfill.add_argument(
        "file", type=Path, help="CSV with a header row (columns: docs/helpdesks.md)"
    )
    backfill.add_argument(
        "--source",
        default="generic",
        help="the webhook source these cases belong to (default generic): a case that later "
        "arrives by that webhook is the same case",
    )
    backfill.add_argument("--now", help="pretend it is this ISO 8601 instant (e.g. for tests)")
    backfill.add_argument("--quiet", action="store_true", help="no progress bar")

    agents = sub.add_parser("agents", help="link helpdesk agents to Slack; leads and backups")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    agents_sub.add_parser("list", help="show links, leads and backups")
    link = agents_sub.add_parser("link", help="map a helpdesk's agent id to a Slack user")
    link.add_argument("source", help="zendesk, intercom, freshdesk, hubspot, jira, ...")
    link.add_argument("agent_id", help="the agent's id in that helpdesk")
    link.add_argument("user", help="Slack user id (U…) or email")
    lead = agents_sub.add_parser("lead", help="make someone a lead (escalations, overdue)")
    lead.add_argument("user", help="Slack user id (U…) or email")
    lead.add_argument("--team", help="the team (slug) they lead")
    lead.add_argument(
        "--of", action="append", default=[], metavar="AGENT", help="an agent they lead (repeat)"
    )
    backup = agents_sub.add_parser("backup", help="who covers an agent while they are away")
    backup.add_argument("agent", help="Slack user id (U…) or email")
    backup.add_argument("backup", help="Slack user id (U…) or email")
    add_digest_parsers(sub)
    return parser


def _settings(env_file: Path | None, require_slack: bool = True) -> Settings:
    load_dotenv(env_file or Path.cwd() / ".env", override=False)
    return Settings.from_env(require_slack=require_slack)


def _fail(message: str) -> int:
    print(f"followup: {message}", file=sys.stderr)
    return 2


def _database_failed(error: Exception) -> int:
    """One line for a database that cannot be reached or used, not SQLAlchemy's traceback."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return _fail(f"the database (DATABASE_URL) cannot be used: {first[:300]}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from bot.demo.scenario import run_demo

        run_demo(fast=args.fast, out_dir=args.out, slack_tiers=args.slack_tiers)
        return 0
    try:
        offline = (
            args.command in ("db", "templates", "import", "teams")
            or (args.command == "digest" and not digest_needs_slack(args))
            or (args.command == "policy" and args.policy_command == "check")
        )
        settings = _settings(args.env_file, require_slack=not offline)
    except SettingsError as error:
        return _fail(str(error))

    from bot.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets())
    if args.command == "templates":
        return _templates_check(settings)
    if args.command == "policy" and args.policy_command == "check":
        return _policy_check(settings)
    if args.command == "db":
        from db import migrate

        try:
            migrate.upgrade(settings.database_url)
        except DATABASE_DOWN as error:
            return _database_failed(error)
        print(f"database at {migrate.current_head()}")
        return 0

    from bot.rules.policy import PolicyError
    from bot.runtime.start import StartupError, build_deps, ensure_schema, run_forever

    clock = None
    if getattr(args, "now", None):
        try:
            clock = ManualClock(parse_instant(args.now))
        except ValueError as error:
            return _fail(f"--now: {error}")
    try:
        deps = build_deps(settings, clock)
        if args.command == "run":
            run_forever(deps)
            return 0
        ensure_schema(deps)
        if args.command == "dispatch":
            from bot.dispatch.dispatcher import dispatch_pass
            from bot.dispatch.overdue import overdue_pass
            from bot.runtime.start import read_directory, tune_interpreter

            tune_interpreter()
            read_directory(deps, stale_only=True)
            report = dispatch_pass(deps)
            print(report.summary())
            print(overdue_pass(deps).summary())
            return 0
        if args.command == "policy":
            from bot.planning.plan import explain_case

            print(explain_case(deps, args.case))
            return 0
        if args.command == "import":
            return _import(deps, args)
        if args.command == "agents":
            return _agents(deps, args)
        if args.command in ("digest", "teams"):
            from bot.digest.cli import run as run_digest_cli

            return run_digest_cli(deps, args)
    except (StartupError, PolicyError) as error:
        return _fail(str(error))
    except DATABASE_DOWN as error:
        return _database_failed(error)
    return _fail(f"unknown command {args.command}")


def _import(deps: Deps, args: argparse.Namespace) -> int:
    from bot.intake.backfill import import_csv
    from bot.intake.backfill_rows import BackfillError

    try:
        report = import_csv(deps, args.file, source=args.source, progress=not args.quiet)
    except BackfillError as error:
        return _fail(str(error))
    for line in report.rejection_lines():
        print(line, file=sys.stderr)
    print(report.summary())
    return 1 if report.rejected else 0


def _agents(deps: Deps, args: argparse.Namespace) -> int:
    from bot.people.roster import AgentError, link, make_lead, roster_lines, set_backup

    action = args.agents_command
    try:
        if action == "link":
            who = link(deps, args.source, args.agent_id, args.user, actor="cli").target
            print(f"linked {args.source} agent {args.agent_id} to {who.slack_user_id}")
        elif action == "lead":
            lead, agents = make_lead(deps, args.user, team=args.team, of=args.of, actor="cli")
            team = f" of team {args.team}" if args.team else ""
            print(f"{lead.slack_user_id} is a lead{team}")
            for agent in agents:
                print(f"{agent.slack_user_id} now reports to {lead.slack_user_id}")
        elif action == "backup":
            agent, cover = set_backup(deps, args.agent, args.backup, actor="cli")
            print(f"{cover.slack_user_id} covers {agent.slack_user_id} while they are away")
        else:
            for line in roster_lines(deps):
                print(re.sub(r"<@(\w+)>", r"\1", line.replace("*", "")))
    except AgentError as error:
        return _fail(str(error))
    return 0


def _policy_check(settings: Settings) -> int:
    from bot.rules.policy import PolicyError
    from bot.rules.policy_file import load_policy

    try:
        policy = load_policy(settings.policy_path)
    except PolicyError as error:
        return _fail(str(error))
    source = settings.policy_path or "the shipped default"
    print(f"policy OK: {len(policy.rules)} rules ({source})")
    return 0


def _templates_check(settings: Settings) -> int:
    from bot.render.templates import Renderer, check_templates

    problems = check_templates(Renderer(settings.templates_dir))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("templates OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
