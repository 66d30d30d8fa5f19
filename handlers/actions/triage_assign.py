"""Someone in the triage channel picks who should follow up on an unassigned case."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot.deps import Deps
from bot.triage import assign_from_triage


def handle_triage_assign(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], deps: Deps
) -> None:
    ack()
    followup_id = int(action["block_id"].removeprefix("triage-assign-"))
    assign_from_triage(deps, followup_id, action["selected_user"], actor=body["user"]["id"])
