"""Submissions of the outcome, skip and snooze modals: validate first, then ack, then Slack."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.loop.outcomes import Done, Refused, after_commit, record_outcome, record_skip
from bot.loop.snooze import record_snooze
from handlers.actions.common import SLACK_CHANNEL, SLACK_TS, row_id, slack_id
from handlers.views import common

Recorder = Callable[[Deps, str, str, dict[str, Any]], tuple[dict[str, str] | None, Done | None]]
log = logging.getLogger("followup.outcomes")
_SURFACE = re.compile(r"^[a-z_]{1,20}$")


def _metadata(view: dict[str, Any]) -> dict[str, Any] | None:
    """Our private_metadata ({"f": follow-up, "c": channel, "t": ts, "s": surface}), or None."""
    meta = common.metadata(view)
    followup_id = row_id(meta.get("f")) if meta else None
    if meta is None or followup_id is None:
        return None
    surface = meta.get("s")
    return {
        "f": followup_id,
        "c": slack_id(meta.get("c"), SLACK_CHANNEL),
        "t": slack_id(meta.get("t"), SLACK_TS),
        "s": surface if isinstance(surface, str) and _SURFACE.match(surface) else "modal",
    }


def _refuse(ack: Ack, view: dict[str, Any], text: str) -> None:
    """Say why on the form itself (Slack shows errors under an input block)."""
    where = common.first_input(view)
    if where is None:
        ack()
    else:
        ack(response_action="errors", errors={where: text})


def _submit(
    record: Recorder, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    user_id = body["user"]["id"]
    meta = _metadata(view)
    if meta is None:
        _refuse(ack, view, common.OUT_OF_DATE)
        return
    try:
        errors, done = record(deps, user_id, json.dumps(meta), common.values(view))
    except Refused as refused:  # the follow-up is gone
        _refuse(ack, view, str(refused))
        return
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    assert done is not None
    after_commit(deps, done, (meta["c"], meta["t"]))
    if done.confirmation and meta["c"]:
        try:
            client.chat_postEphemeral(channel=meta["c"], user=user_id, text=done.confirmation)
        except SlackApiError as error:  # recorded already; only the confirmation is lost
            log.warning("confirmation not shown: %s", error.response.get("error"))


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
