"""The Slack half of `followup doctor`, and the line every check prints.

What Slack tells us, and where that is written:
- `auth.test` says whose the token is; every Web API response carries the token's scopes in
  its `X-OAuth-Scopes` header, comma-separated (api.slack.com/legacy/oauth-scopes, "Working
  with scopes", quoted in zulip/zulip#16788 and slack-go/slack#1076).
- `conversations.info` needs `channels:read` for public and `groups:read` for private channels
  and answers `is_member` for the bot; a private channel the bot is not in, like an unknown
  id, is `channel_not_found` (Slack's conversations.info page, mirrored in
  tonnenpinguin/slack-api-docs methods/groups.info.md). A refused call names the scope it
  needed in `needed` (a recorded answer in slackapi/java-slack-sdk's users_Test).
- `apps.connections.open`, with the app-level token, hands out a Socket Mode URL (Slack's
  Socket Mode page; slack_sdk's SocketModeClient calls it the same way). Doctor does not open
  the WebSocket: the URL proves the token and Socket Mode are on.
- In HTTP mode, Slack's request URL lives in the app's settings, which no bot token can read.
  What doctor can check honestly is that PUBLIC_URL is set and that PUBLIC_URL/healthz answers
  from here, i.e. that a running Followup is behind that address.
"""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import Engine

from bot.config import Settings
from db import digest
from db.engine import make_session_factory

MANIFEST_BOT_SCOPES = frozenset(
    {
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:write",
        "users:read",
        "users:read.email",
    }
)
"""The bot scopes app.yaml asks for (a test keeps the two equal), so an installed copy without
the repository still knows them."""

REINSTALL = (
    "add them under OAuth & Permissions (or update the app from app.yaml), then reinstall the "
    "app to the workspace and copy the new bot token"
)


@dataclass(frozen=True)
class Check:
    """One line of the report: PASS, WARN or FAIL, what was found, and what to do."""

    status: str
    name: str
    found: str
    fix: str = ""

    def line(self) -> str:
        fix = f" Fix: {_sentence(self.fix)}" if self.fix and self.status != "PASS" else ""
        return f"{self.status:<4}  {self.name}: {_sentence(self.found)}{fix}"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else f"{text}."


def passed(name: str, found: str) -> Check:
    """A check that found nothing to fix."""
    return Check("PASS", name, found)


def warned(name: str, found: str, fix: str) -> Check:
    """Something doctor cannot verify from here, and how to check it."""
    return Check("WARN", name, found, fix)


def failed(name: str, found: str, fix: str) -> Check:
    """A check that found something to fix, and how."""
    return Check("FAIL", name, found, fix)


def token_checks(client: WebClient) -> Iterator[Check]:
    """The bot token works (`auth.test`), then its scopes cover the manifest's."""
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        yield _refused("Slack token", "SLACK_BOT_TOKEN", error, client.base_url)
        return
    except UNREACHABLE as error:
        reason = getattr(error, "reason", error)
        yield failed(
            "Slack token",
            f"cannot reach Slack's Web API at {client.base_url} ({reason})",
            "check SLACK_API_URL and the network",
        )
        return
    team, user = answer.get("team"), answer.get("user_id")
    yield passed("Slack token", f"works in workspace {team} ({answer.get('team_id')}) as {user}")
    yield _scopes(answer)


UNREACHABLE = (OSError, ValueError, http.client.HTTPException)
"""No answer at all: refused, timed out, unknown host, or an address urllib cannot even send to
(`http.client.InvalidURL` for a space in it)."""
SLACK_ERROR = re.compile(r"^[a-z][a-z0-9_.]*$")
"""Slack's error codes are snake_case words; slack_sdk puts its own sentences in the same field
when the answer was not Slack's JSON (a proxy's HTML page)."""

TOKEN_REFUSED = ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired")
"""Slack's answers that mean the token itself is wrong (auth.test's documented errors)."""


def _refused(name: str, variable: str, error: SlackApiError, api_url: str) -> Check:
    """A refused call: the token's fault only when Slack says so; anything else (a proxy's
    HTML page, a 5xx, a rate limit) points at the address or the moment, not the token."""
    given = error.response.get("error") if isinstance(error.response.data, dict) else None
    code = given if isinstance(given, str) and SLACK_ERROR.match(given) else None
    status = error.response.status_code
    if (
        code in TOKEN_REFUSED
        or code == "invalid_token"
        or (code and code.startswith("not_allowed"))
    ):
        where = "Basic Information (app-level token, connections:write)"
        if variable == "SLACK_BOT_TOKEN":
            where = "OAuth & Permissions (Bot User OAuth Token)"
        return failed(name, f"Slack refused {variable} ({code})", f"copy it again from {where}")
    if code == "ratelimited" or status == 429:
        return Check("WARN", name, "Slack answered 429 (rate limited)", "run doctor again shortly")
    if code:
        return failed(name, f"Slack answered {code}", "see Slack's documentation of that error")
    return failed(
        name,
        f"{api_url} answered HTTP {status} without Slack's JSON",
        "check SLACK_API_URL (leave it unset for Slack itself) and any proxy in between",
    )


def granted_scopes(response: SlackResponse) -> set[str] | None:
    """The token's scopes from a response's X-OAuth-Scopes header; None when it has none."""
    for name, value in (response.headers or {}).items():
        if name.lower() == "x-oauth-scopes":
            return {scope.strip() for scope in str(value).split(",") if scope.strip()}
    return None


def _scopes(answer: SlackResponse) -> Check:
    granted = granted_scopes(answer)
    if granted is None:
        return Check(
            "WARN", "Slack scopes", "Slack sent no X-OAuth-Scopes header, so they are unchecked"
        )
    missing = sorted(MANIFEST_BOT_SCOPES - granted)
    if missing:
        return failed("Slack scopes", "the token lacks " + ", ".join(missing), REINSTALL)
    return passed("Slack scopes", f"the token has all {len(MANIFEST_BOT_SCOPES)} in app.yaml")


def connection_check(settings: Settings) -> Check:
    """Socket Mode opens a connection, or in HTTP mode PUBLIC_URL reaches a running bot."""
    if settings.slack_app_token is not None:
        app_client = WebClient(base_url=settings.slack_api_url, timeout=15)
        try:
            app_client.apps_connections_open(app_token=settings.slack_app_token)
        except SlackApiError as error:
            return _refused("Socket Mode", "SLACK_APP_TOKEN", error, settings.slack_api_url)
        except UNREACHABLE as error:
            return failed("Socket Mode", f"cannot reach Slack ({error})", "check the network")
        return passed("Socket Mode", "apps.connections.open hands out a connection")
    return _request_url(settings.public_url)


def _request_url(public_url: str | None) -> Check:
    if public_url is None:
        return failed(
            "request URL",
            "HTTP mode (no SLACK_APP_TOKEN) but PUBLIC_URL is not set",
            "set PUBLIC_URL to the https address of this bot, and the app's request URLs to "
            "PUBLIC_URL/slack/events; or set SLACK_APP_TOKEN for Socket Mode",
        )
    url = public_url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except UNREACHABLE as error:
        # Not a FAIL: doctor runs before `followup run` as often as after, and a deploy script
        # that stops on a FAIL must be able to start the bot.
        return Check(
            "WARN",
            "request URL",
            f"{url} does not answer ({getattr(error, 'reason', error)})",
            "if the bot is running, make PUBLIC_URL reach it (DNS, proxy, firewall); "
            "run doctor again once it is",
        )
    if status != 200:
        return failed("request URL", f"{url} answered {status}", "see docs/deploy.md, Health")
    return passed(
        "request URL",
        f"{url} answers; Slack's request URLs (app settings) must be "
        f"{public_url.rstrip('/')}/slack/events, which doctor cannot read",
    )


def channel_checks(client: WebClient, settings: Settings, engine: Engine | None) -> Iterator[Check]:
    """Each configured channel exists and the bot is in it (teams' channels when `engine`)."""
    for variable, channel in configured_channels(settings, engine):
        yield _channel(client, variable, channel)


def configured_channels(settings: Settings, engine: Engine | None) -> list[tuple[str, str]]:
    """(where it is configured, channel) for every channel the bot posts to or listens in."""
    found = [
        (name, value)
        for name, value in (
            ("DIGEST_CHANNEL", settings.digest_channel),
            ("ESCALATION_CHANNEL", settings.escalation_channel),
            ("TRIAGE_CHANNEL", settings.triage_channel),
        )
        if value
    ]
    if engine is not None:
        with make_session_factory(engine)() as session:
            for team in digest.teams(session):
                for kind, value in (
                    ("digest", team.digest_channel),
                    ("escalation", team.escalation_channel),
                ):
                    if value:
                        found.append((f"team {team.slug} {kind} channel", value))
    found += [("WATCHED_CHANNELS", channel) for channel in sorted(settings.watched_channels)]
    return found


def _channel(client: WebClient, where: str, channel: str) -> Check:
    if channel.startswith("#"):
        return Check(
            "WARN",
            where,
            f"{channel} is a name, which doctor cannot look up (and which breaks on a rename)",
            "use the channel id (channel details, at the bottom: C...)",
        )
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as error:
        code = error.response.get("error", "unknown error")
        if code == "missing_scope":
            needed = error.response.get("needed", "channels:read, groups:read")
            return failed(where, f"cannot look up {channel}: missing {needed}", REINSTALL)
        if code == "channel_not_found":
            return failed(
                where,
                f"{channel} not found: no such channel, or a private one the bot is not in",
                "check the id; for a private channel, invite @Followup to it first",
            )
        return failed(where, f"cannot look up {channel} ({code})", "try again later")
    name = f"#{info.get('name', channel)}"
    if info.get("is_archived"):
        return failed(where, f"{name} ({channel}) is archived", "choose a live channel")
    if not info.get("is_member"):
        return failed(
            where,
            f"the bot is not a member of {name} ({channel})",
            f"invite @Followup to {name} (type /invite @Followup in the channel)",
        )
    return passed(where, f"{name} ({channel}) exists and the bot is a member")


def users_check(client: WebClient) -> Check:
    """The roster is readable: users.list answers."""
    try:
        answer = client.users_list(limit=200)
    except SlackApiError as error:
        code = error.response.get("error", "unknown error")
        needed = error.response.get("needed")
        fix = REINSTALL if needed else "try again later; Slack's status page if it persists"
        found = f"users.list failed ({code}{', needs ' + needed if needed else ''})"
        return failed("Slack roster", found, fix)
    members = answer.get("members") or []
    return passed("Slack roster", f"users.list readable ({len(members)} on the first page)")
