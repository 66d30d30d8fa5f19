"""The Bolt app factory: one injected WebClient, the dependency middleware, one error handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import Ack, App, BoltResponse
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from slack_sdk.web import SlackResponse

from bot.deps import Deps
from bot.runtime.listener_pool import ListenerPool
from handlers import register

log = logging.getLogger("followup.app")

FRIENDLY_ERROR = (
    ":warning: Sorry, that didn't work on our side. Nothing you did was lost: "
    "please try again in a minute. If it keeps happening, tell whoever runs Followup."
)


class StickyAck(Ack):
    """An `ack` that, once given, stays given.

    Bolt's thread runner (slack-bolt 1.30, `ThreadListenerRunner.run`) sets `ack.response`
    back to None when a listener raises after it acked. The request thread polls for the ack
    every 10 ms, so without this a listener failing within those 10 ms of `ack()` (a database
    outage, a Slack call refused at once) costs the user their acknowledgement: Slack gets
    nothing for 3 s, then a 404 "unhandled request".
    """

    @property
    def response(self) -> BoltResponse | None:
        return self.__dict__.get("_given")

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is None and self.__dict__.get("_given") is not None:
            return
        self.__dict__["_given"] = value


def acks_without_content(body: dict[str, Any]) -> bool:
    """Slash commands and block actions: every listener of ours acks them with nothing, and
    answers later (respond, a DM, a modal). Modal submissions may ack with inline errors and
    are left to their listeners."""
    if not isinstance(body, dict):
        return False
    return body.get("type") == "block_actions" or "command" in body


LISTENER_THREADS = 32


def listener_pool() -> ListenerPool:
    """The threads Bolt runs listeners on (its default pool of 5 queues clicks behind slow
    listeners under load)."""
    return ListenerPool(LISTENER_THREADS)


def build_app(
    deps: Deps,
    *,
    verify_token: bool = True,
    listener_executor: Executor | None = None,
    auth_test: SlackResponse | None = None,
) -> App:
    """A Bolt `App` wired to `deps`, with every listener of `handlers` registered.

    `auth_test` is the answer of an `auth.test` already made: without it (and without
    `verify_token`) Bolt calls `auth.test` on the first request, and if Slack fails that call
    it drops the request and shows the user "please reinstall this app".
    """

    app = App(
        client=deps.client,
        signing_secret=deps.settings.slack_signing_secret or None,
        token_verification_enabled=verify_token,
        # Socket Mode requests are authenticated by the connection, not by a signature.
        request_verification_enabled=not deps.settings.socket_mode,
        listener_executor=listener_executor or listener_pool(),
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("followup.bolt"),
    )

    if auth_test is not None:
        # Bolt keeps its single-workspace authorisation private; it caches this answer.
        for middleware in getattr(app, "_middleware_list", []):
            if isinstance(middleware, SingleTeamAuthorization):
                middleware.auth_test_result = auth_test

    @app.middleware
    def inject_deps(
        context: dict[str, Any], body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        context["deps"] = deps
        # Bolt hands each listener a plain WebClient of its own, built per request with our
        # retry handlers but not our pacing: a 429 would be retried at once, not after its
        # Retry-After. Listeners get the process's one paced client instead.
        context["client"] = deps.client
        ack = context["ack"] = StickyAck()
        if acks_without_content(body):
            # Acknowledged here, in the request thread. Bolt runs a listener (and with it the
            # listener's own ack()) on the listener pool; when earlier requests' work fills that
            # pool, an ack given there waits in its queue and can miss Slack's 3 seconds.
            ack()
        return next()

    @app.error
    def report_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        if isinstance(body, dict) and body.get("response_url"):
            try:
                respond(text=FRIENDLY_ERROR, response_type="ephemeral", replace_original=False)
            except Exception:  # the user already got an ack; a failed apology must not mask it
                log.warning("could not send the error reply", exc_info=True)

    register(app)
    return app
