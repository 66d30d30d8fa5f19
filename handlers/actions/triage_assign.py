"""Someone in the triage channel picks who should follow up on an unassigned case."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.deps import Deps
from bot.people.triage import assign_from_triage
from handlers.actions.common import SLACK_USER, row_id, slack_id

log = logging.getLogger("followup.triage")


def handle_triage_assign(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], deps: Deps
) -> None:
    ack()
    followup_id = row_id(
        str(action.get("block_id", "")).removeprefix(ids.TRIAGE_ASSIGN_BLOCK_PREFIX)
    )
    chosen = slack_id(action.get("selected_user"), SLACK_USER)
    if followup_id is None or chosen is None:
        # A cleared picker, or a post that is not one of ours: nothing to assign.
        log.warning("triage pick ignored: block %r, user %r", action.get("block_id"), chosen)
        return
    assign_from_triage(deps, followup_id, chosen, actor=body["user"]["id"])
