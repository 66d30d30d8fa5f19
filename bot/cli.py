"""The `followup` console script."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bot.clock import ManualClock, parse_instant
from bot.config import Settings, SettingsError
from bot.digest.cli import add_command as command
from bot.digest.cli import add_parsers as add_digest_parsers
from bot.digest.cli import needs_slack as digest_needs_slack
from bot.runtime.webhooks_cli import add_parsers as add_webhooks_parsers
from bot.runtime.writeback_cli import add_parsers as add_writeback_parsers
from db.engine import DATABASE_DOWN

if TYPE_CHECKING:
    from bot.deps import Deps


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup",
        description="Followup: nudges support agents to close the loop after every closed case.",
        epilog="example:\n  followup db upgrade && followup run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"followup {_version()}")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="read variables from this file (default: .env in this folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command(
        sub,
        "doctor",
        "check the setup: Slack token, scopes, channels, database, policy, templates",
        "Check the setup against the real workspace and database, one line per check\n"
        "(PASS, WARN or FAIL) with what to do about each failure: the token and its scopes,\n"
        "Socket Mode or the request URL, every configured channel (exists, bot invited),\n"
        "webhook secrets, the database and its schema, policy, templates, roster, time\n"
        "zones. Exit status 0 when nothing failed.",
        "followup --env-file /etc/followup/followup.env doctor",
    )
    command(
        sub,
        "run",
        "start the bot: Slack (Socket Mode or HTTP), webhooks, scheduler",
        "Start the bot and keep it running until SIGTERM or Ctrl-C: Slack over Socket Mode\n"
        "(SLACK_APP_TOKEN set) or HTTP (/slack/events), helpdesk webhooks, /healthz, and the\n"
        "scheduler (dispatch, overdue reminders, digests).",
        "followup --env-file /etc/followup/followup.env run",
    )

    demo = command(
        sub,
        "demo",
        "the whole loop with no Slack account: two weeks, a record to read",
        "Run two weeks of one support team's follow-ups against a local stand-in for Slack\n"
        "and a fresh SQLite file, then print a transcript and the path of an HTML record.",
        "followup demo --out ./demo-record",
    )
    demo.add_argument("--fast", action="store_true", help="fewer cases (for tests)")
    demo.add_argument("--out", type=Path, default=None, help="write the record into this folder")
    demo.add_argument(
        "--slack-tiers",
        action="store_true",
        help="the local Slack enforces Slack's published rate limits (slower, as on Slack)",
    )

    dispatch = command(
        sub,
        "dispatch",
        "run one dispatch pass and one overdue pass (reminders, leads) and exit",
        "Send every follow-up DM that is due, then the overdue reminders and lead notices,\n"
        "once, and exit (for cron, or to catch up by hand).",
        "followup dispatch",
    )
    dispatch.add_argument("--now", help="pretend it is this ISO 8601 instant (e.g. for tests)")

    db = command(
        sub,
        "db",
        "database maintenance",
        "Database maintenance (DATABASE_URL).",
        "followup db upgrade",
    )
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    command(
        db_sub,
        "upgrade",
        "apply migrations up to the latest schema",
        "Apply the shipped migrations to DATABASE_URL up to the latest schema and print the\n"
        "revision it is at. Run it once per release, before restarting the bot.",
        "followup db upgrade",
    )

    policy = command(
        sub,
        "policy",
        "the follow-up policy",
        "Check the follow-up policy file, or see how it plans a stored case.",
        "followup policy check",
    )
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    command(
        policy_sub,
        "check",
        "validate the policy file (FOLLOWUP_POLICY)",
        "Validate the policy file named by FOLLOWUP_POLICY (or the shipped default).",
        "FOLLOWUP_POLICY=./policy.toml followup policy check",
    )
    explain = command(
        policy_sub,
        "explain",
        "which rule a case matches, and when",
        "Show which rule a stored case matched and why, and each touch's times in the\n"
        "assignee's local time.",
        "followup policy explain zendesk:4821",
    )
    explain.add_argument("case", help="a case reference: <source>:<id>, or just the id")

    templates = command(
        sub,
        "templates",
        "draft templates",
        "Check the draft templates (FOLLOWUP_TEMPLATES overrides and the shipped ones).",
        "followup templates check",
    )
    templates_sub = templates.add_subparsers(
        dest="templates_command", required=True, metavar="ACTION"
    )
    command(
        templates_sub,
        "check",
        "render every template with sample cases",
        "Render every draft template with sample cases and compile the rest; report each\n"
        "error with its file and line.",
        "FOLLOWUP_TEMPLATES=./templates-overrides followup templates check",
    )

    backfill = command(
        sub,
        "import",
        "backfill closed cases from a CSV file",
        "Backfill closed cases from a CSV file and plan their follow-ups. Running it again\n"
        "imports nothing twice. A progress bar shows on a terminal; a summary line always.",
        "followup import closed-cases.csv --source zendesk",
    )
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

    agents = command(
        sub,
        "agents",
        "link helpdesk agents to Slack; leads and backups",
        "Link helpdesk agents to Slack users, and set leads and backups.",
        "followup agents list",
    )
    agents_sub = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    command(
        agents_sub,
        "list",
        "show links, leads and backups",
        "Show the helpdesk agent ids linked to Slack users, the leads and the backups.",
        "followup agents list",
    )
    link = command(
        agents_sub,
        "link",
        "map a helpdesk's agent id to a Slack user",
        "Map a helpdesk's agent id to a Slack user, for helpdesks that name agents by id.",
        "followup agents link zendesk 381 ada@example.com",
    )
    link.add_argument("source", help="zendesk, intercom, freshdesk, hubspot, jira, ...")
    link.add_argument("agent_id", help="the agent's id in that helpdesk")
    link.add_argument("user", help="Slack user id (U…) or email")
    lead = command(
        agents_sub,
        "lead",
        "make someone a lead (escalations, overdue)",
        "Make someone a lead: they hear of escalations and overdue follow-ups of their team\n"
        "or of the agents given.",
        "followup agents lead grace@example.com --team support --of ada@example.com",
    )
    lead.add_argument("user", help="Slack user id (U…) or email")
    lead.add_argument("--team", help="the team (slug) they lead")
    lead.add_argument(
        "--of", action="append", default=[], metavar="AGENT", help="an agent they lead (repeat)"
    )
    backup = command(
        agents_sub,
        "backup",
        "who covers an agent while they are away",
        "Name who gets an agent's due follow-ups while the agent is away.",
        "followup agents backup ada@example.com bob@example.com",
    )
    backup.add_argument("agent", help="Slack user id (U…) or email")
    backup.add_argument("backup", help="Slack user id (U…) or email")
    setting = command(
        agents_sub,
        "set",
        "an agent's direct phone and signature, for drafts",
        "Set the direct phone and signature an agent's drafts use (an empty value clears it).",
        'followup agents set ada@example.com --phone "+44 20 7946 0958" --signature "Ada, Support"',
    )
    setting.add_argument("user", help="Slack user id (U…) or email")
    setting.add_argument("--phone", help="their direct number, e.g. +44 20 7946 0958")
    setting.add_argument("--signature", help="how their email drafts end (\\n for a new line)")
    add_digest_parsers(sub)
    add_webhooks_parsers(sub)
    add_writeback_parsers(sub)
    return parser


def _version() -> str:
    try:
        return version("followup")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _settings(env_file: Path | None, require_slack: bool = True) -> Settings:
    load_dotenv(env_file or Path.cwd() / ".env", override=False)
    return Settings.from_env(require_slack=require_slack)


SLACK_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


def _forget_slack_secrets() -> None:
    """Take the Slack secrets out of the process environment once the settings hold them.

    slack_bolt's `App` falls back to `SLACK_BOT_TOKEN` from the environment when given no
    token, and, given our `client` as well, warns at every start that the token will be
    unused (slack-bolt 1.30, slack_bolt/app/app.py `App.__init__`: `token = token or
    os.environ.get("SLACK_BOT_TOKEN")`, then `warning_client_prioritized_and_token_skipped`).
    Passing any token instead warns the same. Nothing reads these variables after
    `Settings.from_env`; child processes need not inherit them either.
    """
    for name in SLACK_SECRETS:
        os.environ.pop(name, None)


TEMPORARY_FAILURE = 75
"""EX_TEMPFAIL (sysexits.h): Slack, the database or the port not there yet; trying again later
may work as is. Any other failure exits 2: the setup must change first (deploy/followup.service
restarts on the one, not the other)."""


def _fail(message: str, status: int = 2) -> int:
    print(f"followup: {message}", file=sys.stderr)
    return status


def _database_failed(error: Exception) -> int:
    """One line for a database that cannot be reached or used, not SQLAlchemy's traceback."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return _fail(f"the database (DATABASE_URL) cannot be used: {first[:300]}", TEMPORARY_FAILURE)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from bot.demo.scenario import run_demo

        run_demo(fast=args.fast, out_dir=args.out, slack_tiers=args.slack_tiers)
        return 0
    if args.env_file is not None and not args.env_file.is_file():
        # Named on purpose: going on without it would use the defaults (a new SQLite file here).
        return _fail(f"--env-file {args.env_file}: no such file")
    if args.command == "doctor":
        from bot.runtime.doctor import run_doctor

        load_dotenv(args.env_file or Path.cwd() / ".env", override=False)
        return run_doctor()
    try:
        offline = (
            args.command in ("db", "templates", "import", "teams", "webhooks", "writeback")
            or (args.command == "digest" and not digest_needs_slack(args))
            or (args.command == "policy" and args.policy_command == "check")
            or (args.command == "agents" and args.agents_command == "list")
        )
        settings = _settings(args.env_file, require_slack=not offline)
    except SettingsError as error:
        return _fail(str(error))
    _forget_slack_secrets()

    from bot.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets(), settings.log_format)
    if args.command == "webhooks":
        from bot.runtime.webhooks_cli import run as run_webhooks_cli

        return run_webhooks_cli(settings, args)
    if args.command == "writeback" and args.writeback_command != "deliver":
        from bot.runtime.writeback_cli import run as run_writeback_cli

        try:
            return run_writeback_cli(settings, args)
        except DATABASE_DOWN as error:
            return _database_failed(error)
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
            from bot.planning.plan import UnknownCase, explain_case

            try:
                print(explain_case(deps, args.case))
            except UnknownCase as error:
                return _fail(str(error))
            return 0
        if args.command == "writeback":
            from bot.writeback.worker import deliver_due

            print(deliver_due(deps).summary())
            return 0
        if args.command == "import":
            return _import(deps, args)
        if args.command == "agents":
            return _agents(deps, args)
        if args.command in ("digest", "teams"):
            from bot.digest.cli import run as run_digest_cli

            return run_digest_cli(deps, args)
    except (StartupError, PolicyError) as error:
        return _fail(str(error), TEMPORARY_FAILURE if getattr(error, "transient", False) else 2)
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
    from bot.people.roster import AgentError, link, make_lead, roster_text, set_backup

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
        elif action == "set":
            return _agent_settings(deps, args)
        else:
            for line in roster_text(deps):
                print(line)
    except AgentError as error:
        return _fail(str(error))
    return 0


def _agent_settings(deps: Deps, args: argparse.Namespace) -> int:
    from bot.people.roster import AgentError
    from bot.people.settings import ProfileForm, set_agent

    if args.phone is None and args.signature is None:
        return _fail("agents set: give --phone and/or --signature")
    signature = None if args.signature is None else args.signature.replace("\\n", "\n")
    try:
        changed = set_agent(deps, args.user, ProfileForm(args.phone, signature), actor="cli")
    except AgentError as error:
        return _fail(str(error))
    print(f"{args.user}: " + (", ".join(changed) + " set" if changed else "nothing changed"))
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
    from bot.rules.policy import PolicyError
    from bot.rules.policy_file import load_policy

    try:  # drafts for templates the policy names are in use; `policy check` reports a bad one
        policy = load_policy(settings.policy_path)
    except PolicyError:
        policy = None
    problems = check_templates(Renderer(settings.templates_dir), policy=policy)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("templates OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
