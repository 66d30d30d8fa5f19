"""Submissions of the outcome, skip and snooze modals: read the form into typed values here,
at the edge; validate and record (bot/loop); ack with any inline errors; then Slack."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot import ids
from bot.deps import Deps
from bot.loop.access import Refused
from bot.loop.effects import after_commit
from bot.loop.outcomes import Done, Errors, record_outcome, record_skip
from bot.loop.snooze import record_snooze
from bot.loop.views import ModalMeta, OutcomeForm, SkipForm, SnoozeForm
from handlers.actions.common import SLACK_CHANNEL, SLACK_TS, row_id, slack_id
from handlers.views import common

Form = TypeVar("Form")
Recorder = Callable[[Deps, str, ModalMeta, Form], tuple[Errors | None, Done | None]]
log = logging.getLogger("followup.outcomes")
_SURFACE = re.compile(r"^[a-z_]{1,20}$")

FIELD_BLOCKS: dict[str, str] = {
    "result": ids.OUTCOME_RESULT,
    "said": ids.OUTCOME_SAID,
    "insight": ids.OUTCOME_INSIGHT,
    "cause": ids.OUTCOME_CAUSE,
    "asks": ids.OUTCOME_ASKS,
    "reason": ids.SKIP_REASON,
    "when": ids.SNOOZE_WHEN,
    "date": ids.SNOOZE_DATE,
}
"""Where each form field's inline error is shown: the block that holds its input."""


def read_meta(view: dict[str, Any]) -> ModalMeta | None:
    """Our private_metadata ({"f": follow-up, "c": channel, "t": ts, "s": surface}), or None."""
    meta = common.metadata(view)
    followup_id = row_id(meta.get("f")) if meta else None
    if meta is None or followup_id is None:
        return None
    surface = meta.get("s")
    return ModalMeta(
        followup_id=followup_id,
        channel=slack_id(meta.get("c"), SLACK_CHANNEL),
        ts=slack_id(meta.get("t"), SLACK_TS),
        surface=surface if isinstance(surface, str) and _SURFACE.match(surface) else "modal",
    )


def _element(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(action) or {})


def _chosen(values: dict[str, Any], block: str, action: str) -> str | None:
    option = _element(values, block, action).get("selected_option") or {}
    return option.get("value")


def _typed(values: dict[str, Any], block: str, action: str) -> str:
    return (_element(values, block, action).get("value") or "").strip()


def read_outcome(values: dict[str, Any]) -> OutcomeForm:
    """The "Followed up" modal's state (as `common.values` cleaned it) as a form."""
    asks = _element(values, ids.OUTCOME_ASKS, ids.OUTCOME_ASKS_INPUT).get("selected_options")
    return OutcomeForm(
        result=_chosen(values, ids.OUTCOME_RESULT, ids.OUTCOME_RESULT_INPUT),
        said=_typed(values, ids.OUTCOME_SAID, ids.OUTCOME_SAID_INPUT) or None,
        cause=_chosen(values, ids.OUTCOME_CAUSE, ids.OUTCOME_CAUSE_INPUT),
        asks=frozenset(o["value"] for o in asks or []),
        insight=_typed(values, ids.OUTCOME_INSIGHT, ids.OUTCOME_INSIGHT_INPUT) or None,
    )


def read_skip(values: dict[str, Any]) -> SkipForm:
    return SkipForm(reason=_typed(values, ids.SKIP_REASON, ids.SKIP_REASON_INPUT))


def read_snooze(values: dict[str, Any]) -> SnoozeForm:
    raw = _element(values, ids.SNOOZE_DATE, ids.SNOOZE_DATE_INPUT).get("selected_date")
    return SnoozeForm(
        option=_chosen(values, ids.SNOOZE_WHEN, ids.SNOOZE_WHEN_INPUT),
        picked=date.fromisoformat(raw) if raw else None,  # common.values kept valid dates only
    )


def _refuse(ack: Ack, view: dict[str, Any], text: str) -> None:
    """Say why on the form itself (Slack shows errors under an input block)."""
    where = common.first_input(view)
    if where is None:
        ack()
    else:
        ack(response_action="errors", errors={where: text})


def _submit(
    read: Callable[[dict[str, Any]], Form],
    record: Recorder[Form],
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    client: Any,
    deps: Deps,
) -> None:
    user_id = body["user"]["id"]
    meta = read_meta(view)
    if meta is None:
        _refuse(ack, view, common.OUT_OF_DATE)
        return
    try:
        errors, done = record(deps, user_id, meta, read(common.values(view)))
    except Refused as refused:  # the follow-up is gone
        _refuse(ack, view, str(refused))
        return
    if errors:
        ack(response_action="errors", errors={FIELD_BLOCKS[k]: v for k, v in errors.items()})
        return
    ack()
    assert done is not None
    after_commit(deps, done, (meta.channel, meta.ts))
    if done.confirmation and meta.channel:
        try:
            client.chat_postEphemeral(channel=meta.channel, user=user_id, text=done.confirmation)
        except SlackApiError as error:  # recorded already; only the confirmation is lost
            log.warning("confirmation not shown: %s", error.response.get("error"))


def handle_outcome_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    _submit(read_outcome, record_outcome, ack, body, view, client, deps)


def handle_skip_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    _submit(read_skip, record_skip, ack, body, view, client, deps)


def handle_snooze_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, deps: Deps
) -> None:
    _submit(read_snooze, record_snooze, ack, body, view, client, deps)
