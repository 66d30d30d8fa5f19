"""`SlackDriver`: sends the bot requests exactly as Slack would: signed HTTP or Socket Mode.

In HTTP mode every request is a signed POST to the bot's `/slack/events`. In Socket Mode the
same payloads go out as envelopes over the connection the bot opened to the sandbox
(`slash_commands`, `interactive`, `events_api`), and the bot's acknowledgement comes back as a
`DriverResponse` with status 200 and the acknowledgement's payload as the JSON body, so a test
reads both modes the same way.
"""

from __future__ import annotations

import copy
import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.sandbox.payloads import (
    VERIFICATION_TOKEN,
    button_action,
    element_value,
    event_envelope,
    filled_state,
    find_element,
    initial_state,
    sign,
    user_ref,
)
from bot.sandbox.webapi import SlackSandbox

_SIGNING_OPTIONS = ("timestamp", "signature", "unsigned", "retry_num", "retry_reason")
MODES = ("http", "socket")
# Interactions whose acknowledgement may carry an answer (Slack's `accepts_response_payload`).
_ANSWERABLE = frozenset({"view_submission", "block_suggestion"})


@dataclass
class DriverResponse:
    """What the bot answered."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body.strip() else None


class SlackDriver:
    """Delivers slash commands, interactions and events to the bot, over HTTP or Socket Mode."""

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        timeout: float = 10.0,
        *,
        mode: str = "http",
    ) -> None:
        """`mode="socket"` pushes envelopes through `sandbox.socket_mode`; URL and secret unused."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.sandbox = sandbox
        self.timeout = timeout
        self.mode = mode
        self._sequence = 0

    @classmethod
    def over_socket(cls, sandbox: SlackSandbox, timeout: float = 10.0) -> SlackDriver:
        """A driver for a bot in Socket Mode, connected to `sandbox`."""
        return cls("", "", sandbox, timeout, mode="socket")

    # -- transport -------------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | str | None = None,
        signature: str | None = None,
        unsigned: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> DriverResponse:
        """POST a raw body, signed as Slack signs it unless told not to; never raises on 4xx/5xx."""
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if not unsigned:
            stamp = str(int(time.time()) if timestamp is None else timestamp)
            headers["X-Slack-Request-Timestamp"] = stamp
            headers["X-Slack-Signature"] = signature or sign(self.signing_secret, stamp, body)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        url = urlsplit(self.events_url)
        connection = http.client.HTTPConnection(
            url.hostname or "127.0.0.1", url.port, timeout=self.timeout
        )
        try:
            connection.request("POST", url.path or "/", body=body.encode(), headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            return DriverResponse(answer.status, text, dict(answer.getheaders()))
        finally:
            connection.close()

    def post_form(self, fields: dict[str, Any], **options: Any) -> DriverResponse:
        """POST form-encoded fields (a slash command; in Socket Mode its envelope)."""
        if self.mode == "socket":
            return self.push("slash_commands", dict(fields), True, **options)
        return self.post(urlencode(fields), "application/x-www-form-urlencoded", **options)

    def post_payload(self, payload: dict[str, Any], **options: Any) -> DriverResponse:
        """POST an interaction payload as `payload=<json>`, the way Slack sends interactivity."""
        if self.mode == "socket":
            answerable = payload.get("type") in _ANSWERABLE
            return self.push("interactive", payload, answerable, **options)
        return self.post_form({"payload": json.dumps(payload)}, **options)

    def post_json(self, body: dict[str, Any], **options: Any) -> DriverResponse:
        """POST a JSON body, as the Events API does."""
        if self.mode == "socket":
            if body.get("type") == "url_verification":
                raise ValueError("Socket Mode has no Request URL to verify")
            return self.push("events_api", body, False, **options)
        return self.post(json.dumps(body), "application/json", **options)

    def push(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        accepts_response_payload: bool = False,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        **signing: Any,
    ) -> DriverResponse:
        """Send one Socket Mode envelope and wait for the bot's acknowledgement.

        Raises `EnvelopeNotAcknowledged` (a TimeoutError) when none comes within `timeout`, as
        the HTTP transport raises when the bot does not answer.
        """
        if signing:
            raise ValueError(f"{sorted(signing)} apply to signed HTTP requests, not Socket Mode")
        ack = self.sandbox.socket_mode.deliver(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_num or 0,
            retry_reason=retry_reason or ("" if retry_num is None else "timeout"),
            timeout=self.timeout,
        )
        answer = ack.get("payload")
        if answer is None:
            return DriverResponse(200, "")
        return DriverResponse(200, json.dumps(answer), {"Content-Type": "application/json"})

    # -- slash commands --------------------------------------------------------------------

    def command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/followup",
        channel_id: str | None = None,
        **kw: Any,
    ) -> DriverResponse:
        """A slash command; `kw` overrides form fields or sets signing options."""
        options = {key: kw.pop(key) for key in _SIGNING_OPTIONS if key in kw}
        user = self.sandbox.user(user_id)
        channel_id = channel_id or self.sandbox.im_channel(user_id)
        channel = self.sandbox.channel(channel_id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.sandbox.team_id,
            "team_domain": self.sandbox.team_domain,
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel.get("is_im") else channel.get("name", ""),
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.sandbox.app_id,
            "is_enterprise_install": "false",
            "response_url": self.sandbox.new_response_url(user_id, channel_id),
            "trigger_id": self.sandbox.new_trigger_id(user_id),
        }
        fields.update({key: str(value) for key, value in kw.items()})
        return self.post_form(fields, **options)

    # -- interactivity ---------------------------------------------------------------------

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: Any = None,
        *,
        block_id: str | None = None,
        container: str = "message",
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        selected_option: dict[str, Any] | None = None,
        selected_date: str | None = None,
        action_type: str = "button",
        **options: Any,
    ) -> DriverResponse:
        """A block_actions interaction from a message (by channel+ts or dict) or a view."""
        user = self.sandbox.user(user_id)
        blocks: list[dict[str, Any]] = []
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": user_ref(user),
            "api_app_id": self.sandbox.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {},
            "trigger_id": self.sandbox.new_trigger_id(user_id),
            "team": {"id": self.sandbox.team_id, "domain": self.sandbox.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if container == "view":
            shown = self.sandbox.view(view) if isinstance(view, str) else copy.deepcopy(view or {})
            blocks = shown.get("blocks", [])
            payload["container"] = {"type": "view", "view_id": shown.get("id")}
            payload["view"] = shown
        else:
            if message is None:
                if channel_id is None or message_ts is None:
                    raise ValueError("a message action needs message= or channel_id and message_ts")
                message = self.sandbox.message(channel_id, message_ts)
            channel_id = channel_id or message.get("channel")
            if channel_id is None:
                raise ValueError("a message action needs channel_id")
            shown_message = {k: v for k, v in message.items() if k != "metadata"}
            blocks = shown_message.get("blocks", [])
            channel = self.sandbox.channel(channel_id)
            payload["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            payload["channel"] = {
                "id": channel_id,
                "name": "directmessage" if channel.get("is_im") else channel.get("name", ""),
            }
            payload["message"] = shown_message
            payload["state"] = {"values": initial_state(blocks)}
            payload["response_url"] = self.sandbox.new_response_url(
                user_id, channel_id, message["ts"]
            )
        payload["actions"] = [
            self._action(
                blocks, action_id, value, block_id, action_type, selected_option, selected_date
            )
        ]
        return self.post_payload(payload, **options)

    def block_action_from_message(
        self, user_id: str, channel: str, ts: str, action_id: str, value: Any = None, **options: Any
    ) -> DriverResponse:
        """Click the element `action_id` in a message the bot posted; LookupError if absent."""
        message = self.sandbox.message(channel, ts)
        found = find_element(message.get("blocks") or [], action_id)
        if found is None:
            raise LookupError(
                f"message {ts} in {channel} has no element with action_id {action_id!r}"
            )
        block_id, element = found
        channel_id = self.sandbox.resolve_channel(channel)
        return self.block_action(
            user_id,
            action_id,
            value,
            block_id=block_id,
            message=message,
            channel_id=channel_id,
            action_type=str(element.get("type", "button")),
            **options,
        )

    def view_submission(
        self, user_id: str, view: dict[str, Any], values: dict[str, Any], **options: Any
    ) -> DriverResponse:
        """A view_submission of `view` with the user's `values` (see `payloads.filled_state`)."""
        submitted = copy.deepcopy(view)
        submitted["state"] = {"values": filled_state(view.get("blocks") or [], values)}
        payload = {
            "type": "view_submission",
            "team": {"id": self.sandbox.team_id, "domain": self.sandbox.team_domain},
            "user": user_ref(self.sandbox.user(user_id)),
            "api_app_id": self.sandbox.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.sandbox.new_trigger_id(user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.post_payload(payload, **options)

    def submit_view(
        self,
        user_id: str,
        view_id_or_view: str | dict[str, Any],
        values: dict[str, Any],
        **options: Any,
    ) -> DriverResponse:
        """Submit a modal the sandbox recorded, then apply the bot's answer to the modal stack."""
        view = self._view(view_id_or_view)
        response = self.view_submission(user_id, view, values, **options)
        if view.get("id") and response.status == 200:
            self.sandbox.set_view_state(view["id"], filled_state(view.get("blocks") or [], values))
            answer = response.json() if "json" in response.headers.get("Content-Type", "") else None
            self.sandbox.apply_view_answer(view["id"], answer if isinstance(answer, dict) else None)
        return response

    def view_closed(
        self,
        user_id: str,
        view_id_or_view: str | dict[str, Any],
        is_cleared: bool = False,
        **options: Any,
    ) -> DriverResponse:
        """The user dismissed a modal (sent only for views with notify_on_close)."""
        view = self._view(view_id_or_view)
        payload = {
            "type": "view_closed",
            "team": {"id": self.sandbox.team_id, "domain": self.sandbox.team_domain},
            "user": user_ref(self.sandbox.user(user_id)),
            "api_app_id": self.sandbox.app_id,
            "token": VERIFICATION_TOKEN,
            "view": view,
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        if view.get("id"):
            self.sandbox.close_view(view["id"])
        return self.post_payload(payload, **options)

    # -- Events API ------------------------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        **options: Any,
    ) -> DriverResponse:
        """An Events API `event_callback` carrying `event`."""
        body = event_envelope(
            event,
            team_id=self.sandbox.team_id,
            api_app_id=self.sandbox.app_id,
            bot_user_id=self.sandbox.bot_user_id,
            event_id=event_id or self._next_event_id(),
            event_time=int(time.time()),
        )
        return self.post_json(body, retry_num=retry_num, **options)

    def url_verification(self, challenge: str, **options: Any) -> DriverResponse:
        """The one-off URL check Slack makes when the Request URL is saved."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post_json(body, **options)

    def app_home_opened(self, user_id: str, tab: str = "home", **options: Any) -> DriverResponse:
        """The user opened the app's Home (or Messages) tab."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.sandbox.im_channel(user_id),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        home = self.sandbox.home_view(user_id)
        if home is not None and tab == "home":
            event["view"] = home
        return self.event(event, **options)

    def channel_message(
        self,
        channel_id: str,
        text: str,
        user_id: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        **options: Any,
    ) -> DriverResponse:
        """Someone (a user or an integration's bot) posts in a channel: stored, then delivered."""
        if subtype is None and bot_id is not None and user_id is None:
            subtype = "bot_message"
        fields: dict[str, Any] = {"text": text}
        if subtype is not None:
            fields["subtype"] = subtype
        if user_id is not None:
            fields["user"] = user_id
        if bot_id is not None:
            fields["bot_id"] = bot_id
        stored = self.sandbox.post_as(channel_id, fields)
        channel = self.sandbox.channel(channel_id)
        event = {k: v for k, v in stored.items() if k != "team"}
        if user_id is not None:
            event["team"] = self.sandbox.team_id
        event.update(
            channel=channel_id,
            event_ts=stored["ts"],
            channel_type=_channel_type(channel),
        )
        return self.event(event, **options)

    # -- helpers ---------------------------------------------------------------------------

    def _action(
        self,
        blocks: list[dict[str, Any]],
        action_id: str,
        value: Any,
        block_id: str | None,
        action_type: str,
        selected_option: dict[str, Any] | None,
        selected_date: str | None,
    ) -> dict[str, Any]:
        action_ts = f"{time.time():.6f}"
        found = find_element(blocks, action_id, block_id)
        element = found[1] if found else {"type": action_type, "action_id": action_id}
        block_id = found[0] if found else (block_id or "sandbox_block")
        if element.get("type", action_type) == "button":
            return button_action(element, block_id, action_ts, value)
        chosen: Any = value
        if selected_option is not None:
            chosen = selected_option
        elif selected_date is not None:
            chosen = selected_date
        action = element_value(element, chosen)
        action.update(action_id=action_id, block_id=block_id, action_ts=action_ts)
        return action

    def _view(self, view_id_or_view: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(view_id_or_view, str):
            return self.sandbox.view(view_id_or_view)
        return copy.deepcopy(view_id_or_view)

    def _next_event_id(self) -> str:
        self._sequence += 1
        return f"Ev{int(time.time())}{self._sequence:06d}"


def _channel_type(channel: dict[str, Any]) -> str:
    if channel.get("is_im"):
        return "im"
    return "group" if channel.get("is_private") else "channel"
