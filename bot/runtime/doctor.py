"""`followup doctor`: checks a setup against the real workspace and database, one line a check.

Each check prints PASS, WARN or FAIL with what it found and, when it is not PASS, what to do.
The exit status is 0 when nothing FAILs; a WARN is something doctor cannot verify from here.
The Slack checks, and the Slack documentation they rest on, are in bot/runtime/doctor_slack.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from sqlalchemy import Engine

from bot.cases import SOURCES
from bot.config import Settings, SettingsError, without_unknown_webhook_secrets
from bot.render.templates import Renderer, check_templates
from bot.rules.policy import Policy, PolicyError
from bot.rules.policy_file import load_policy
from bot.runtime.doctor_slack import (
    Check,
    channel_checks,
    connection_check,
    failed,
    passed,
    token_checks,
    users_check,
    warned,
)
from bot.writeback.transport import RateLimited, Transient, WritebackError
from bot.writeback.worker import vendor_for
from db import agents, digest, migrate
from db.engine import DATABASE_DOWN, make_engine, make_session_factory

URL_SIGNED_SOURCES = ("hubspot",)
"""Sources whose signature covers the URL the helpdesk called (HubSpot's v3 signature:
handlers/webhooks/hubspot.py), so they need PUBLIC_URL to verify anything."""


def run_doctor(env: Mapping[str, str] | None = None, out: Callable[[str], None] = print) -> int:
    """Print one line per check of the setup in `env` (default: the process environment);
    0 when none failed, 1 otherwise."""
    count = failures = 0
    for check in doctor(env):  # each line as soon as its check is done: a slow one shows
        out(check.line())
        count += 1
        failures += check.status == "FAIL"
    out(f"{count} checks, {failures} failed" if failures else f"all {count} passed")
    return 1 if failures else 0


def doctor(env: Mapping[str, str] | None = None) -> Iterator[Check]:
    """Every check, in the order a setup is built: configuration, Slack, database, content."""
    known_env, unknown = without_unknown_webhook_secrets(env)
    yield from _unknown_sources(unknown)
    try:
        settings = Settings.from_env(known_env)
    except SettingsError as error:
        yield failed("configuration", str(error), "correct it in the environment or .env")
        return
    yield from _webhooks(settings, bool(unknown))
    yield from _writeback(settings)
    # A plain client: no pacing and no waiting out a rate limit (a Retry-After of an hour would
    # leave doctor silent that long); a 429 is a WARN line.
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )
    token = list(token_checks(client))
    yield from token
    yield connection_check(settings)
    yield from _database_and_channels(settings, client if token[0].status == "PASS" else None)
    policy = None
    try:
        policy = load_policy(settings.policy_path)
        yield passed("policy", f"{len(policy.rules)} rules ({settings.policy_path or 'default'})")
    except PolicyError as error:
        yield failed("policy", str(error), "correct the file (followup policy check)")
    yield from _templates(settings, policy)
    yield passed("FOLLOWUP_TIMEZONE", f"{settings.timezone} is a valid time zone")


def _database_and_channels(settings: Settings, client: WebClient | None) -> Iterator[Check]:
    """The database, then what needs it or a working token: channels (the teams' too), the
    roster, the agents and the teams' time zones."""
    engine = None
    if _sqlite_file_missing(settings.database_url):
        yield failed(
            "database",
            f"the SQLite file of DATABASE_URL ({settings.database_url}) does not exist",
            "run followup db upgrade (it creates the file), or correct DATABASE_URL",
        )
    else:
        # A server that accepts the connection and never answers: one line, not a hang.
        engine = make_engine(settings.database_url, **_connect_timeout(settings.database_url))
    try:
        ready = None
        if engine is not None:
            database = _database(engine)
            yield database
            ready = engine if database.status == "PASS" else None
        if client is not None:
            yield from channel_checks(client, settings, ready)
            yield users_check(client)
        if ready is not None:
            yield from _stored(ready)
    finally:
        if engine is not None:
            engine.dispose()


def _connect_timeout(url: str) -> dict[str, Any]:
    """PostgreSQL's connect_timeout (libpq, in seconds); SQLite connects to a file."""
    return {"connect_args": {"connect_timeout": 10}} if url.startswith("postgresql") else {}


def _unknown_sources(names: list[str]) -> Iterator[Check]:
    known = [f"WEBHOOK_SECRET_{source.upper()}" for source in SOURCES]
    for name in names:
        nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"rename it {nearest[0]}" if nearest else "remove it"
        yield failed(
            name,
            "names no known webhook source (known: " + ", ".join(SOURCES) + ")",
            f"{hint}; followup run refuses to start with it",
        )


def _webhooks(settings: Settings, any_unknown: bool) -> Iterator[Check]:
    for source in URL_SIGNED_SOURCES:
        if source in settings.webhook_secrets and settings.public_url is None:
            yield failed(
                "PUBLIC_URL",
                f"not set, but WEBHOOK_SECRET_{source.upper()} is: {source} signs the URL it "
                "calls, so every delivery would be refused",
                f"set PUBLIC_URL to the https address {source} calls (without /webhooks/...)",
            )
    sources = ", ".join(sorted(settings.webhook_secrets)) or "none"
    if not any_unknown:
        yield passed("webhook secrets", f"for known sources only ({sources})")


WRITEBACK_FIX = {
    "401": "the credentials are refused: check WRITEBACK_{S}_* against docs/writeback.md",
    "403": "the credentials lack a permission: docs/writeback.md lists what {s} needs",
    "404": "nothing answers there: check WRITEBACK_{S}_URL (your {s} address)",
}


def _writeback(settings: Settings) -> Iterator[Check]:
    """One authenticated read per helpdesk with write-back: the credentials work, now."""
    for source, fields in sorted(settings.writeback.items()):
        name = f"{source} write-back"
        try:
            found = vendor_for(source, fields).check()
        except (RateLimited, Transient) as error:
            yield warned(name, f"could not check now ({error.reason})", "run doctor again later")
            continue
        except WritebackError as error:
            status = next((code for code in WRITEBACK_FIX if f"HTTP {code}" in error.reason), "")
            fix = WRITEBACK_FIX.get(status, "check WRITEBACK_{S}_* against docs/writeback.md")
            yield failed(name, error.reason, fix.format(S=source.upper(), s=source))
            continue
        if source == "generic":  # nothing to read from an arbitrary receiver
            yield warned(name, found, "send a test event with your receiver's own tools")
        else:
            yield passed(name, f"credentials work ({found})")


def _sqlite_file_missing(url: str) -> bool:
    """A SQLite URL whose file is not there: connecting would create an empty one.
    (SQLAlchemy's forms: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// in memory.)"""
    if not url.startswith("sqlite:///"):
        return False
    name = url.removeprefix("sqlite:///").split("?", 1)[0]
    return name not in ("", ":memory:") and not Path(name).exists()


def _database(engine: Engine) -> Check:
    try:
        current = migrate.current_revision(engine)
    except DATABASE_DOWN as error:
        cause = getattr(error, "orig", None) or error
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return failed(
            "database",
            f"cannot be reached ({first[:200]})",
            "check DATABASE_URL, that the server is up and the credentials are right",
        )
    head = migrate.current_head()
    if current != head:
        return failed(
            "database",
            f"the schema is at {current or 'nothing'}, the code needs {head}",
            "run followup db upgrade",
        )
    return passed("database", f"reachable, schema at {head}")


def _stored(engine: Engine) -> Iterator[Check]:
    with make_session_factory(engine)() as session:
        count = len(agents.everyone(session))
        teams = [(team.slug, team.timezone) for team in digest.teams(session)]
    yield passed("agents", f"the agents table is readable ({count} agents)")
    for slug, zone in teams:
        yield _team_zone(slug, zone)


def _team_zone(slug: str, zone: str) -> Check:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return failed(
            f"team {slug}",
            f"time zone {zone!r} is not an IANA time zone",
            f"followup teams set {slug} --timezone Europe/London (or the team's own zone)",
        )
    return passed(f"team {slug}", f"time zone {zone}")


def _templates(settings: Settings, policy: Policy | None) -> Iterator[Check]:
    problems = check_templates(Renderer(settings.templates_dir), policy=policy)
    for problem in problems:
        yield failed("templates", str(problem), "correct or rename the file")
    if not problems:
        where = settings.templates_dir or "shipped templates only"
        yield passed("templates", f"every template renders ({where})")
