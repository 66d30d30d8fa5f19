"""app.yaml is pasted into Slack unchanged: it must be valid and match the registered listeners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import ids

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "slack-app-manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "app.yaml").read_text())


def registered_listeners() -> tuple[set[str], set[str]]:
    """The commands and event types `handlers.register` subscribes, as Bolt would be told."""
    from unittest.mock import MagicMock

    from slack_bolt import App

    from handlers import register

    app = MagicMock(spec=App)
    register(app)
    commands = {call.args[0] for call in app.command.call_args_list}
    events = {call.args[0] for call in app.event.call_args_list}
    return commands, events


def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip("../shared/slack-app-manifest.schema.json is not beside the project")
    import jsonschema

    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_commands_match_the_listeners_both_ways(manifest: dict[str, Any]) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    commands, _ = registered_listeners()
    assert declared == commands == {ids.COMMAND}


def test_events_match_the_listeners_both_ways(manifest: dict[str, Any]) -> None:
    declared = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert declared == set(ids.BOT_EVENTS)
    _, events = registered_listeners()
    # message.channels and message.groups are delivered as the `message` event type.
    assert {e.split(".")[0] for e in declared} == events


def test_dms_and_home_tab_are_on_and_socket_mode_enabled(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["slash_commands"][0]["usage_hint"]


METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),  # the start-up token check
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.getPermalink": set(),
    "conversations.open": {"im:write"},
    "conversations.history": {"im:history"},  # reconciling DMs after a crash
    # followup doctor: does each configured channel exist, is the bot in it (public, private)
    "conversations.info": {"channels:read", "groups:read"},
    "apps.connectionsOpen": set(),  # doctor, with the app-level token (connections:write)
    "users.info": {"users:read"},
    "users.list": {"users:read", "users:read.email"},  # emails in the profiles need the second
    "users.lookupByEmail": {"users:read.email"},
    "views.open": set(),
    "views.update": set(),
    "views.publish": set(),
    "files.uploadV2": {"files:write"},
}
EVENT_SCOPES = {
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "user_change": {"users:read"},  # api.slack.com/events/user_change
    "team_join": {"users:read"},  # api.slack.com/events/team_join
}
# The weekly digest's chart upload (files_upload_v2) is part of the product's contract: the
# foundation issue requires the scope up front so workspaces need not reinstall later.
REQUIRED_AHEAD = {"files:write"}


def test_scopes_are_exactly_the_ones_the_bot_uses(manifest: dict[str, Any]) -> None:
    """Every Web API method the bot calls has its scope, and no scope is left unused."""
    used = _methods_called_in_source()
    unknown = used - set(METHOD_SCOPES)
    assert not unknown, f"add the scopes of {unknown} to METHOD_SCOPES and app.yaml"
    needed = {"commands"} | set().union(*(METHOD_SCOPES[m] for m in used), *EVENT_SCOPES.values())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed | REQUIRED_AHEAD


def _methods_called_in_source() -> set[str]:
    import re

    names: set[str] = set()
    ours = [p for p in (ROOT / "bot").rglob("*.py") if "sandbox" not in p.parts]
    sources = [*ours, *(ROOT / "handlers").rglob("*.py")]
    for path in sources:
        for match in re.finditer(r"client\.([a-z]+)_([A-Za-z0-9_]+)\(", path.read_text()):
            head, tail = match.groups()
            camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), tail)
            names.add(f"{head}.{camel}")
    return names
