"""Slack's published Web API rate limits: each method's tier, and the buckets that enforce them.

Every number is the floor Slack documents ("20+ per minute"): Slack promises at least that
much, so an app that stays inside the sandbox's limits stays inside Slack's.

- Tiers, windows, bursts and the 429 answer: https://docs.slack.dev/apis/web-api/rate-limits
- A method's tier: the "Facts" of its page, https://docs.slack.dev/reference/methods/<method>
  (also at https://api.slack.com/methods/<method>).

Bursts. Slack does not publish burst sizes ("Slack does not share precise burst limits
externally"), but it evaluates calls "per method, per workspace" and its "rate limit windows
are per minute". So a tier's bucket holds one minute's allowance and refills at the tier's
rate: Tier 2 takes 20 calls at once, then one more every 3 seconds.

chat.postMessage is special: "one message per second per channel, while also maintaining a
workspace-wide limit". Bursts over one a second are tolerated, but "there is no guarantee that
messages will be stored or displayed", so a channel's bucket holds one post unless told
otherwise. The workspace-wide limit is not published, so it is a parameter, off by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.faults import TokenBucket, retry_after_seconds
from bot.sandbox.workspace import ApiError, Workspace


@dataclass(frozen=True)
class Tier:
    """A rate limit tier: calls per minute, per method (or, `per_channel`, per conversation)."""

    name: str
    per_minute: int
    per_channel: bool = False

    def bucket(self, now: float) -> TokenBucket:
        """A full bucket with one minute's allowance, refilled at the tier's rate."""
        return TokenBucket.full(self.per_minute / 60, self.per_minute, now)


# https://docs.slack.dev/apis/web-api/rate-limits, "Overview".
TIER_1 = Tier("Tier 1", 1)  # "1+ per minute ... A small amount of burst behavior is tolerated."
TIER_2 = Tier("Tier 2", 20)  # "20+ per minute ... occasional bursts of more requests."
TIER_3 = Tier("Tier 3", 50)  # "50+ per minute ... Sporadic bursts are welcome."
TIER_4 = Tier("Tier 4", 100)  # "100+ per minute ... generous burst behavior."
HUNDREDS = Tier("Special: hundreds per minute", 200)
"""auth.test and chat.getPermalink: "This method allows hundreds of requests per minute";
the least that "hundreds" can mean is two hundred."""
ONE_PER_SECOND_PER_CHANNEL = Tier("Special: 1 per second per channel", 60, per_channel=True)
"""chat.postMessage: "no more than one message per second per channel" ("Limits when posting
messages", https://docs.slack.dev/apis/web-api/rate-limits)."""

REFERENCE = "https://docs.slack.dev/reference/methods/"

METHOD_TIERS: Mapping[str, Tier] = {
    # Each from the "Facts" of REFERENCE + method, unless noted.
    "auth.test": HUNDREDS,  # "allows hundreds of requests per minute"
    "chat.postMessage": ONE_PER_SECOND_PER_CHANNEL,  # special, see above
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": HUNDREDS,  # special: "allows hundreds of requests per minute"
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    # Tier 3 for internal and Marketplace apps; commercially distributed non-Marketplace apps
    # get 1 per minute and at most 15 messages a page (changelog 2025-05-29).
    "conversations.history": TIER_3,
    "users.info": TIER_4,
    "users.list": TIER_2,
    "users.lookupByEmail": TIER_3,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "apps.connections.open": TIER_1,
}
"""The tier of every Web API method the sandbox serves."""


class TierLimits:
    """A bucket per method by its tier; chat.postMessage per channel and per workspace.

    Methods missing from the table are not limited.
    """

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        workspace_posts_per_minute: int | None = None,
        channel_post_burst: int = 1,
        tiers: Mapping[str, Tier] = METHOD_TIERS,
    ) -> None:
        """`workspace_posts_per_minute` caps chat.postMessage across all channels (None: no
        cap, as Slack does not publish it); `channel_post_burst` posts a channel takes at once."""
        if workspace_posts_per_minute is not None and workspace_posts_per_minute < 1:
            raise ValueError("workspace_posts_per_minute must be >= 1")
        if channel_post_burst < 1:
            raise ValueError("channel_post_burst must be >= 1")
        self._monotonic = monotonic
        self._tiers = tiers
        self._channel_post_burst = channel_post_burst
        self._methods: dict[str, TokenBucket] = {}
        self._channels: dict[str, TokenBucket] = {}
        self._workspace = (
            None
            if workspace_posts_per_minute is None
            else Tier("Workspace posts", workspace_posts_per_minute).bucket(monotonic())
        )

    def per_channel(self, method: str) -> bool:
        """Whether `method` is limited per conversation, so its channel must be passed."""
        tier = self._tiers.get(method)
        return tier is not None and tier.per_channel

    def retry_after(self, method: str, channel: str | None = None) -> int | None:
        """None when the call may go ahead (and is counted), else whole seconds to wait.

        `channel` is the conversation id a per-channel method posts to.
        """
        tier = self._tiers.get(method)
        if tier is None:
            return None
        now = self._monotonic()
        if tier.per_channel:
            buckets = [self._channel_bucket(tier, channel or "", now)]
            if self._workspace is not None:
                buckets.append(self._workspace)
        else:
            if method not in self._methods:
                self._methods[method] = tier.bucket(now)
            buckets = [self._methods[method]]
        # Take from every bucket or none: a post refused for the workspace keeps its channel's turn.
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            return retry_after_seconds(wait)
        for bucket in buckets:
            bucket.take(now)
        return None

    def _channel_bucket(self, tier: Tier, channel: str, now: float) -> TokenBucket:
        if channel not in self._channels:
            per_second = tier.per_minute / 60
            self._channels[channel] = TokenBucket.full(per_second, self._channel_post_burst, now)
        return self._channels[channel]


def posted_to(ws: Workspace, args: dict[str, Any]) -> str:
    """The conversation a post's `channel` names: a user id counts as their IM (resolving opens
    it, as the post itself would); a channel that does not resolve counts as itself."""
    channel = args.get("channel")
    try:
        return ws.resolve_channel(channel)
    except ApiError:
        return str(channel or "")
