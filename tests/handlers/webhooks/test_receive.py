"""Vendor webhooks end to end over HTTP: the bot answers as each helpdesk expects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tests.posting import post_webhook

FRONT_SECRET = "front-app-signing-key"


def front_headers(body: bytes, millis: int, challenge: str | None = None) -> dict[str, str]:
    signed = f"{millis}:".encode() + body
    digest = hmac.new(FRONT_SECRET.encode(), signed, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Front-Request-Timestamp": str(millis),
        "X-Front-Signature": base64.b64encode(digest).decode(),
    }
    if challenge:
        headers["X-Front-Challenge"] = challenge
    return headers


def test_front_saves_its_webhook_only_when_the_challenge_is_echoed(make_bot: Any) -> None:
    bot = make_bot(WEBHOOK_SECRET_FRONT=FRONT_SECRET)
    body = json.dumps({"type": "sync", "authorization": {"id": "cmp_abc"}}).encode()
    millis = int(bot.clock.now().timestamp() * 1000)
    status, reply = post_webhook(
        f"{bot.url}/webhooks/front", body, front_headers(body, millis, challenge="a1b2c3")
    )
    assert (status, reply) == (200, {"challenge": "a1b2c3"})


def test_a_handshake_with_a_wrong_signature_is_refused(make_bot: Any) -> None:
    bot = make_bot(WEBHOOK_SECRET_FRONT=FRONT_SECRET)
    body = json.dumps({"type": "sync"}).encode()
    millis = int(bot.clock.now().timestamp() * 1000)
    headers = front_headers(body, millis, challenge="a1b2c3")
    headers["X-Front-Signature"] = base64.b64encode(b"0" * 32).decode()
    status, reply = post_webhook(f"{bot.url}/webhooks/front", body, headers)
    assert status == 401
    assert "challenge" not in reply


def test_an_unknown_source_is_404_and_a_source_without_secret_401(bot: Any) -> None:
    body = b"{}"
    assert post_webhook(f"{bot.url}/webhooks/nosuchdesk", body, {})[0] == 404
    status, reply = post_webhook(
        f"{bot.url}/webhooks/zendesk", body, {"Content-Type": "application/json"}
    )
    assert status == 401
    assert "WEBHOOK_SECRET_ZENDESK" in reply["error"]


def test_an_oversized_body_is_413_without_reading_it(bot: Any) -> None:
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    status, _ = post_webhook(
        f"{bot.url}/webhooks/generic", body, {"Content-Type": "application/json"}
    )
    assert status == 413


def test_vendor_tags_say_complaint_b2b_and_senior_involvement() -> None:
    from datetime import UTC, datetime

    from bot.cases import ClosedCase, Kind
    from bot.intake.accept import tag_conventions

    closed = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    tagged = ClosedCase(
        source="zendesk",
        external_id="1",
        subject="Refund",
        closed_at=closed,
        owner_email="a@b.c",
        tags=("Complaint", "key_account", "senior"),
    )
    assert (
        tag_conventions(tagged).kind,
        tag_conventions(tagged).b2b,
        tag_conventions(tagged).senior_involved,
    ) == (Kind.COMPLAINT, True, True)
    plain = tagged.replace(tags=("billing",))
    assert tag_conventions(plain) == plain
    generic = tagged.replace(source="generic")
    assert tag_conventions(generic) == generic, "the generic webhook has real fields"
