"""Submissions of the outcome, skip and snooze modals: validate first, then ack, then Slack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.deps import Deps
from bot.outcome_views import read_metadata
from bot.outcomes import Done, after_commit, record_outcome, record_skip
from bot.snooze import record_snooze

Recorder = Callable[[Deps, str, str, dict[str, Any]], tuple[dict[str, str] | None, Done | None]]


def _submit(
    record: Recorder, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    user_id = body["user"]["id"]
    errors, done = record(deps, user_id, view["private_metadata"], view["state"]["values"])
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    assert done is not None
    meta = read_metadata(view["private_metadata"])
    after_commit(deps, done, (meta.get("c"), meta.get("t")))
    if done.confirmation and meta.get("c"):
        client.chat_postEphemeral(channel=meta["c"], user=user_id, text=done.confirmation)


def handle_outcome_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    _submit(record_outcome, ack, body, view, client, deps)


def handle_skip_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    _submit(record_skip, ack, body, view, client, deps)


def handle_snooze_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    _submit(record_snooze, ack, body, view, client, deps)
