"""Modal submission listeners."""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from handlers.views import escalation_handled, log_case, outcome, profile


def register(app: App) -> None:
    app.view(ids.VIEW_OUTCOME)(outcome.handle_outcome_submission)
    app.view(ids.VIEW_SKIP)(outcome.handle_skip_submission)
    app.view(ids.VIEW_SNOOZE)(outcome.handle_snooze_submission)
    app.view(ids.VIEW_LOG_CASE)(log_case.handle_log_case_submission)
    app.view(ids.VIEW_ESCALATION_HANDLED)(escalation_handled.handle_handled_submission)
    app.view(ids.VIEW_PROFILE)(profile.handle_profile_submission)
