"""The Bolt app factory: one injected WebClient, the dependency middleware, one error handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse

from bot.deps import Deps

log = logging.getLogger("followup.app")

FRIENDLY_ERROR = (
    ":warning: Sorry, that didn't work on our side. Nothing you did was lost: "
    "please try again in a minute. If it keeps happening, tell whoever runs Followup."
)


def build_app(deps: Deps, *, verify_token: bool = True, listener_threads: int = 32) -> App:
    """A Bolt `App` wired to `deps`, with every listener of `handlers` registered."""
    from handlers import register

    app = App(
        client=deps.client,
        signing_secret=deps.settings.slack_signing_secret or None,
        token_verification_enabled=verify_token,
        # Socket Mode requests are authenticated by the connection, not by a signature.
        request_verification_enabled=not deps.settings.socket_mode,
        # Bolt's default pool of 5 threads queues clicks behind slow listeners under load.
        listener_executor=ThreadPoolExecutor(
            max_workers=listener_threads, thread_name_prefix="listener"
        ),
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("followup.bolt"),
    )

    @app.middleware
    def inject_deps(context: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
        context["deps"] = deps
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
