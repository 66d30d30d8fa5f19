"""Edge values in signed webhooks: refused with a 400 naming the field, or made harmless.

A 500 makes a helpdesk retry forever; a value stored in a lossy form makes two tickets one.
- Case times must fall between 2000-01-01 and one year after the request was received.
- A numeric id must be a finite integer: `1e999`, `NaN`, `12.5` or `true` are refused (Python's
  json reads `1e999` as infinity and `NaN` as not-a-number); an id sent as a string is kept as is.
- A team name from a webhook that later names a file (the digest's chart, `followup digest
  --dry-run --chart-dir D`) is slugified there, so it never leaves D; D is created when missing.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import webhook_payloads as payloads
from sqlalchemy import func, select
from webhook_testkit import SECRET, signature_headers

from bot.digest import cli as digest_cli
from bot.digest.chart import PNG_MAGIC
from db.models import Case, FollowUp, Outcome
from tests.posting import post_webhook

# Each source with its payload maker and the body field that carries the close time.
CLOSE_TIME_FIELD: dict[str, tuple[Callable[..., dict[str, Any]], str]] = {
    "generic": (payloads.generic, "closed_at"),
    "zendesk": (payloads.zendesk_trigger, "updated_at"),
    "freshdesk": (payloads.freshdesk, "closed_at"),
}
# The vendors whose templates carry the ticket id as a bare JSON value.
TICKET_ID_FIELD: dict[str, Callable[..., dict[str, Any]]] = {
    "zendesk": payloads.zendesk_trigger,
    "freshdesk": payloads.freshdesk,
}

YEAR_1 = "0001-01-01T00:00:00+00:00"
YEAR_9999 = "9999-12-31T23:59:59+00:00"


@pytest.fixture
def helpdesks(make_bot: Any) -> Any:
    """A running bot with a secret for every source under test."""
    return make_bot(
        WEBHOOK_SECRET_GENERIC=SECRET,
        WEBHOOK_SECRET_ZENDESK=SECRET,
        WEBHOOK_SECRET_FRESHDESK=SECRET,
    )


def send(bot: Any, source: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST `body` to the bot, signed the way `source` signs it."""
    headers = {"Content-Type": "application/json"}
    headers.update(signature_headers(source, SECRET, body, at=bot.clock.now()))
    return post_webhook(f"{bot.url}/webhooks/{source}", body, headers)


def send_json(bot: Any, source: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return send(bot, source, json.dumps(payload).encode())


def with_raw_value(payload: dict[str, Any], field: str, raw: str) -> bytes:
    """The payload as JSON with `field` set to `raw` verbatim (e.g. `1e999`, `NaN`)."""
    body = json.dumps({**payload, field: "__RAW__"})
    return body.replace('"__RAW__"', raw).encode()


def stored_ids(bot: Any) -> list[str]:
    with bot.deps.session_factory() as session:
        return list(session.scalars(select(Case.external_id)))


def case_count(bot: Any) -> int:
    with bot.deps.session_factory() as session:
        return int(session.scalar(select(func.count(Case.id))) or 0)


# --- case times -------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", [YEAR_1, YEAR_9999], ids=["year-1", "year-9999"])
@pytest.mark.parametrize("source", sorted(CLOSE_TIME_FIELD))
def test_a_close_time_in_year_1_or_9999_is_refused_naming_the_field(
    helpdesks: Any, source: str, moment: str
) -> None:
    make, field = CLOSE_TIME_FIELD[source]

    status, reply = send_json(helpdesks, source, make(**{field: moment}))

    assert status == 400, reply
    assert reply["error"].startswith(f"{field}: "), reply
    assert case_count(helpdesks) == 0


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"],
    ids=["before-year-1-in-utc", "after-year-9999-in-utc"],
)
def test_a_close_time_whose_offset_leaves_the_calendar_is_refused(
    helpdesks: Any, moment: str
) -> None:
    status, reply = send_json(helpdesks, "generic", payloads.generic(closed_at=moment))

    assert status == 400, reply
    assert reply["error"].startswith("closed_at: "), reply
    assert case_count(helpdesks) == 0


def test_the_window_runs_from_2000_to_one_year_after_the_request_arrived(
    helpdesks: Any,
) -> None:
    now = helpdesks.clock.now()
    a_year_on = now.replace(year=now.year + 1)
    times = {
        "before-2000": ("1999-12-31T23:59:59+00:00", 400),
        "first-of-2000": ("2000-01-01T00:00:00+00:00", 202),
        "a-year-on": (a_year_on.isoformat(), 202),
        "past-a-year-on": ((a_year_on + timedelta(seconds=1)).isoformat(), 400),
    }
    for case_id, (moment, expected) in times.items():
        status, reply = send_json(
            helpdesks, "generic", payloads.generic(case_id=case_id, closed_at=moment)
        )
        assert status == expected, (case_id, reply)
        if expected == 400:  # the refusal names the window
            assert "2000-01-01" in reply["error"], reply
            assert a_year_on.date().isoformat() in reply["error"], reply
    assert sorted(stored_ids(helpdesks)) == ["a-year-on", "first-of-2000"]


@pytest.mark.parametrize("seconds", ["1e20", "-1e20", "253402300800000000"])
def test_an_out_of_range_unix_close_time_is_refused(helpdesks: Any, seconds: str) -> None:
    body = with_raw_value(payloads.freshdesk(), "closed_at", seconds)

    status, reply = send(helpdesks, "freshdesk", body)

    assert status == 400, reply
    assert reply["error"].startswith("closed_at: "), reply
    assert case_count(helpdesks) == 0


# --- numeric ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1e999", "-1e999", "NaN", "Infinity", "35436.5", "true"])
@pytest.mark.parametrize("source", sorted(TICKET_ID_FIELD))
def test_a_ticket_id_that_is_not_a_finite_integer_is_refused(
    helpdesks: Any, source: str, raw: str
) -> None:
    body = with_raw_value(TICKET_ID_FIELD[source](), "ticket_id", raw)

    status, reply = send(helpdesks, source, body)

    assert status == 400, reply
    assert reply["error"].startswith("ticket_id: "), reply
    assert case_count(helpdesks) == 0


def test_two_tickets_sent_as_1e999_and_nan_do_not_collide(helpdesks: Any) -> None:
    for raw in ("1e999", "1e998", "NaN", "NaN"):
        send(helpdesks, "zendesk", with_raw_value(payloads.zendesk_trigger(), "ticket_id", raw))

    assert stored_ids(helpdesks) == []


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("35436", "35436"),
        ("35436.0", "35436"),
        ('"1e999"', "1e999"),
        ('"NaN"', "NaN"),
        ('"0042"', "0042"),
    ],
)
def test_integer_and_string_ticket_ids_are_kept(helpdesks: Any, raw: str, stored: str) -> None:
    body = with_raw_value(payloads.freshdesk(), "ticket_id", raw)

    status, reply = send(helpdesks, "freshdesk", body)

    assert status == 202, reply
    assert stored_ids(helpdesks) == [stored]


# --- names that reach file paths --------------------------------------------------------------


def digest_dry_run(bot: Any, *arguments: str) -> tuple[int, str]:
    """`followup digest --dry-run <arguments>` on the bot's database and clock: (code, stdout)."""
    parser = argparse.ArgumentParser(prog="followup")
    digest_cli.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["digest", "--dry-run", "--week", "2026-W47", *arguments])
    out = io.StringIO()
    return digest_cli.run(bot.deps, args, out), out.getvalue()


def pngs_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.png"))


IN_W46 = "2026-11-13T09:00:00+00:00"
"""A close whose first touch is due in 2026-W47, the week these digests chart."""


def closed_and_answered(bot: Any, **fields: Any) -> None:
    """A case closed in W46 whose follow-up, due in W47, was answered the day it was due: the
    week has something to chart (a team with nothing in the period gets no chart, #22)."""
    status, reply = send_json(bot, "generic", payloads.generic(closed_at=IN_W46, **fields))
    assert status == 202, reply
    with bot.deps.session_factory.begin() as session:
        for followup in session.scalars(select(FollowUp)):
            followup.state = "done"
            session.add(
                Outcome(
                    follow_up_id=followup.id,
                    result="resolved",
                    recorded_by="U0AGENT",
                    recorded_at=followup.due_at + timedelta(hours=1),
                )
            )


def test_a_team_name_cannot_walk_the_chart_out_of_its_folder(
    helpdesks: Any, tmp_path: Path
) -> None:
    charts = tmp_path / "charts"
    # The folder the name's first step names, so `..` can climb (as the review found it).
    (charts / "followup-digest-x").mkdir(parents=True)
    closed_and_answered(helpdesks, team="x/../../pwned")

    code, printed = digest_dry_run(helpdesks, "--chart-dir", str(charts))

    assert code == 0, printed
    assert pngs_under(tmp_path) == [charts / "followup-digest-x-pwned-2026-W47.png"]
    assert f"chart: {charts / 'followup-digest-x-pwned-2026-W47.png'}" in printed


@pytest.mark.parametrize(
    ("team", "file_part"),
    [
        ("Billing", "billing"),
        ("EMEA Tier 2", "emea-tier-2"),
        ("Équipe Été", "equipe-ete"),
        ("..", "team"),
        ("***", "team"),
    ],
)
def test_a_chart_file_is_named_by_the_teams_slug(
    helpdesks: Any, tmp_path: Path, team: str, file_part: str
) -> None:
    closed_and_answered(helpdesks, team=team)

    code, printed = digest_dry_run(helpdesks, "--chart-dir", str(tmp_path))

    assert code == 0, printed
    assert pngs_under(tmp_path) == [tmp_path / f"followup-digest-{file_part}-2026-W47.png"]


def test_a_missing_chart_dir_is_created(helpdesks: Any, tmp_path: Path) -> None:
    closed_and_answered(helpdesks)
    folder = tmp_path / "not" / "yet"

    code, printed = digest_dry_run(helpdesks, "--chart-dir", str(folder))

    assert code == 0, printed
    [chart] = pngs_under(tmp_path)
    assert chart.parent == folder and chart.read_bytes().startswith(PNG_MAGIC)


def test_a_chart_dir_that_is_a_file_is_a_clear_error(
    helpdesks: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed_and_answered(helpdesks)
    taken = tmp_path / "taken"
    taken.write_text("not a folder")

    code, _ = digest_dry_run(helpdesks, "--chart-dir", str(taken))

    assert code == 2
    assert "--chart-dir" in capsys.readouterr().err
