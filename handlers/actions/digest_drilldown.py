"""A digest button ("Didn't hold", "Overdue", "Root causes") opens the list of its cases."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.digest.blocks import DRILLDOWN_ACTION
from bot.digest.views import DrilldownGone, drilldown_modal
from handlers.actions.common import row_id, tell

log = logging.getLogger("followup.digest")

ACTION_PATTERN = DRILLDOWN_ACTION
"""The three buttons share one listener: `digest_drilldown_<kind>`, the value names both."""


def handle_digest_drilldown(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    respond: Respond,
    deps: Deps,
) -> None:
    ack()
    value = str(action.get("value", ""))
    try:
        if row_id(value.partition(":")[0]) is None:
            raise ValueError(value)
        view = drilldown_modal(deps, value)
    except (DrilldownGone, ValueError):
        log.warning("digest drill-down for an unknown digest: %r", action.get("value"))
        tell(body, client, respond, "That digest is no longer available.")
        return
    client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())
