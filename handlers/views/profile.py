"""Submission of the `/followup profile` modal: the submitter's own phone and signature."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.deps import Deps
from bot.people.settings import ProfileForm, save_profile
from handlers.views import common

FIELD_BLOCKS: dict[str, str] = {"phone": ids.PROFILE_PHONE, "signature": ids.PROFILE_SIGNATURE}
"""Each form field and the modal block that holds its input (and shows its error)."""


def _typed(values: dict[str, Any], block: str, action: str) -> str:
    element = (values.get(block) or {}).get(action) or {}
    return str(element.get("value") or "").strip()


def read_profile(values: dict[str, Any]) -> ProfileForm:
    """The modal's state as a form: an empty box clears that setting."""
    return ProfileForm(
        phone=_typed(values, ids.PROFILE_PHONE, ids.PROFILE_PHONE_INPUT),
        signature=_typed(values, ids.PROFILE_SIGNATURE, ids.PROFILE_SIGNATURE_INPUT),
    )


def handle_profile_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    # The profile changed is always the submitter's: the user comes from Slack's payload.
    errors = save_profile(deps, body["user"]["id"], read_profile(common.values(view)))
    if errors:
        ack(
            response_action="errors",
            errors={FIELD_BLOCKS[name]: text for name, text in errors.items()},
        )
        return
    ack()
