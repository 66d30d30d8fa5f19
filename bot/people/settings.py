"""Settings that fill a draft's placeholders: an agent's direct phone and signature, a team's
public review link.

An agent sets their own in Slack with `/followup profile` (a modal; the user is always the one
who submits it, never an id from the form); an operator sets anyone's with
`followup agents set <user> [--phone P] [--signature S]` and a team's review link with
`followup teams set <slug> --review-link URL`. Every change is audited. An empty value clears
the setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot import ids
from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.people.roster import UNKNOWN_CALLER, AgentError, known_caller, person
from db import agents as roster_store
from db import cases as store
from db.models import Agent, Team

PHONE_LIMIT = 40  # agents.phone is VARCHAR(40)
SIGNATURE_LIMIT = 500  # agents.signature is VARCHAR(500)
SIGNATURE_LINES = 6
REVIEW_LINK_LIMIT = 2000  # teams.review_link is VARCHAR(2000)
_PHONE = re.compile(
    r"^(?P<number>\+?[0-9(][0-9 ().\-/]*[0-9])(?:\s*(?:ext\.?|x|#)\s*(?P<ext>[0-9]{1,6}))?$",
    re.IGNORECASE,
)
# E.164 allows at most 15 digits; fewer than 7 is not a number someone can call back.
PHONE_DIGITS = (7, 15)

Errors = dict[str, str]
"""Inline errors keyed by the form's field name ("phone", "signature")."""


@dataclass(frozen=True)
class ProfileForm:
    """The profile modal as submitted (or the CLI's options): None leaves a value unchanged,
    "" clears it."""

    phone: str | None
    signature: str | None


def phone_error(phone: str) -> str | None:
    """Why `phone` is not a direct number's shape, or None. "+44 20 7946 0958",
    "(212) 555-0199 ext. 12" pass; letters, or too few or too many digits, do not."""
    if len(phone) > PHONE_LIMIT:
        return f"Keep the number to {PHONE_LIMIT} characters."
    shape = _PHONE.match(phone)
    digits = sum(ch.isdigit() for ch in shape["number"]) if shape else 0
    if shape is None or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        return (
            "Give a phone number: digits with optional +, spaces, dashes or brackets, "
            'and an extension like "ext. 12".'
        )
    return None


def signature_error(signature: str) -> str | None:
    """Why `signature` cannot end a customer message, or None."""
    if len(signature) > SIGNATURE_LIMIT:
        return f"Keep the signature to {SIGNATURE_LIMIT} characters."
    if signature.count("\n") >= SIGNATURE_LINES:
        return f"Keep the signature to {SIGNATURE_LINES} lines."
    return None


def review_link_error(url: str) -> str | None:
    """Why `url` is not a public review page's address (https, a host, no spaces), or None."""
    parts = urlsplit(url)
    if len(url) > REVIEW_LINK_LIMIT:
        return f"keep the review link to {REVIEW_LINK_LIMIT} characters"
    if parts.scheme != "https" or not parts.hostname or any(ch.isspace() for ch in url):
        return f"expected an https:// address like https://www.trustpilot.com/…, got {url[:80]!r}"
    return None


def check_profile(form: ProfileForm) -> Errors:
    errors: Errors = {}
    if form.phone:
        error = phone_error(form.phone)
        if error:
            errors["phone"] = error
    if form.signature:
        error = signature_error(form.signature)
        if error:
            errors["signature"] = error
    return errors


def _apply(
    session: Session, agent: Agent, form: ProfileForm, *, actor: str, surface: str, now: datetime
) -> list[str]:
    """Store the form's values on `agent` and audit which changed (not the values: the audit
    log is read more widely than the roster); the names of the fields changed."""
    changed: list[str] = []
    for name, value in (("phone", form.phone), ("signature", form.signature)):
        if value is None:
            continue
        new = value.strip() or None
        if getattr(agent, name) != new:
            setattr(agent, name, new)
            changed.append(name)
    if changed:
        store.audit(
            session,
            at=now,
            actor=actor,
            surface=surface,
            entity="agent",
            entity_id=agent.id,
            action="profile_set",
            detail={"fields": changed},
        )
    return changed


def profile_modal(phone: str | None, signature: str | None) -> View:
    """`/followup profile`: the agent's own direct phone and signature, as drafts use them."""
    return View(
        type="modal",
        callback_id=ids.VIEW_PROFILE,
        title="Your follow-up details",
        submit="Save",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=ids.PROFILE_PHONE,
                label="Your direct phone number",
                optional=True,
                hint="Call scripts and drafts give customers this number to reach you. "
                "Leave it empty to remove it.",
                element=PlainTextInputElement(
                    action_id=ids.PROFILE_PHONE_INPUT,
                    initial_value=phone or None,
                    placeholder="+44 20 7946 0958",
                    max_length=PHONE_LIMIT,
                ),
            ),
            InputBlock(
                block_id=ids.PROFILE_SIGNATURE,
                label="Your signature",
                optional=True,
                hint="Ends your email drafts, e.g. your name, role and team. "
                f"Up to {SIGNATURE_LINES} lines.",
                element=PlainTextInputElement(
                    action_id=ids.PROFILE_SIGNATURE_INPUT,
                    initial_value=signature or None,
                    multiline=True,
                    max_length=SIGNATURE_LIMIT,
                ),
            ),
        ],
    )


def profile_command(call: Invocation) -> Reply | None:
    """`/followup profile`: open the modal with the caller's own settings."""
    agent = known_caller(call.deps, call.user_id)
    if agent is None:
        return Reply(text=UNKNOWN_CALLER)
    if not call.trigger_id:
        return Reply(text="I could not open the form: Slack sent no trigger. Try again.")
    view = profile_modal(agent.phone, agent.signature)
    try:
        call.deps.client.views_open(trigger_id=call.trigger_id, view=view.to_dict())
    except SlackApiError as error:
        return Reply(text=f"I could not open the form ({error.response.get('error')}).")
    return None


def save_profile(deps: Deps, slack_user_id: str, form: ProfileForm) -> Errors:
    """Validate and store the submitter's own profile; the form's errors (empty when saved)."""
    errors = check_profile(form)
    if errors:
        return errors
    with deps.session_factory.begin() as session:
        agent = roster_store.by_slack_id(session, slack_user_id)
        if agent is None:
            return {"phone": UNKNOWN_CALLER}
        _apply(session, agent, form, actor=slack_user_id, surface="profile", now=deps.clock.now())
    return {}


def set_agent(deps: Deps, who: str, form: ProfileForm, *, actor: str) -> list[str]:
    """`followup agents set`: store anyone's phone and signature; the fields changed. Raises
    AgentError naming a bad value or an unknown user."""
    errors = check_profile(form)
    if errors:
        raise AgentError("; ".join(f"--{name}: {text}" for name, text in errors.items()))
    found = person(deps, who)
    with deps.session_factory.begin() as session:
        agent = session.get(Agent, found.id)
        assert agent is not None
        return _apply(session, agent, form, actor=actor, surface="cli", now=deps.clock.now())


def set_review_link(session: Session, team: Team, url: str, *, actor: str, now: datetime) -> None:
    """Store a team's public review link ("" clears it), audited; the caller checked it with
    `review_link_error`."""
    new = url.strip() or None
    if team.review_link == new:
        return
    team.review_link = new
    store.audit(
        session,
        at=now,
        actor=actor,
        surface="cli",
        entity="team",
        entity_id=team.id,
        action="review_link_set",
        detail={"review_link": new},
    )
