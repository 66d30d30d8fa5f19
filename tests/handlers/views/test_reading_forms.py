"""Modal submissions read at the edge: Slack's view state in, typed forms out; bot/ never sees
block ids or JSON. No server: these are the parsers the view listeners call."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot import ids
from bot.loop import views as ov
from handlers.views import common
from handlers.views.outcome import FIELD_BLOCKS, read_meta, read_outcome, read_skip, read_snooze


def _view(state: dict[str, Any], meta: Any = None) -> dict[str, Any]:
    raw = meta if isinstance(meta, str) else json.dumps(meta or {})
    return {"private_metadata": raw, "state": {"values": state}}


def test_an_outcome_form_as_slack_sends_it() -> None:
    state = {
        ids.OUTCOME_RESULT: {
            ids.OUTCOME_RESULT_INPUT: {
                "type": "radio_buttons",
                "selected_option": {"value": "resolved"},
            }
        },
        ids.OUTCOME_SAID: {
            ids.OUTCOME_SAID_INPUT: {"type": "plain_text_input", "value": "  Works now. "}
        },
        ids.OUTCOME_CAUSE: {
            ids.OUTCOME_CAUSE_INPUT: {"type": "static_select", "selected_option": None}
        },
        ids.OUTCOME_ASKS: {
            ids.OUTCOME_ASKS_INPUT: {
                "type": "checkboxes",
                "selected_options": [{"value": "review_asked"}, {"value": "referral_given"}],
            }
        },
    }
    form = read_outcome(common.values(_view(state)))
    assert form == ov.OutcomeForm(
        result="resolved",
        said="Works now.",
        cause=None,
        asks=frozenset({"review_asked", "referral_given"}),
    )


def test_an_empty_form_reads_as_nothing_chosen() -> None:
    assert read_outcome({}) == ov.OutcomeForm(result=None, said=None, cause=None)
    assert read_skip({}) == ov.SkipForm(reason="")
    assert read_snooze({}) == ov.SnoozeForm(option=None, picked=None)


def test_a_snooze_form_reads_its_date_and_drops_one_slack_could_not_send() -> None:
    state = {
        ids.SNOOZE_WHEN: {ids.SNOOZE_WHEN_INPUT: {"selected_option": {"value": "pick_date"}}},
        ids.SNOOZE_DATE: {ids.SNOOZE_DATE_INPUT: {"selected_date": "2026-12-24"}},
    }
    assert read_snooze(common.values(_view(state))) == ov.SnoozeForm(
        "pick_date", date(2026, 12, 24)
    )
    state[ids.SNOOZE_DATE] = {ids.SNOOZE_DATE_INPUT: {"selected_date": "2026-02-30"}}
    assert read_snooze(common.values(_view(state))).picked is None


def test_metadata_is_read_back_as_written_and_anything_else_is_refused() -> None:
    meta = ov.ModalMeta(42, "D0AGENT", "1700000000.000100", "home")
    assert read_meta({"private_metadata": ov.metadata(meta)}) == meta
    assert read_meta({"private_metadata": "not json"}) is None
    assert read_meta({"private_metadata": json.dumps({"f": "DROP TABLE"})}) is None
    odd = read_meta({"private_metadata": json.dumps({"f": 42, "c": "#general", "s": "<!here>"})})
    assert odd == ov.ModalMeta(42, None, None, "modal")


def test_every_input_of_every_modal_can_show_an_error() -> None:
    case = ov.ModalCase(1, "zendesk #1", "Login", None, True, True)
    meta = ov.metadata(ov.ModalMeta(1))
    views = [
        ov.outcome_modal(case, ["Docs"], meta),
        ov.skip_modal(case, meta),
        ov.snooze_modal(case, meta, date(2026, 12, 7)),
    ]
    inputs = {b.block_id for v in views for b in v.blocks if b.type == "input"}
    assert inputs == set(FIELD_BLOCKS.values())
