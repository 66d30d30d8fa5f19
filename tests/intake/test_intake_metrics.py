"""Cases accepted and follow-ups planned are counted once committed: a batch that fails and
is written again delivery by delivery counts each case once, and a duplicate not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import metrics
from bot.cases import ClosedCase
from bot.intake import batch as intake_batch
from bot.intake.batch import Delivery
from bot.planning.bulk import Planner


def closed_case(external_id: str) -> ClosedCase:
    return ClosedCase(
        source="generic",
        external_id=external_id,
        subject="Case",
        closed_at=datetime(2026, 11, 19, 16, 30, tzinfo=UTC),
        owner_email="ada@example.com",
    )


def counted() -> tuple[float, float]:
    accepted = metrics.REGISTRY.get_sample_value(
        "followup_cases_accepted_total", {"source": "generic"}
    )
    planned = metrics.REGISTRY.get_sample_value("followup_followups_planned_total", {})
    return accepted or 0.0, planned or 0.0


def grew(before: tuple[float, float]) -> tuple[float, float]:
    after = counted()
    return after[0] - before[0], after[1] - before[1]


def test_a_case_and_its_plan_count_once_and_a_duplicate_not_at_all(bot: Any) -> None:
    before = counted()
    intake_batch.write_delivery(bot.deps, Delivery("generic", [closed_case("M-1")], None))
    assert grew(before) == (1, 1)
    intake_batch.write_delivery(bot.deps, Delivery("generic", [closed_case("M-1")], None))
    assert grew(before) == (1, 1)


def test_a_failed_batch_written_again_alone_counts_each_case_once(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Planner.touches

    def touches(self: Planner, case: ClosedCase, *args: Any, **kwargs: Any) -> Any:
        if case.external_id == "BAD":
            raise RuntimeError("planning failed for BAD")
        return real(self, case, *args, **kwargs)

    monkeypatch.setattr(Planner, "touches", touches)
    deliveries = [Delivery("generic", [closed_case(name)], None) for name in ("A", "B", "BAD")]
    writer = bot.deps.intake
    writer._queue.extend(deliveries[1:])  # waiting behind the first: B is planned before BAD
    before, batches = counted(), (writer.batches, writer.items)
    written = intake_batch.write_delivery(bot.deps, deliveries[0])
    assert (writer.batches - batches[0], writer.items - batches[1]) == (1, 3)
    # The batch failed as a whole at BAD, after B's case was planned (and rolled back); then
    # each delivery was written alone. Each request counts its own delivery once committed:
    # this one A; B's request (none here) would count B; BAD's gets the error and counts none.
    assert isinstance(deliveries[2].error, RuntimeError)
    assert written.planned == [1]
    assert deliveries[1].written is not None and deliveries[1].written.planned == [1]
    assert grew(before) == (1, 1)
