"""Log lines as an operator reads or ships them: `LOG_FORMAT=json` makes each line one JSON
object with the structured fields given through `extra=`; the text format reads as before;
a configured secret is masked in both, wherever it appears."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot import ids
from bot.config import Settings, SettingsError
from bot.logs import FIELDS, SecretFilter, configure_logging, formatter
from tests.handlers.views.test_outcome import click, opened_modal
from tests.nudging import nudge

SECRET = "xoxb-a-real-looking-bot-token-42"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, list[str]]]:
    """A logger whose records go through a handler as `configure_logging` builds it, into a
    buffer; the format is set per test through the returned list."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(SecretFilter([SECRET]))
    logger = logging.getLogger("followup.test_logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    formats = ["json"]

    def apply() -> None:
        handler.setFormatter(formatter(formats[0]))

    apply()
    logger.apply = apply  # type: ignore[attr-defined]
    yield logger, buffer, formats
    logger.handlers.clear()


def lines_of(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_the_given_fields(
    captured: Any,
) -> None:
    logger, buffer, _ = captured
    logger.info(
        "DM sent to agent %s: follow-ups %s",
        7,
        [12, 13],
        extra={"event": "dm_sent", "agent": 7, "follow_up": [12, 13], "unknown_key": "x"},
    )
    logger.warning("plain line, no fields")
    first, second = lines_of(buffer)
    assert first["message"] == "DM sent to agent 7: follow-ups [12, 13]"
    assert (first["level"], first["logger"]) == ("INFO", "followup.test_logs")
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert (first["event"], first["agent"], first["follow_up"]) == ("dm_sent", 7, [12, 13])
    assert "unknown_key" not in first, "only the agreed fields are emitted"
    assert set(second) == {"time", "level", "logger", "message"}


def test_an_exception_is_one_exc_field_so_the_line_stays_one_line(captured: Any) -> None:
    logger, buffer, _ = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("listener failed", extra={"event": "listener_failed"})
    [line] = lines_of(buffer)
    assert line["exc"].startswith("Traceback") and "ValueError: boom" in line["exc"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_secret_is_masked_in_message_args_fields_and_exception(
    captured: Any, log_format: str
) -> None:
    logger, buffer, formats = captured
    formats[0] = log_format
    logger.apply()
    logger.info(f"token {SECRET} in the message")
    logger.info("token %s in an argument", SECRET)
    logger.info("in a field", extra={"reason": f"Slack refused {SECRET}", "method": [SECRET]})
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        logger.exception("in an exception")
    output = buffer.getvalue()
    assert SECRET not in output
    assert output.count("***") >= (4 if log_format == "json" else 3)  # text shows no fields
    if log_format == "json":
        fields = lines_of(buffer)[2]
        assert (fields["reason"], fields["method"]) == ("Slack refused ***", ["***"])


def test_the_text_format_keeps_its_look(captured: Any) -> None:
    logger, buffer, formats = captured
    formats[0] = "text"
    logger.apply()
    logger.info("followup is up", extra={"event": "up"})
    line = buffer.getvalue().strip()
    assert line.endswith(" INFO followup.test_logs: followup is up")
    assert "{" not in line


def test_log_format_is_text_unless_set_to_json() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert Settings.from_env(base).log_format == "text"
    assert Settings.from_env({**base, "LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT is malformed: expected text or json"):
        Settings.from_env({**base, "LOG_FORMAT": "yaml"})


def test_configure_logging_puts_json_on_the_root_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", [SECRET], "json")
        [handler] = root.handlers
        buffer = io.StringIO()
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        logging.getLogger("followup.x").info("hello %s", SECRET, extra={"event": "x"})
        assert json.loads(buffer.getvalue()) | {"time": ""} == {
            "time": "",
            "level": "INFO",
            "logger": "followup.x",
            "message": "hello ***",
            "event": "x",
        }
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_dm_sent_and_an_outcome_recorded_each_leave_one_json_line_of_ids(bot: Any) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter("json"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    saved_level = root.level
    root.setLevel(logging.INFO)
    try:
        nudged = nudge(bot, subject="Refund for Priya Shah", customer_name="Priya Shah")
        click(bot, nudged, ids.ACTION_FOLLOWED_UP)
        modal = opened_modal(bot, "U0AGENT", ids.VIEW_OUTCOME)
        assert bot.driver.submit_view("U0AGENT", modal["id"], {"result": "resolved"}).status == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    [sent] = [line for line in lines if line.get("event") == "dm_sent"]
    [recorded] = [line for line in lines if line.get("event") == "outcome_recorded"]
    assert sent["follow_up"] == [nudged["id"]] and isinstance(sent["agent"], int)
    assert (recorded["follow_up"], recorded["outcome"]) == (nudged["id"], "resolved")
    assert isinstance(recorded["case"], int) and recorded["agent"] == sent["agent"]
    assert set(sent) | set(recorded) <= {"time", "level", "logger", "message", *FIELDS}
    assert "Priya" not in buffer.getvalue() and "Refund" not in buffer.getvalue()
