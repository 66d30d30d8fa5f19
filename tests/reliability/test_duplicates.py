"""Duplicates: every helpdesk's close delivered three times, one after another and all at once,
over real HTTP to the running bot, makes exactly one case and one plan; Slack's event retries
of a watched channel's "ticket solved" message are processed once, and a retry whose original
never arrived is processed.

The vendor payloads and signers are the adapter tests' own (tests/handlers/webhooks). Of the
three copies, the first two are the same delivery (the vendor's delivery id, where it sends one,
repeated: a retry); the third is the same close under a new delivery id (the helpdesk sending it
again), so both the delivery-id check and the case-level idempotency are exercised.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import AuditEntry, Case, FollowUp, InboundDelivery
from tests.idle import wait_idle
from tests.posting import post_webhook

_WEBHOOK_TESTS = str(Path(__file__).resolve().parents[1] / "handlers" / "webhooks")
if _WEBHOOK_TESTS not in sys.path:
    sys.path.insert(0, _WEBHOOK_TESTS)

import webhook_payloads as payloads  # noqa: E402
from webhook_testkit import PUBLIC, SECRET, encode, signature_headers  # noqa: E402

Vendor = tuple[Callable[[], Any], str | None]
# Each vendor's real closed-case payload, and the header carrying its delivery id (if any).
VENDORS: dict[str, Vendor] = {
    "generic": (payloads.generic, None),
    "zendesk": (payloads.zendesk_trigger, "X-Zendesk-Webhook-Invocation-Id"),
    "intercom": (payloads.intercom_v2, None),
    "freshdesk": (payloads.freshdesk, None),
    "hubspot": (lambda: [payloads.hubspot_event()], None),  # the webhooks API posts a batch
    "jira": (payloads.jira, "X-Atlassian-Webhook-Identifier"),
    "helpscout": (payloads.helpscout, None),
    "front": (payloads.front, None),
    "chatwoot": (payloads.chatwoot, None),
    "zammad": (payloads.zammad, "X-Zammad-Delivery"),
}
EXTRA_HEADERS = {"helpscout": {"X-HelpScout-Event": "convo.status"}}
COPIES = 3


def deliveries(bot: Any, source: str) -> list[tuple[bytes, dict[str, str]]]:
    """Three signed copies of the vendor's close: a delivery, its retry, a new delivery."""
    make, delivery_header = VENDORS[source]
    body = encode(make())
    copies = []
    for delivery in ("d-1", "d-1", "d-2"):
        headers = {
            "Content-Type": "application/json",
            **EXTRA_HEADERS.get(source, {}),
            **signature_headers(source, SECRET, body, at=bot.clock.now()),
        }
        if delivery_header:
            headers[delivery_header] = f"{source}-{delivery}"
        copies.append((body, headers))
    return copies


def post_all_at_once(
    requests: list[tuple[str, bytes, dict[str, str]]],
) -> list[tuple[int, dict[str, Any]]]:
    """Every request from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, dict[str, Any]] | BaseException] = [RuntimeError()] * len(requests)

    def send(index: int) -> None:
        url, body, headers = requests[index]
        barrier.wait(timeout=10)
        try:
            answers[index] = post_webhook(url, body, headers)
        except BaseException as error:  # reported below, with the others' answers
            answers[index] = error

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert failed == [], failed
    return answers  # type: ignore[return-value]


def assert_one_case_and_one_plan(bot: Any, source: str) -> None:
    """One case from `source`, one resolution cycle, and exactly the follow-ups that cycle
    planned (its audit entry says how many): nothing planned twice."""
    with bot.deps.session_factory() as session:
        cases = list(session.scalars(select(Case).where(Case.source == source)))
        assert len(cases) == 1, f"{source}: {len(cases)} cases"
        [case] = cases
        assert (case.cycle, case.status) == (1, "closed")
        followups = list(session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)))
        entries = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity == "case", AuditEntry.entity_id == case.id
                )
            )
        )
    assert [e.action for e in entries] == ["case_new"], f"{source}: {[e.action for e in entries]}"
    planned = entries[0].detail["planned"]
    assert planned >= 1
    assert len(followups) == planned, f"{source}: {len(followups)} follow-ups, {planned} planned"
    assert {f.cycle for f in followups} == {1}
    touches = Counter(f.touch for f in followups)
    assert max(touches.values()) == 1, touches


def assert_accepted_once(source: str, answers: list[tuple[int, dict[str, Any]]]) -> None:
    """The helpdesk is told "accepted" once and "duplicate" for the others; no error."""
    statuses = sorted((status, reply.get("status")) for status, reply in answers)
    assert statuses == [(200, "duplicate")] * (COPIES - 1) + [(202, "accepted")], (
        source,
        answers,
    )


@pytest.fixture
def vendor_bot(make_bot: Any) -> Any:
    """The bot (SQLite) with every vendor's webhook secret set."""
    secrets = {f"WEBHOOK_SECRET_{source.upper()}": SECRET for source in VENDORS}
    return make_bot(PUBLIC_URL=PUBLIC, **secrets)


@pytest.fixture
def vendor_bot_on_each_db(database_url: str, sandbox: Any, clock: Any) -> Any:
    """The same, on a SQLite file and then on PostgreSQL."""
    from bot.config import Settings
    from bot.runtime.start import build_deps, ensure_schema, start
    from bot.sandbox import SlackDriver
    from db import migrate

    sandbox.add_user("U0AGENT", name="zoe", real_name="Zoë Agent", email=payloads.AGENT)
    sandbox.add_channel("C0TRIAGE", "triage")
    env = {
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_SIGNING_SECRET": "sandbox-signing-secret-0123456789",
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "PORT": "0",
        "HOST": "127.0.0.1",
        "PUBLIC_URL": PUBLIC,
        "TRIAGE_CHANNEL": "C0TRIAGE",
        **{f"WEBHOOK_SECRET_{source.upper()}": SECRET for source in VENDORS},
    }
    settings = Settings.from_env(env)
    migrate.upgrade(settings.database_url)
    deps = build_deps(settings, clock)
    ensure_schema(deps)
    running = start(deps, with_scheduler=False)
    events = f"http://127.0.0.1:{running.http.port}/slack/events"

    class Bot:
        url = f"http://127.0.0.1:{running.http.port}"

    bot = Bot()
    bot.deps, bot.clock, bot.sandbox = deps, clock, sandbox  # type: ignore[attr-defined]
    bot.driver = SlackDriver(events, "sandbox-signing-secret-0123456789", sandbox)  # type: ignore[attr-defined]
    try:
        yield bot
    finally:
        running.stop()


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_a_close_delivered_three_times_in_a_row_is_one_case_and_one_plan(
    vendor_bot: Any, source: str
) -> None:
    bot = vendor_bot
    answers = [
        post_webhook(f"{bot.url}/webhooks/{source}", body, headers)
        for body, headers in deliveries(bot, source)
    ]
    assert answers[0][0] == 202, answers
    assert_accepted_once(source, answers)
    assert_one_case_and_one_plan(bot, source)


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_a_close_delivered_three_times_at_once_is_one_case_and_one_plan(
    vendor_bot: Any, source: str
) -> None:
    bot = vendor_bot
    url = f"{bot.url}/webhooks/{source}"
    answers = post_all_at_once([(url, body, headers) for body, headers in deliveries(bot, source)])
    assert_accepted_once(source, answers)
    assert_one_case_and_one_plan(bot, source)


def test_every_vendor_three_times_at_once_on_each_database(vendor_bot_on_each_db: Any) -> None:
    """30 requests in flight together: each vendor's three copies race each other and the
    other vendors' writes, on SQLite and on PostgreSQL (row locks, ON CONFLICT)."""
    bot = vendor_bot_on_each_db
    requests = [
        (f"{bot.url}/webhooks/{source}", body, headers)
        for source in sorted(VENDORS)
        for body, headers in deliveries(bot, source)
    ]
    answers = post_all_at_once(requests)
    for index, source in enumerate(sorted(VENDORS)):
        assert_accepted_once(source, answers[index * COPIES : (index + 1) * COPIES])
        assert_one_case_and_one_plan(bot, source)
    with bot.deps.session_factory() as session:
        assert session.scalar(select(func.count(Case.id))) == len(VENDORS)


# -- Slack event retries ---------------------------------------------------------------------

SOLVED = "Ticket #{id} solved by <@U0AGENT>: Password reset email never arrives"


@pytest.fixture
def watched(bot: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The bot, a helpdesk channel it watches, and a count of cases it stored from that
    channel's messages (each call of `upsert_case` is one processing of an event)."""
    from db import cases as store

    bot.sandbox.add_channel("C0HELPDESK", "helpdesk")
    bot.processed = Counter()
    real_upsert = store.upsert_case

    def counting_upsert(session: Any, closed: Any, *args: Any, **kwargs: Any) -> Any:
        if closed.source.startswith("slack:"):
            bot.processed[closed.external_id] += 1
        return real_upsert(session, closed, *args, **kwargs)

    monkeypatch.setattr(store, "upsert_case", counting_upsert)
    return bot


def solved_event(bot: Any, ticket: str) -> dict[str, Any]:
    """The helpdesk app's message, stored in the channel once, as Slack delivers it."""
    stored = bot.sandbox.post_as(
        "C0HELPDESK",
        {"text": SOLVED.format(id=ticket), "subtype": "bot_message", "bot_id": "B0HELPDESK"},
    )
    event = {k: v for k, v in stored.items() if k != "team"}
    event.update(channel="C0HELPDESK", event_ts=stored["ts"], channel_type="channel")
    return event


def slack_cases(bot: Any, ticket: str) -> tuple[int, int, int]:
    """(cases, follow-ups, event deliveries recorded) for the ticket."""
    with bot.deps.session_factory() as session:
        case_ids = list(
            session.scalars(
                select(Case.id).where(Case.source == "slack:C0HELPDESK", Case.external_id == ticket)
            )
        )
        followups = session.scalar(
            select(func.count(FollowUp.id)).where(FollowUp.case_id.in_(case_ids))
        )
        recorded = session.scalar(
            select(func.count(InboundDelivery.id)).where(InboundDelivery.source == "slack-event")
        )
    return len(case_ids), int(followups or 0), int(recorded or 0)


def test_slacks_retries_of_an_event_are_processed_once(watched: Any) -> None:
    bot = watched
    event = solved_event(bot, "501")
    for retry in (None, 1, 2):
        response = bot.driver.event(event, event_id="Ev0RETRY501", retry_num=retry)
        assert response.status == 200
    wait_idle(bot)  # every delivery's listener has run
    assert bot.processed["501"] == 1
    cases, followups, recorded = slack_cases(bot, "501")
    assert (cases, recorded) == (1, 1)
    assert followups >= 1


def test_retries_racing_their_original_are_processed_once(watched: Any) -> None:
    bot = watched
    event = solved_event(bot, "502")
    barrier = threading.Barrier(3)
    statuses: list[int] = []

    def deliver(retry: int | None) -> None:
        barrier.wait(timeout=10)
        statuses.append(bot.driver.event(event, event_id="Ev0RETRY502", retry_num=retry).status)

    threads = [threading.Thread(target=deliver, args=(r,)) for r in (None, 1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert statuses == [200, 200, 200]
    wait_idle(bot)  # every delivery's listener has run
    assert bot.processed["502"] == 1
    assert slack_cases(bot, "502")[0] == 1


def test_a_retry_whose_original_never_arrived_is_processed(watched: Any) -> None:
    bot = watched
    event = solved_event(bot, "503")
    # The original was lost on the way (Slack timed out on it): only retries arrive.
    response = bot.driver.event(event, event_id="Ev0RETRY503", retry_num=1, retry_reason="")
    assert response.status == 200
    wait_idle(bot)  # every delivery's listener has run
    assert bot.processed["503"] == 1
    cases, followups, recorded = slack_cases(bot, "503")
    assert (cases, recorded) == (1, 1)
    assert followups >= 1
    # Its own later retry is still a duplicate.
    assert bot.driver.event(event, event_id="Ev0RETRY503", retry_num=2).status == 200
    wait_idle(bot)  # every delivery's listener has run
    assert bot.processed["503"] == 1
