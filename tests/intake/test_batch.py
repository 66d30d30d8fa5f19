"""Webhook deliveries written together (group commit) are stored and planned exactly as if
each had been written alone; a bad one never takes the others with it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.cases import Channel, ClosedCase, Event, Kind, Severity
from bot.group_commit import GroupCommit
from bot.intake import batch as intake_batch
from bot.intake.accept import accept_case
from bot.intake.batch import Delivery, Written, write_together
from bot.planning.bulk import Planner
from db import cases as store
from db.models import Agent, AgentLink, AuditEntry, Case, FollowUp, InboundDelivery
from tests.stored_plans import stored_plan

CLOSED = datetime(2026, 11, 19, 16, 30, tzinfo=UTC)


def closed_case(external_id: str, subject: str = "Case") -> ClosedCase:
    """A plain generic case closed at CLOSED, owned by Ada."""
    return ClosedCase(
        source="generic",
        external_id=external_id,
        subject=subject,
        closed_at=CLOSED,
        owner_email="ada@example.com",
    )


def _people(bot: Any) -> None:
    """A lead in New York, an agent in Tokyo with her own lead, an account manager, a link."""
    now = bot.clock.now()
    with bot.deps.session_factory.begin() as session:
        team = store.team_for(session, "support", {}, now)
        lead = Agent(
            slack_user_id="UL1",
            email="lead@example.com",
            timezone="America/New_York",
            team_id=team.id,
            is_lead=True,
            created_at=now,
        )
        session.add(lead)
        session.flush()
        tokyo = Agent(
            slack_user_id="UA1",
            email="kei@example.com",
            timezone="Asia/Tokyo",
            team_id=team.id,
            lead_id=lead.id,
            created_at=now,
        )
        manager = Agent(
            slack_user_id="UM1", email="am@example.com", timezone="Europe/Paris", created_at=now
        )
        linked = Agent(slack_user_id="UX1", email=None, timezone="Australia/Sydney", created_at=now)
        session.add_all([tokyo, manager, linked])
        session.flush()
        session.add(
            AgentLink(
                source="freshdesk", external_agent_id="9001", agent_id=linked.id, created_at=now
            )
        )


def _variety(prefix: str) -> list[ClosedCase]:
    """Cases that exercise every way of finding the people who follow up."""
    base = {"subject": "Refund not visible", "closed_at": CLOSED}
    return [
        ClosedCase(
            source="zendesk",
            external_id=f"{prefix}1",
            owner_email="KEI@example.com",
            team="support",
            kind=Kind.COMPLAINT,
            severity=Severity.HIGH,
            **base,
        ),
        ClosedCase(
            source="zendesk",
            external_id=f"{prefix}2",
            owner_slack_id="UNEW1",
            team="support",
            channel=Channel.PHONE,
            **base,
        ),
        ClosedCase(
            source="freshdesk",
            external_id=f"{prefix}3",
            owner_external_id="9001",
            b2b=True,
            account_manager_email="am@example.com",
            **base,
        ),
        ClosedCase(
            source="zendesk",
            external_id=f"{prefix}4",
            owner_email="nobody@example.com",
            account_manager_email="ghost@example.com",
            b2b=True,
            **base,
        ),
        ClosedCase(
            source="zendesk",
            external_id=f"{prefix}5",
            kind=Kind.QUERY,
            channel=Channel.CHAT,
            tags=("vip",),
            **base,
        ),
    ]


def _snapshot(bot: Any, prefix: str) -> list[tuple[Any, ...]]:
    """Each case with its people and plan, ids replaced by what they stand for."""
    rows = []
    with bot.deps.session_factory() as session:
        agents = {a.id: a.slack_user_id for a in session.scalars(select(Agent))}
        for case in session.scalars(
            select(Case).where(Case.external_id.like(f"{prefix}%")).order_by(Case.external_id)
        ):
            plan = stored_plan(session, case.id, agents)
            rows.append(
                (
                    case.external_id.removeprefix(prefix),
                    case.source,
                    case.team.slug,
                    agents.get(case.owner_id),
                    agents.get(case.account_manager_id),
                    case.cycle,
                    case.status,
                    case.kind,
                    case.b2b,
                    case.tags,
                    plan,
                )
            )
    return rows


def _write(writer: GroupCommit[Delivery], deps: Any, delivery: Delivery) -> Written:
    """What `write_delivery` does, through `writer` rather than the bot's own."""
    writer.commit(delivery, lambda batch: intake_batch.write_each_way(deps, batch))
    assert delivery.written is not None
    return delivery.written


def test_a_batch_stores_and_plans_exactly_as_each_case_alone(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    _people(bot)
    for closed in _variety("ALONE-"):
        with bot.deps.session_factory.begin() as session:
            accept_case(session, bot.deps, closed, actor="test", surface="test")
    writer = GroupCommit()
    batch = [Delivery(c.source, [c], None) for c in _variety("BATCH-")]
    with bot.deps.session_factory.begin() as session:
        written = write_together(session, bot.deps, batch)
    assert [w.changes for w in written] == [[store.Change.NEW]] * 5
    alone, together = _snapshot(bot, "ALONE-"), _snapshot(bot, "BATCH-")
    assert together == alone
    # The people were found: owner by email (any case), by new Slack id, by the vendor's id.
    owners = {row[0]: (row[3], row[4]) for row in together}
    assert owners["1"] == ("UA1", None) and owners["2"] == ("UNEW1", None)
    assert owners["3"] == ("UX1", "UM1") and owners["4"] == (None, None)
    assert all(row[-1] for row in together)  # every case has a plan
    assert writer.batches == 0
    with bot.deps.session_factory() as session:
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "case_new")).all()
        assert len(audits) == 10 and all(a.detail["planned"] >= 1 for a in audits)


def test_one_case_named_twice_or_closed_then_reopened_in_one_batch(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    closed = ClosedCase(
        source="zendesk",
        external_id="Z-7",
        subject="Login loop",
        closed_at=CLOSED,
        owner_email="ada@example.com",
    )
    reopened = closed.replace(event=Event.REOPENED, closed_at=CLOSED + timedelta(hours=2))
    later = closed.replace(external_id="Z-8")
    with bot.deps.session_factory.begin() as session:
        written = write_together(
            session,
            bot.deps,
            [
                Delivery("zendesk", [closed], None),
                Delivery("zendesk", [closed], None),
                Delivery("zendesk", [later], "d-1"),
                Delivery("zendesk", [later], "d-1"),
                Delivery("zendesk", [reopened], None),
            ],
        )
    assert [w.changes for w in written] == [
        [store.Change.NEW],
        [store.Change.DUPLICATE],
        [store.Change.NEW],
        [],
        [store.Change.REOPENED],
    ]
    assert written[3].duplicate_delivery and not written[3].is_new
    with bot.deps.session_factory() as session:
        cases = {c.external_id: c for c in session.scalars(select(Case))}
        assert set(cases) == {"Z-7", "Z-8"} and cases["Z-7"].status == "reopened"
        states = {(f.case_id, f.state) for f in session.scalars(select(FollowUp))}
        assert {s for c, s in states if c == cases["Z-7"].id} == {"cancelled"}
        assert {s for c, s in states if c == cases["Z-8"].id} == {"planned"}
        assert len(session.scalars(select(InboundDelivery)).all()) == 1


def test_a_failing_delivery_fails_alone_and_the_rest_are_written(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Planner.touches

    def touches(self: Planner, case: ClosedCase, *args: Any, **kwargs: Any) -> Any:
        if case.external_id == "BAD":
            raise RuntimeError("planning failed for BAD")
        return real(self, case, *args, **kwargs)

    monkeypatch.setattr(Planner, "touches", touches)
    writer = GroupCommit()
    cases = [closed_case(name) for name in ("A", "BAD", "C")]
    deliveries = [Delivery("generic", [c], None) for c in cases]
    writer._queue.extend(deliveries[1:])  # waiting behind the first, as under load
    assert _write(writer, bot.deps, deliveries[0]).changes == [store.Change.NEW]
    # One batch of three: it failed as a whole, then each delivery was written alone.
    assert (writer.batches, writer.items) == (1, 3)
    assert deliveries[2].written is not None and deliveries[2].written.is_new
    assert isinstance(deliveries[1].error, RuntimeError)
    with bot.deps.session_factory() as session:
        stored = sorted(c.external_id for c in session.scalars(select(Case)))
        assert stored == ["A", "C"]  # nothing of BAD, not even its case row
        assert len(session.scalars(select(FollowUp)).all()) == 2  # one touch each


def test_concurrent_deliveries_are_committed_together_and_each_answered(bot: Any) -> None:
    writer = bot.deps.intake
    before = (writer.batches, writer.items)
    answers: dict[str, Any] = {}
    start = threading.Barrier(24)

    def send(i: int) -> None:
        start.wait()
        closed = closed_case(f"C-{i % 12}", f"Case {i}")
        answers[f"{i}"] = _write(writer, bot.deps, Delivery("generic", [closed], None))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batches, deliveries = writer.batches - before[0], writer.items - before[1]
    assert deliveries >= 24 and batches < deliveries  # some were written together
    changes = sorted(change for answer in answers.values() for change in answer.changes)
    assert changes.count(store.Change.NEW) == 12 and changes.count(store.Change.DUPLICATE) == 12
    with bot.deps.session_factory() as session:
        assert len(session.scalars(select(Case)).all()) == 12
        per_case: dict[int, int] = {}
        for f in session.scalars(select(FollowUp)):
            per_case[f.case_id] = per_case.get(f.case_id, 0) + 1
        assert len(per_case) == 12 and set(per_case.values()) == {1}  # one plan each


class _WriterStopped(BaseException):
    """Something no `except Exception` catches (as KeyboardInterrupt would be)."""


def test_a_writer_stopped_mid_batch_hands_the_writing_on_and_nobody_waits_forever(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = intake_batch.write_each_way
    holding, release = threading.Event(), threading.Event()

    def first_batch_stops(deps: Any, batch: list[Delivery]) -> None:
        if any(d.cases[0].external_id == "FIRST" for d in batch):
            holding.set()
            release.wait(10)
            raise _WriterStopped
        real(deps, batch)

    monkeypatch.setattr(intake_batch, "write_each_way", first_batch_stops)
    writer = GroupCommit()
    answers: dict[str, Any] = {}

    def send(name: str) -> None:
        closed = closed_case(name)
        try:
            answers[name] = _write(writer, bot.deps, Delivery("generic", [closed], None)).changes
        except _WriterStopped as stopped:
            answers[name] = stopped

    first = threading.Thread(target=send, args=("FIRST",))
    first.start()
    assert holding.wait(10), "the first delivery's thread is writing"
    others = [threading.Thread(target=send, args=(f"W-{i}",)) for i in range(3)]
    for thread in others:
        thread.start()
    deadline = threading.Event()
    while len(writer._queue) < 3 and not deadline.wait(0.01):
        pass  # the three wait behind the writer
    release.set()
    for thread in [first, *others]:
        thread.join(10)
        assert not thread.is_alive(), "a delivery was left waiting"
    assert isinstance(answers.pop("FIRST"), _WriterStopped)
    assert answers == {f"W-{i}": [store.Change.NEW] for i in range(3)}
    assert not writer._writing and writer._queue == []
    with bot.deps.session_factory() as session:
        stored = sorted(c.external_id for c in session.scalars(select(Case)))
        assert stored == ["W-0", "W-1", "W-2"]


def test_a_writer_whose_own_delivery_is_written_hands_over_within_its_drain_time(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While deliveries keep arriving, the writer's own answer is not held back for ever."""
    monkeypatch.setattr("bot.group_commit.DRAIN_SECONDS", 0.05)
    real = intake_batch.write_each_way

    def slowly(deps: Any, batch: list[Delivery]) -> None:
        time.sleep(0.01)  # deliveries arrive faster than batches finish: the queue never empties
        real(deps, batch)

    monkeypatch.setattr(intake_batch, "write_each_way", slowly)
    writer = bot.deps.intake
    took: list[float] = []
    errors: list[BaseException] = []

    def send(name: str) -> None:
        closed = closed_case(name)
        started = time.monotonic()
        try:
            _write(writer, bot.deps, Delivery("generic", [closed], None))
        except BaseException as error:
            errors.append(error)
        took.append(time.monotonic() - started)

    threads = []
    until = time.monotonic() + 1.5
    while time.monotonic() < until:
        threads.append(threading.Thread(target=send, args=(f"K-{len(threads)}",)))
        threads[-1].start()
        time.sleep(0.003)
    for thread in threads:
        thread.join(10)
    assert errors == [] and len(took) == len(threads) > 100
    # Each answer waits for the queue ahead of it, its own batch and at most the drain time:
    # never the second and a half that deliveries kept arriving.
    assert max(took) < 0.75, max(took)


def test_wait_idle_waits_for_the_delivery_being_written(monkeypatch: pytest.MonkeyPatch) -> None:
    holding, release = threading.Event(), threading.Event()

    def held(deps: Any, batch: list[Delivery]) -> None:
        holding.set()
        release.wait(10)
        for delivery in batch:
            delivery.written = Written()

    monkeypatch.setattr(intake_batch, "write_each_way", held)
    writer = GroupCommit()
    assert writer.wait_idle(0), "a new writer is idle"
    delivery = Delivery("generic", [closed_case("IDLE")], None)
    sender = threading.Thread(target=_write, args=(writer, None, delivery))
    sender.start()
    try:
        assert holding.wait(10), "the delivery is being written"
        assert writer.wait_idle(0.05) is False, "idle while a delivery is being written"
        waiter_saw: list[bool] = []
        waiter = threading.Thread(target=lambda: waiter_saw.append(writer.wait_idle(10)))
        waiter.start()
        release.set()
        waiter.join(10)
        assert waiter_saw == [True] and delivery.written is not None
    finally:
        release.set()
        sender.join(10)
