"""`SlackSandbox`: a local stand-in for Slack's Web API, served over real HTTP."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Collection
from email.message import Message
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any

from bot.sandbox.apiargs import decode_json_fields
from bot.sandbox.chat_methods import CHAT_METHODS
from bot.sandbox.faults import ANY_METHOD, Fault, Faults, RateLimits
from bot.sandbox.file_methods import FILE_METHODS, receive_upload
from bot.sandbox.queries import SandboxQueries
from bot.sandbox.response_urls import receive_response
from bot.sandbox.scopes import DEFAULT_BOT_SCOPES, scope_error
from bot.sandbox.server import Answer, SandboxHTTPServer, parse_api_args, upload_bytes
from bot.sandbox.socket_mode import SocketModeServer
from bot.sandbox.tiers import TierLimits, posted_to
from bot.sandbox.user_methods import USER_METHODS
from bot.sandbox.view_methods import VIEW_METHODS, apply_response_action
from bot.sandbox.workspace import ApiError, RecordedCall, Workspace

Method = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

METHODS: dict[str, Method] = {**CHAT_METHODS, **USER_METHODS, **VIEW_METHODS, **FILE_METHODS}
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
APP_TOKEN_SCOPES = frozenset({"connections:write"})
"""An app-level token for Socket Mode carries `connections:write` (Slack's Socket Mode page)."""
RESPONSE_URL = "response_url"
"""The name under which faults apply to posts to response URLs (not a Web API method)."""


class SlackSandbox(SandboxQueries):
    """A workspace with a bot user, answering Slack Web API calls on 127.0.0.1."""

    def __init__(
        self,
        bot_token: str = "xoxb-sandbox",
        app_token: str = "xapp-sandbox",
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0BOT",
        *,
        team_domain: str = "sandbox",
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tiers: bool = False,
        workspace_posts_per_minute: int | None = None,
        bot_scopes: Collection[str] = DEFAULT_BOT_SCOPES,
    ) -> None:
        """`clock` stamps messages and time zones; `monotonic` times triggers and rate limits.

        `tiers=True` limits every method by Slack's published tier (see `enforce_tiers`).
        `bot_scopes` are the scopes the bot token was granted (see bot/sandbox/scopes.py).
        """
        self.bot_token = bot_token
        self.app_token = app_token
        self._bot_scopes = frozenset(bot_scopes)
        self._lock = threading.RLock()
        self._ws = Workspace(
            team_id=team_id,
            bot_user_id=bot_user_id,
            team_domain=team_domain,
            clock=clock,
            monotonic=monotonic,
        )
        self._calls: list[RecordedCall] = []
        self._monotonic = monotonic
        self._limits = RateLimits(monotonic)
        self._tiers: TierLimits | None = None
        if tiers:
            self.enforce_tiers(workspace_posts_per_minute)
        elif workspace_posts_per_minute is not None:
            raise ValueError("workspace_posts_per_minute needs tiers=True")
        self._faults = Faults()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.socket_mode = SocketModeServer(self._ws.app_id)
        """Socket Mode: the WebSocket URL apps.connections.open hands out, envelopes, faults."""
        self._methods: dict[str, Method] = {
            **METHODS,
            "apps.connections.open": self._apps_connections_open,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackSandbox:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        if self._server is not None:
            return self
        self._server = SandboxHTTPServer(self)
        self._ws.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval keeps stop() quick; shutdown waits for the next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="slack-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self.socket_mode.stop()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` once started."""
        if not self._ws.base_url:
            raise RuntimeError("SlackSandbox is not started")
        return self._ws.base_url

    @property
    def api_url(self) -> str:
        """The Web API base URL for `WebClient(base_url=...)`."""
        return f"{self.base_url}/api/"

    # -- workspace set-up ------------------------------------------------------------------

    @property
    def team_id(self) -> str:
        """The sandbox workspace's team id."""
        return self._ws.team_id

    @property
    def team_domain(self) -> str:
        """The workspace's subdomain, as in `<domain>.slack.com`."""
        return self._ws.team_domain

    @property
    def bot_user_id(self) -> str:
        """The app's bot user id."""
        return self._ws.bot_user_id

    @property
    def bot_id(self) -> str:
        """The app's bot id (`B...`)."""
        return self._ws.bot_id

    @property
    def app_id(self) -> str:
        """The app id (`A...`)."""
        return self._ws.app_id

    @property
    def bot_scopes(self) -> frozenset[str]:
        """The bot token's scopes: sent in `X-OAuth-Scopes`, checked on every call."""
        return self._bot_scopes

    @bot_scopes.setter
    def bot_scopes(self, scopes: Collection[str]) -> None:
        with self._lock:
            self._bot_scopes = frozenset(scopes)

    @property
    def messages_tab_enabled(self) -> bool:
        """Whether the app's Messages tab is on; off makes DMs fail `messages_tab_disabled`."""
        return self._ws.messages_tab_enabled

    @messages_tab_enabled.setter
    def messages_tab_enabled(self, enabled: bool) -> None:
        with self._lock:
            self._ws.messages_tab_enabled = enabled

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/London",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Create or replace a user; return it in `users.info` shape."""
        with self._lock:
            return self._ws.add_user(
                user_id,
                name=name,
                real_name=real_name,
                email=email,
                tz=tz,
                is_bot=is_bot,
                deleted=deleted,
            )

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: list[str] | None = None,
        bot_is_member: bool = True,
    ) -> dict[str, Any]:
        """Create or replace a channel; return it in `conversations.info` shape.

        `bot_is_member=False` is a channel nobody has invited the bot to.
        """
        with self._lock:
            return self._ws.add_channel(
                channel_id,
                name,
                is_private=is_private,
                members=members,
                bot_is_member=bot_is_member,
            )

    def deactivate_user(self, user_id: str) -> dict[str, Any]:
        """Deactivate a user: still in users.list (deleted), no longer found by email."""
        with self._lock:
            return self._ws.deactivate_user(user_id)

    def user(self, user_id: str) -> dict[str, Any]:
        """A user in `users.info` shape."""
        with self._lock:
            return self._ws.user_object(user_id)

    def channel(self, channel_id: str) -> dict[str, Any]:
        """A conversation object (channels and IMs)."""
        with self._lock:
            return copy.deepcopy(self._ws.channels[channel_id])

    def resolve_channel(self, channel: str) -> str:
        """A conversation id from an id, a user id (their IM) or a name; KeyError if none."""
        with self._lock:
            try:
                return self._ws.resolve_channel(channel)
            except ApiError:
                raise KeyError(channel) from None

    def im_channel(self, user_id: str) -> str:
        """The IM channel id with `user_id`, opening it if needed."""
        with self._lock:
            return self._ws.open_im(user_id)

    # -- faults and limits -----------------------------------------------------------------

    def rate_limit(self, method: str, per_second: float, burst: int = 1) -> None:
        """Answer `method` with HTTP 429 and `Retry-After` beyond a token bucket's rate."""
        with self._lock:
            self._limits.set(method, per_second, burst)

    def enforce_tiers(
        self, workspace_posts_per_minute: int | None = None, *, channel_post_burst: int = 1
    ) -> None:
        """Limit every method to its Slack tier, chat.postMessage to one a second per channel.

        Buckets start full; see bot/sandbox/tiers.py for the numbers and their sources.
        `workspace_posts_per_minute` adds Slack's unpublished workspace-wide cap on posts.
        """
        with self._lock:
            self._tiers = TierLimits(
                self._monotonic,
                workspace_posts_per_minute=workspace_posts_per_minute,
                channel_post_burst=channel_post_burst,
            )

    def clear_rate_limits(self) -> None:
        """Remove every rate limit, tiers included."""
        with self._lock:
            self._limits.clear()
            self._tiers = None

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int | None = 500,
        error: str | None = "internal_error",
        delay: float = 0.0,
        *,
        retry_after: int = 1,
        after: bool = False,
    ) -> None:
        """Fail the next `times` calls of `method`; status None answers 200 with the error.

        `error=None` with a delay makes a slow call that then succeeds. `after=True` carries
        the call out (the message is posted) and then answers the failure, after the delay.
        `method` may be `RESPONSE_URL` for posts to response URLs.
        """
        with self._lock:
            self._faults.add(method, Fault(status, error, delay, retry_after, after), times)

    def fail_every(
        self,
        method: str = ANY_METHOD,
        every: int = 2,
        status: int | None = 429,
        error: str | None = "ratelimited",
        delay: float = 0.0,
        *,
        retry_after: int = 1,
        after: bool = False,
    ) -> None:
        """Fail one call in `every` of `method`, from the next one on, until `clear_faults`.

        The default method `"*"` means every Web API method, each counted on its own: with
        `every=2` half the calls of each method fail, alternately. Queued `fail_next` faults
        come first. The other arguments are `fail_next`'s.
        """
        with self._lock:
            self._faults.add_every(method, Fault(status, error, delay, retry_after, after), every)

    def clear_faults(self) -> None:
        """Drop queued failures."""
        with self._lock:
            self._faults.clear()

    # -- interaction plumbing --------------------------------------------------------------

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger id for `user_id`, usable once within 3 seconds."""
        with self._lock:
            return self._ws.new_trigger(user_id)

    def new_response_url(
        self, user_id: str, channel_id: str | None, message_ts: str | None = None
    ) -> str:
        """A response_url answering on the sandbox, tied to a user, channel and message."""
        with self._lock:
            return self._ws.new_response_url(user_id, channel_id, message_ts)

    def post_as(self, channel: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a message someone else posted (a user, an integration); return it with its ts."""
        with self._lock:
            channel_id = self._ws.resolve_channel(channel)
            return copy.deepcopy(self._ws.append_message(channel_id, dict(fields)))

    def close_view(self, view_id: str) -> None:
        """Mark a modal closed, as when the user dismisses it."""
        with self._lock:
            record = self._ws.views.get(view_id)
            if record is not None:
                record.closed = True

    def apply_view_answer(self, view_id: str, answer: dict[str, Any] | None) -> None:
        """Apply an app's answer to a view_submission (close, errors, update, push, clear)."""
        with self._lock:
            apply_response_action(self._ws, view_id, answer)

    def set_view_state(self, view_id: str, values: dict[str, Any]) -> None:
        """Record what the user entered in a view, as Slack keeps it in `state.values`."""
        with self._lock:
            self._ws.views[view_id].view["state"] = {"values": copy.deepcopy(values)}

    # -- HTTP ------------------------------------------------------------------------------

    def route(self, verb: str, path: str, headers: Message, body: bytes) -> Answer:
        """Answer one HTTP request (called from the server's handler threads)."""
        route = path.split("?", 1)[0]
        if route.startswith("/api/"):
            try:
                args = decode_json_fields(parse_api_args(path, headers, body))
            except (ValueError, UnicodeDecodeError):
                return Answer(200, {"ok": False, "error": "invalid_json"})
            token = _bearer(headers) or args.get("token")
            answer = self.call(route.removeprefix("/api/"), args, token)
            scopes = self._token_scopes(token)
            if scopes is not None:  # on every answer, a refusal too (bot/sandbox/scopes.py)
                answer.headers["X-OAuth-Scopes"] = ",".join(sorted(scopes))
            return answer
        if route.startswith("/upload/v1/") and verb == "POST":
            content = upload_bytes(headers, body)
            with self._lock:
                found = receive_upload(self._ws, route.rsplit("/", 1)[1], content)
            return Answer(200, f"OK - {len(content)}") if found else Answer(404, "Not Found")
        if route.startswith("/response/") and verb == "POST":
            return self._respond(route.rsplit("/", 1)[1], body)
        return Answer(404, "Not Found")

    def upgrade(self, handler: BaseHTTPRequestHandler) -> None:
        """A WebSocket request: the Socket Mode connection (served on the handler's thread)."""
        self.socket_mode.serve(handler)

    def call(self, method: str, args: dict[str, Any], token: str | None) -> Answer:
        """Run one Web API method with Slack's auth, limits and injected faults."""
        args = dict(args)
        token = token or args.pop("token", None)
        args.pop("token", None)
        answer = self._answer(method, args, token)
        with self._lock:
            self._calls.append(
                RecordedCall(
                    method=method,
                    args=args,
                    response=copy.deepcopy(answer.body) if isinstance(answer.body, dict) else {},
                    status=answer.status,
                    time=time.monotonic(),
                    token=token,
                )
            )
        return answer

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> Answer:
        handler = self._methods.get(method)
        if handler is None:
            return Answer(404, {"ok": False, "error": "unknown_method", "req_method": method})
        with self._lock:
            fault = self._faults.pop(method)
        if fault is not None and not fault.after:
            # Sleep outside the lock so a slow call does not stall the others.
            time.sleep(fault.delay)
            if fault.error is not None:
                return _fault_answer(fault)
        answer = self._carry_out(method, handler, args, token)
        if fault is not None and fault.after:
            time.sleep(fault.delay)
            if fault.error is not None:
                return _fault_answer(fault)
        return answer

    def _carry_out(
        self, method: str, handler: Method, args: dict[str, Any], token: str | None
    ) -> Answer:
        with self._lock:
            retry_after = self._limits.retry_after(method)
            if retry_after is None and self._tiers is not None:
                channel = posted_to(self._ws, args) if self._tiers.per_channel(method) else None
                retry_after = self._tiers.retry_after(method, channel)
        if retry_after is not None:
            return Answer(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
            )
        auth_error = self._auth_error(method, token)
        if auth_error is not None:
            return Answer(200, {"ok": False, "error": auth_error})
        with self._lock:
            missing = None
            if token == self.bot_token:
                missing = scope_error(self._ws, method, args, self._bot_scopes)
            if missing is not None:
                return Answer(200, missing.body())
            try:
                # Copy while locked: the body is serialised after the lock is released.
                return Answer(200, copy.deepcopy(handler(self._ws, args)))
            except ApiError as error:
                return Answer(200, error.body())

    def _apps_connections_open(self, ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
        """apps.connections.open: a single-use WebSocket URL served by this sandbox."""
        return {"ok": True, "url": self.socket_mode.open_url(ws.base_url)}

    def _token_scopes(self, token: str | None) -> frozenset[str] | None:
        """The scopes Slack reports for a valid token; None for a missing or unknown one."""
        if token == self.bot_token:
            return self._bot_scopes
        if token == self.app_token:
            return APP_TOKEN_SCOPES
        return None

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token not in (self.bot_token, self.app_token):
            return "invalid_auth"
        wants_app_token = method in APP_TOKEN_METHODS
        if (token == self.app_token) != wants_app_token:
            return "not_allowed_token_type"
        return None

    def _respond(self, url_id: str, body: bytes) -> Answer:
        try:
            payload = json.loads(body.decode("utf-8") or "{}")
        except ValueError:
            return Answer(400, "invalid_payload")
        if not isinstance(payload, dict):
            return Answer(400, "invalid_payload")
        with self._lock:
            fault = self._faults.pop(RESPONSE_URL, web_api=False)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.error is not None:
                return Answer(fault.status or 500, fault.error)
        with self._lock:
            try:
                found = receive_response(self._ws, url_id, payload, time.monotonic())
            except ApiError as error:  # blocks Slack refuses: 400 and the error, as a webhook
                return Answer(400, error.error)
        if not found:
            return Answer(404, "no_active_hooks")
        return Answer(200, {"ok": True})


def _fault_answer(fault: Fault) -> Answer:
    status = fault.status or 200
    headers = {"Retry-After": str(fault.retry_after)} if status == 429 else {}
    return Answer(status, {"ok": False, "error": fault.error}, headers)


def _bearer(headers: Message) -> str | None:
    value = headers.get("Authorization") or ""
    if not value.lower().startswith("bearer "):
        return None
    return value[len("bearer ") :].strip() or None
