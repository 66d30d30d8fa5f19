"""Rules every adapter shares: limits, body decoding, secrets, content types, and fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_payloads import CLOSED, EXTRA_HEADERS
from webhook_testkit import (
    NOW,
    SOURCES,
    accept,
    config,
    make_request,
    refuse,
    signed,
)

from bot.cases import ClosedCase, Event
from handlers.webhooks import (
    ADAPTERS,
    CaseInsensitiveHeaders,
    WebhookRejected,
    WebhookRequest,
    handle,
)


def _signed(source: str, payload: Any, **kw: Any) -> WebhookRequest:
    return signed(source, payload, extra=EXTRA_HEADERS.get(source), **kw)


def test_every_source_has_an_adapter() -> None:
    assert set(ADAPTERS) == set(SOURCES)


@pytest.mark.parametrize("source", SOURCES)
def test_realistic_close_is_accepted(source: str) -> None:
    result = accept(_signed(source, CLOSED[source]()))
    assert len(result.cases) == 1
    case = result.cases[0]
    assert isinstance(case, ClosedCase)
    assert case.source == source
    assert case.event is Event.CLOSED
    assert case.subject
    assert case.closed_at.tzinfo is not None


@pytest.mark.parametrize("source", SOURCES)
def test_oversized_body_is_413_before_anything_else(source: str) -> None:
    body = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    error = refuse(make_request(source, body))  # unsigned: size is checked first
    assert error.status == 413


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 200 + b"]" * 200, "nested deeper"),
        (b"", "empty"),
    ],
)
def test_bad_bodies_are_400(source: str, body: bytes, words: str) -> None:
    error = refuse(_signed(source, body))
    assert error.status == 400
    assert error.message.startswith("body: ")
    assert words in error.message


@pytest.mark.parametrize("source", [s for s in SOURCES if s != "hubspot"])
def test_non_object_json_is_400(source: str) -> None:
    error = refuse(_signed(source, [1, 2]))
    assert (error.status, error.message) == (400, "body: must be a JSON object")


@pytest.mark.parametrize("source", SOURCES)
def test_deep_nesting_inside_strings_is_not_counted(source: str) -> None:
    payload = CLOSED[source]()
    if isinstance(payload, dict):
        payload["note"] = "[" * 500
    else:
        payload[0]["note"] = "{" * 500
    assert accept(_signed(source, payload)).cases


@pytest.mark.parametrize("source", SOURCES)
def test_no_secret_configured_is_401_naming_the_variable(source: str) -> None:
    error = refuse(_signed(source, CLOSED[source]()), config(secret=None))
    assert error.status == 401
    assert error.message == (
        f"no secret configured for {source}: set WEBHOOK_SECRET_{source.upper()}"
    )


@pytest.mark.parametrize("source", SOURCES)
def test_insecure_source_skips_verification(source: str) -> None:
    request = make_request(source, CLOSED[source](), EXTRA_HEADERS.get(source))
    result = accept(request, config(secret=None, insecure=True))
    assert result.cases


@pytest.mark.parametrize("source", SOURCES)
def test_wrong_secret_is_401(source: str) -> None:
    error = refuse(_signed(source, CLOSED[source](), secret="not-the-secret"))
    assert error.status == 401


@pytest.mark.parametrize("source", SOURCES)
def test_missing_signature_is_401(source: str) -> None:
    error = refuse(make_request(source, CLOSED[source](), EXTRA_HEADERS.get(source)))
    assert error.status == 401


@pytest.mark.parametrize("source", SOURCES)
def test_tampered_body_is_401(source: str) -> None:
    if source == "freshdesk":  # a shared token, not a signature over the body
        return
    request = _signed(source, CLOSED[source]())
    tampered = WebhookRequest(**{**request.__dict__, "body": request.body.replace(b"e", b"E", 1)})
    assert refuse(tampered).status == 401


@pytest.mark.parametrize("source", SOURCES)
def test_wrong_content_type_is_415(source: str) -> None:
    error = refuse(_signed(source, CLOSED[source](), content_type="text/xml"))
    assert error.status == 415
    assert "text/xml" in error.message


@pytest.mark.parametrize("source", SOURCES)
def test_missing_content_type_is_read_as_json(source: str) -> None:
    assert accept(_signed(source, CLOSED[source](), content_type=None)).cases


def test_unknown_source_is_404() -> None:
    error = refuse(make_request("desk.com", {}))
    assert error.status == 404


def test_headers_are_case_insensitive() -> None:
    headers = CaseInsensitiveHeaders({"X-Hub-Signature": "sha1=ab", "content-type": "x"})
    assert headers["x-hub-signature"] == headers["X-HUB-SIGNATURE"] == "sha1=ab"
    assert "CONTENT-TYPE" in headers
    assert dict(headers) == {"X-Hub-Signature": "sha1=ab", "content-type": "x"}
    request = signed("jira", CLOSED["jira"]())
    lowered = {k.lower(): v for k, v in request.headers.items()}
    assert accept(make_request("jira", request.body, lowered)).cases


@pytest.mark.parametrize("source", SOURCES)
def test_delivery_id_is_copied_onto_cases(source: str) -> None:
    result = accept(_signed(source, CLOSED[source]()))
    for case in result.cases:
        assert case.delivery_id == (result.delivery_id or case.delivery_id)


# --- property tests: arbitrary JSON with a valid signature never escapes as another error ----

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return list(value) + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def _mutate(value: Any, draw: Any) -> Any:
    """Replace some values of a realistic payload with arbitrary JSON."""
    if isinstance(value, dict):
        return {
            k: draw(json_values) if draw(st.integers(0, 4)) == 0 else _mutate(v, draw)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mutate(v, draw) for v in value]
    return value


def _only_rejections(source: str, payload: Any) -> None:
    request = signed(source, json.dumps(payload).encode(), extra=EXTRA_HEADERS.get(source))
    try:
        result = handle(request, config())
    except WebhookRejected as rejected:
        assert rejected.status in (400, 401, 413, 415)
        assert rejected.message
    else:
        assert all(isinstance(c, ClosedCase) for c in result.cases)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("source", SOURCES)
@FUZZ
@given(payload=json_values)
def test_arbitrary_json_only_raises_webhook_rejected(source: str, payload: Any) -> None:
    _only_rejections(source, payload)


@pytest.mark.parametrize("source", SOURCES)
@FUZZ
@given(data=st.data())
def test_mutated_vendor_payloads_only_raise_webhook_rejected(source: str, data: Any) -> None:
    _only_rejections(source, _mutate(CLOSED[source](), data.draw))


def test_time_comes_from_the_request_not_the_clock() -> None:
    # Signed "now" but received an hour later: stale, whatever the machine's clock says.
    request = signed("generic", CLOSED["generic"]())
    late = WebhookRequest(**{**request.__dict__, "received_at": NOW.replace(hour=13)})
    assert refuse(late).status == 401
