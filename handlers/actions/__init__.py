"""Block action listeners (buttons, menus)."""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from handlers.actions import digest_drilldown, escalation_handled, followup_buttons, triage_assign


def register(app: App) -> None:
    app.action(followup_buttons.ACTION_PATTERN)(followup_buttons.handle_followup_button)
    app.action(ids.ACTION_ESCALATION_HANDLED)(escalation_handled.handle_escalation_handled)
    app.action(ids.ACTION_TRIAGE_ASSIGN)(triage_assign.handle_triage_assign)
    app.action(digest_drilldown.ACTION_PATTERN)(digest_drilldown.handle_digest_drilldown)
