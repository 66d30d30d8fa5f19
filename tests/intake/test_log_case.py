"""`/followup log`: the modal, its inline errors, and a logged case stored and planned."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import ids
from bot.intake.log_case import Submitted, log_case_modal, read_submission
from bot.sandbox.waiting import wait_for
from db.models import Case, FollowUp
from handlers.views.log_case import block_errors, read_log_case

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # the `clock` fixture's Friday


def state(**values: Any) -> dict[str, Any]:
    """View state as Slack sends it, for the pure parser: block id -> {"value": …}."""
    kinds = {
        ids.LOG_CLOSED_DATE: ("datepicker", "selected_date"),
        ids.LOG_CLOSED_TIME: ("timepicker", "selected_time"),
        ids.LOG_OWNER: ("users_select", "selected_user"),
    }
    result: dict[str, Any] = {}
    for block, value in values.items():
        kind, key = kinds.get(block, ("plain_text_input", "value"))
        if block in (ids.LOG_CHANNEL, ids.LOG_KIND, ids.LOG_SEVERITY):
            kind, key, value = "static_select", "selected_option", {"value": value}
        result[block] = {ids.LOG_INPUT: {"type": kind, key: value}}
    return result


def read(**values: Any) -> Any:
    base = {
        ids.LOG_SUBJECT: "Refund not showing",
        ids.LOG_CLOSED_DATE: "2026-11-20",
        ids.LOG_OWNER: "U0AGENT",
    }
    base.update(values)
    submitted = read_submission(
        read_log_case(state(**base)),
        logger="U0AGENT",
        view_id="V123",
        tz=ZoneInfo("Europe/London"),
        now=NOW,
    )
    return Submitted(submitted.case, block_errors(submitted.errors))


def test_modal_validates_as_block_kit_and_defaults_to_today_and_the_logger() -> None:
    view = log_case_modal("U0AGENT", date(2026, 11, 20), "Europe/London").to_dict()
    assert view["callback_id"] == ids.VIEW_LOG_CASE
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks[ids.LOG_CLOSED_DATE]["element"]["initial_date"] == "2026-11-20"
    assert blocks[ids.LOG_OWNER]["element"]["initial_user"] == "U0AGENT"
    assert blocks[ids.LOG_CLOSED_TIME]["optional"] is True
    assert not blocks[ids.LOG_SUBJECT].get("optional", False)


def test_submission_rules() -> None:
    ok = read()
    assert ok.errors == {} and ok.case is not None
    assert ok.case.source == "manual" and ok.case.external_id == "U0AGENT-V123"
    assert ok.case.closed_at == NOW  # today, no time: now
    earlier = read(**{ids.LOG_CLOSED_DATE: "2026-11-18"}).case
    assert earlier.closed_at == datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # London midday
    timed = read(**{ids.LOG_CLOSED_DATE: "2026-11-18", ids.LOG_CLOSED_TIME: "16:45"}).case
    assert timed.closed_at == datetime(2026, 11, 18, 16, 45, tzinfo=UTC)
    assert read(**{ids.LOG_CHANNEL: "phone", ids.LOG_KIND: "complaint"}).case.kind == "complaint"
    errors = read(
        **{
            ids.LOG_SUBJECT: "   ",
            ids.LOG_CUSTOMER_EMAIL: "priya at example.com",
            ids.LOG_URL: "javascript:alert(1)",
            ids.LOG_CLOSED_DATE: "2026-11-21",
        }
    ).errors
    assert set(errors) == {
        ids.LOG_SUBJECT,
        ids.LOG_CUSTOMER_EMAIL,
        ids.LOG_URL,
        ids.LOG_CLOSED_DATE,
    }
    assert "future" in errors[ids.LOG_CLOSED_DATE]
    later_today = read(**{ids.LOG_CLOSED_TIME: "23:00"}).errors
    assert "future" in later_today[ids.LOG_CLOSED_TIME]


def test_log_command_opens_the_modal_and_a_valid_submission_is_stored_and_planned(
    bot: Any,
) -> None:
    assert bot.driver.command("U0AGENT", "log").status == 200
    [modal] = wait_for(lambda: bot.sandbox.views("U0AGENT", open_only=True))
    assert modal["callback_id"] == ids.VIEW_LOG_CASE

    bad = bot.driver.submit_view(
        "U0AGENT",
        modal["id"],
        {
            f"{ids.LOG_SUBJECT}.{ids.LOG_INPUT}": " ",
            f"{ids.LOG_CUSTOMER_EMAIL}.{ids.LOG_INPUT}": "not-an-email",
        },
    )
    answer = bad.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {ids.LOG_SUBJECT, ids.LOG_CUSTOMER_EMAIL}
    assert bot.sandbox.views("U0AGENT", open_only=True)  # still open, showing the errors
    with bot.deps.session_factory() as session:
        assert session.scalars(select(Case)).all() == []

    good = bot.driver.submit_view(
        "U0AGENT",
        modal["id"],
        {
            f"{ids.LOG_SUBJECT}.{ids.LOG_INPUT}": "Câble HDMI <!here> livré cassé",
            f"{ids.LOG_RESOLUTION}.{ids.LOG_INPUT}": "Sent a replacement by courier",
            f"{ids.LOG_CUSTOMER_NAME}.{ids.LOG_INPUT}": "Zoë Müller",
            f"{ids.LOG_CUSTOMER_EMAIL}.{ids.LOG_INPUT}": "zoe@example.org",
            f"{ids.LOG_CHANNEL}.{ids.LOG_INPUT}": "phone",
            f"{ids.LOG_KIND}.{ids.LOG_INPUT}": "complaint",
            f"{ids.LOG_CLOSED_DATE}.{ids.LOG_INPUT}": "2026-11-19",
            f"{ids.LOG_CLOSED_TIME}.{ids.LOG_INPUT}": "15:30",
            f"{ids.LOG_OWNER}.{ids.LOG_INPUT}": "U0OTHER",
        },
    )
    assert good.status == 200
    assert not bot.sandbox.views("U0AGENT", open_only=True)
    confirmation = wait_for(lambda: bot.sandbox.dm_messages("U0AGENT"))
    text = confirmation[-1]["text"]
    assert "Câble HDMI &lt;!here&gt; livré cassé" in text and "<!here>" not in text
    assert f"manual:U0AGENT-{modal['id']}" in text and "<@U0OTHER>" in text
    assert "First follow-up" in text
    with bot.deps.session_factory() as session:
        [case] = session.scalars(select(Case)).all()
        assert (case.source, case.channel, case.kind) == ("manual", "phone", "complaint")
        assert case.closed_at == datetime(2026, 11, 19, 15, 30, tzinfo=UTC)
        assert case.owner is not None and case.owner.slack_user_id == "U0OTHER"
        followups = session.scalars(select(FollowUp)).all()
        assert followups and all(f.state == "planned" for f in followups)


def test_the_same_modal_submitted_twice_logs_one_case(bot: Any) -> None:
    bot.driver.command("U0AGENT", "log")
    [modal] = wait_for(lambda: bot.sandbox.views("U0AGENT", open_only=True))
    values = {f"{ids.LOG_SUBJECT}.{ids.LOG_INPUT}": "Password reset loop"}
    assert bot.driver.view_submission("U0AGENT", modal, values).status == 200
    assert bot.driver.view_submission("U0AGENT", modal, values).status == 200
    assert wait_for(lambda: len(bot.sandbox.dm_messages("U0AGENT")) >= 2)
    # The two submissions are handled concurrently: either may be the one that logs the case.
    texts = [message["text"] for message in bot.sandbox.dm_messages("U0AGENT")]
    assert len(texts) == 2
    assert sum("already logged" in text for text in texts) == 1
    with bot.deps.session_factory() as session:
        assert len(session.scalars(select(Case)).all()) == 1
