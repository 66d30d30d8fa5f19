"""The `followup` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.clock import ManualClock, parse_instant
from bot.config import Settings, SettingsError


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

    sandbox = sub.add_parser(
        "sandbox", help="try the bot with no Slack account: local Slack sandbox, SQLite, a case"
    )
    sandbox.add_argument("--serve", action="store_true", help="keep running after the tour")

    dispatch = sub.add_parser("dispatch", help="run one dispatch pass and exit")
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
    return parser


def _settings(env_file: Path | None, require_slack: bool = True) -> Settings:
    load_dotenv(env_file or Path.cwd() / ".env", override=False)
    return Settings.from_env(require_slack=require_slack)


def _fail(message: str) -> int:
    print(f"followup: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sandbox":
        from bot.tryout import run_sandbox

        return run_sandbox(serve=args.serve)
    try:
        offline = args.command in ("db", "templates") or (
            args.command == "policy" and args.policy_command == "check"
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

        migrate.upgrade(settings.database_url)
        print(f"database at {migrate.current_head()}")
        return 0

    from bot.policy import PolicyError
    from bot.runtime import StartupError, build_deps, ensure_schema, run_forever

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
            from bot.dispatch import dispatch_pass

            report = dispatch_pass(deps)
            print(report.summary())
            return 0
        if args.command == "policy":
            from bot.planning import explain_case

            print(explain_case(deps, args.case))
            return 0
    except (StartupError, PolicyError) as error:
        return _fail(str(error))
    return _fail(f"unknown command {args.command}")


def _policy_check(settings: Settings) -> int:
    from bot.policy import PolicyError, load_policy

    try:
        policy = load_policy(settings.policy_path)
    except PolicyError as error:
        return _fail(str(error))
    source = settings.policy_path or "the shipped default"
    print(f"policy OK: {len(policy.rules)} rules ({source})")
    return 0


def _templates_check(settings: Settings) -> int:
    from bot.drafting import Renderer, check_templates

    problems = check_templates(Renderer(settings.templates_dir))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("templates OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
