"""A digest button ("Didn't hold", "Overdue", "Root causes") opens the list of its cases."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.digest_blocks import DRILLDOWN_ACTION
from bot.digest_views import DrilldownGone, drilldown_modal

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
    try:
        view = drilldown_modal(deps, str(action.get("value", "")))
    except (DrilldownGone, ValueError):
        log.warning("digest drill-down for an unknown digest: %r", action.get("value"))
        respond(
            text="That digest is no longer available.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())
