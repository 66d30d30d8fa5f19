"""Posting a case to the bot under test over HTTP, as a helpdesk does: one JSON webhook body,
signed or not, and the bot's answer back whatever its status.

`post_webhook` sends a body already made and signed (any vendor's way); `post_generic` makes,
signs and sends one for the generic webhook. `BotUnderTest.post_generic` (tests/conftest.py)
is the latter for the `bot` fixtures.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

GENERIC_SECRET = "generic-webhook-secret"
"""WEBHOOK_SECRET_GENERIC of the bot the conftest fixtures start."""

TIMEOUT = 10.0
"""Generous: past this the bot is stuck, and the test fails rather than waiting forever."""


def post_webhook(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT
) -> tuple[int, dict[str, Any]]:
    """POST `body` with `headers` to `url`; return (status, the JSON answer), a 4xx or 5xx
    included. An answer that is not JSON (a bare 500) comes back as {"error": its text}."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"error": raw.decode(errors="replace")}


def post_generic(
    bot: Any, payload: dict[str, Any], *, secret: str = GENERIC_SECRET
) -> tuple[int, dict[str, Any]]:
    """`payload` through the bot's signed generic webhook, stamped with the bot's clock.
    `bot` is anything with `url` (http://host:port) and `clock`."""
    from handlers.webhooks.generic import sign_generic

    body = json.dumps(payload).encode()
    headers = sign_generic(secret, body, bot.clock.now())
    return post_webhook(f"{bot.url}/webhooks/generic", body, headers)
