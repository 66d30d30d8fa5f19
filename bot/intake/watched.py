"""Watched channels: a helpdesk's own Slack app posting "ticket solved" turns into a case.

Recognised: "<Ticket|Case|Conversation> #<id> (was) solved|resolved|closed by <@U…> (or an
email): <subject>". Anything else, our own messages and edits are ignored, and so is every
message that does not come from a bot or app id listed for its channel in WATCHED_CHANNELS:
anyone can type "Ticket #1 solved by victim@…", only the helpdesk's app may mean it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from bot.cases import CaseError, ClosedCase
from bot.deps import Deps
from bot.intake.accept import accept_case
from db import cases as store

log = logging.getLogger("followup.watched")

SOLVED = re.compile(
    r"(?i)\b(?:ticket|case|conversation|issue)\s+#?(?P<id>[A-Za-z0-9_-]{1,64})\s+"
    r"(?:was\s+|has\s+been\s+)?(?:solved|resolved|closed)\b"
    r"(?:\s+by\s+(?:<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>|<mailto:(?P<email>[^|>]+)(?:\|[^>]*)?>"
    r"|(?P<plain>[^\s:]+@[^\s:]+)))?"
    r"\s*[:\-–]\s*(?P<subject>.+)",
    re.DOTALL,
)
IGNORED_SUBTYPES = {
    "message_changed",
    "message_deleted",
    "channel_join",
    "channel_leave",
    "bot_add",
    "bot_remove",
    "thread_broadcast",
}


_warned: set[str] = set()
_warned_lock = threading.Lock()


def trusted_sender(deps: Deps, event: dict[str, Any]) -> bool:
    """Whether `event` was posted by a bot or app listed for its channel."""
    allowed = deps.settings.watched_channels.get(str(event.get("channel", "")))
    if not allowed:
        return False
    profile = event.get("bot_profile") if isinstance(event.get("bot_profile"), dict) else {}
    senders = {event.get("bot_id"), event.get("app_id"), (profile or {}).get("app_id")}
    return bool(allowed & {s for s in senders if isinstance(s, str)})


def _ignore_untrusted(channel: str) -> None:
    """One warning per channel (not per message) for "solved" posts from untrusted senders."""
    with _warned_lock:
        if channel in _warned:
            return
        _warned.add(channel)
    log.warning(
        'channel %s: a "ticket solved" message from a sender not listed for it in '
        "WATCHED_CHANNELS was ignored (further ones in this channel are ignored silently)",
        channel[:40],
    )


def parse_solved(text: str, channel: str, ts: str) -> ClosedCase | None:
    """A closed case from a "ticket solved" message, or None when it is something else."""
    from datetime import UTC, datetime

    match = SOLVED.search(text or "")
    if match is None:
        return None
    owner_slack, owner_email = match["user"], match["email"] or match["plain"]
    if not owner_slack and not owner_email:
        return None
    subject = (match["subject"].strip().splitlines() or [""])[0][:500]  # blank subject: no case
    try:
        return ClosedCase(
            source=f"slack:{channel}"[:40],
            external_id=match["id"],
            subject=subject,
            closed_at=datetime.fromtimestamp(float(ts), UTC),
            owner_slack_id=owner_slack,
            owner_email=owner_email,
        )
    except CaseError:
        return None


def receive_channel_message(
    deps: Deps,
    *,
    event: dict[str, Any],
    event_id: str | None,
    own_bot_id: str | None,
    own_user_id: str | None,
) -> None:
    """Store the case a watched-channel message announces; each Slack event id once."""

    if event.get("subtype") in IGNORED_SUBTYPES:
        return
    if own_bot_id and event.get("bot_id") == own_bot_id:
        return
    if own_user_id and event.get("user") == own_user_id:
        return
    if event.get("channel_type") == "im":
        return
    closed = parse_solved(event.get("text", ""), event.get("channel", ""), event.get("ts", "0"))
    if closed is None:
        return
    if not trusted_sender(deps, event):
        _ignore_untrusted(str(event.get("channel", "")))
        return
    with deps.session_factory.begin() as session:
        # Recorded with the case, in one unit: a retry whose original never arrived is stored.
        if event_id and not store.record_delivery(
            session, "slack-event", event_id, deps.clock.now()
        ):
            return
        accept_case(
            session, deps, closed, actor=f"slack:{event.get('user', 'bot')}", surface="channel"
        )
