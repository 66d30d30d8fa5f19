"""`generic`: the JSON and HMAC signature documented in docs/helpdesks.md."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from webhook_payloads import AGENT, CUSTOMER, SUBJECT, generic
from webhook_testkit import NOW, accept, refuse, signed

from bot.cases import Channel, Event, Kind, Severity
from handlers.webhooks import sign_generic


def test_full_payload_maps_every_field() -> None:
    case = accept(signed("generic", generic())).cases[0]
    assert case.external_id == "CASE-1001"
    assert case.subject == SUBJECT
    assert case.closed_at == datetime(2025, 3, 4, 10, 58, tzinfo=UTC)
    assert case.owner_email == AGENT
    assert case.customer_name == CUSTOMER
    assert (case.channel, case.severity, case.kind) == (Channel.CHAT, Severity.HIGH, Kind.COMPLAINT)
    assert case.b2b is True and case.senior_involved is False
    assert case.tags == ("billing", "refund")
    assert case.account_manager_email == "am@example.com"
    assert case.team == "Billing"
    assert case.event is Event.CLOSED


def test_minimal_payload_with_slack_owner() -> None:
    body = {
        "case_id": 42,
        "subject": "Hi",
        "closed_at": "2025-03-04T12:00:00Z",
        "owner_slack_id": "U024BE7LH",
    }
    case = accept(signed("generic", body)).cases[0]
    assert case.external_id == "42"
    assert case.owner_slack_id == "U024BE7LH"
    assert case.channel is Channel.EMAIL


def test_reopen_needs_no_subject_or_owner() -> None:
    body = {"case_id": "CASE-1001", "closed_at": "2025-03-05T09:00:00Z", "event": "reopened"}
    case = accept(signed("generic", body)).cases[0]
    assert case.event is Event.REOPENED
    assert case.subject == ""


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"case_id": None}, "case_id"),
        ({"subject": None}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"closed_at": None}, "closed_at"),
        ({"closed_at": "2025-03-04T12:00:00"}, "closed_at"),
        ({"closed_at": "yesterday"}, "closed_at"),
        ({"owner_email": None}, "owner_email"),
        ({"owner_email": "not an email"}, "owner_email"),
        ({"owner_slack_id": "bob"}, "owner_slack_id"),
        ({"channel": "fax"}, "channel"),
        ({"severity": "meh"}, "severity"),
        ({"kind": "rant"}, "kind"),
        ({"b2b": "yes"}, "b2b"),
        ({"senior_involved": 1}, "senior_involved"),
        ({"tags": "a,b"}, "tags"),
        ({"tags": ["a", 3]}, "tags"),
        ({"event": "deleted"}, "event"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"subject": "x" * 501}, "subject"),
        ({"customer_name": "x" * 321}, "customer_name"),
        ({"resolution": ["done"]}, "resolution"),
        ({"customer_email": "nobody"}, "customer_email"),
    ],
)
def test_bad_fields_are_400_naming_the_field(changes: dict, field: str) -> None:
    body = {k: v for k, v in generic(**changes).items() if v is not None}
    error = refuse(signed("generic", body))
    assert error.status == 400
    assert error.message.startswith(f"{field}: "), error.message


def test_unknown_enum_message_lists_the_allowed_values() -> None:
    error = refuse(signed("generic", generic(channel="fax")))
    assert "email, phone, chat, web, social, other" in error.message


def test_signature_matches_the_documented_recipe() -> None:
    body = b'{"case_id": "1"}'
    headers = sign_generic("k", body, 1741089600)
    expected = hmac.new(b"k", b"1741089600." + body, hashlib.sha256).hexdigest()
    assert headers["X-Followup-Timestamp"] == "1741089600"
    assert headers["X-Followup-Signature"] == f"sha256={expected}"
    assert sign_generic("k", body, datetime.fromtimestamp(1741089600, UTC)) == headers


@pytest.mark.parametrize("offset", [timedelta(minutes=-5), timedelta(minutes=4, seconds=59)])
def test_timestamp_within_five_minutes_is_accepted(offset: timedelta) -> None:
    assert accept(signed("generic", generic(), at=NOW + offset)).cases


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_or_future_timestamp_is_401(offset: timedelta) -> None:
    error = refuse(signed("generic", generic(), at=NOW + offset))
    assert error.status == 401
    assert "stale" in error.message


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"X-Followup-Timestamp": "abc"}, "Unix time"),
        ({"X-Followup-Signature": "sha256=00"}, "does not match"),
        ({"X-Followup-Signature": ""}, "missing X-Followup-Signature"),
    ],
)
def test_malformed_signature_headers_are_401(headers: dict, words: str) -> None:
    error = refuse(signed("generic", generic(), extra=headers))
    assert error.status == 401
    assert words in error.message


def test_signature_uses_the_raw_bytes() -> None:
    raw = (
        '{"case_id":"é","subject":"Ünïcødé ✓","closed_at":"2025-03-04T12:00:00+05:30",'
        '"owner_email":"a@b.c"}'.encode()
    )
    case = accept(signed("generic", raw)).cases[0]
    assert case.external_id == "é" and case.subject == "Ünïcødé ✓"
