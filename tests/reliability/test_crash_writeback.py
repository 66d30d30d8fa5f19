"""Write-back under SIGKILL: `followup writeback deliver` killed mid-delivery, again and again.

40 Zendesk tickets each owe a note and a reopen. The helpdesk sandbox (in this process) lets
every call land and then holds its answer 50 ms, so a kill most often lands after Zendesk has
the note and before our database knows. Each run is SIGKILLed at a random moment, and the
next starts 11 minutes later in the bot's time, so the killed run's claims are
taken again; a retried claim looks for its marker on the ticket before adding the note. At the
end every ticket has exactly one note, carrying its row's marker, and is open; every row is
delivered.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime.start import build_deps, ensure_schema
from bot.sandbox.helpdesks import HelpdeskSandbox
from db import migrate
from db.models import Writeback
from tests.writeback.conftest import owe_notes

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TICKETS = 40
KILLS = 3


def seed(url: str, helpdesk: HelpdeskSandbox) -> None:
    """TICKETS cases closed in Zendesk, each with a "still not right" outcome and its row."""
    env = {"DATABASE_URL": url, **helpdesk.env("zendesk")}
    settings = Settings.from_env(env, require_slack=False)
    migrate.upgrade(url)
    deps = build_deps(settings, ManualClock(START))
    ensure_schema(deps)
    owe_notes(deps, helpdesk, TICKETS, start=START, first=5000)
    deps.engine.dispose()


def run(env: dict[str, str], now: datetime, kill_after: float | None) -> bool:
    """One `followup writeback deliver`; True when it was killed before it finished."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "writeback", "deliver", "--now", now.isoformat()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if kill_after is None:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        return False
    time.sleep(kill_after)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return True


def test_sigkilled_write_back_lands_every_note_once_and_reopens_every_ticket(
    helpdesk: HelpdeskSandbox, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    seed(url, helpdesk)
    helpdesk.hang("zendesk", 0.05, times=10**6, apply=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WRITEBACK_", "SLACK_"))},
        "DATABASE_URL": url,
        **helpdesk.env("zendesk"),
    }
    env_file = tmp_path / "empty.env"
    env_file.touch()
    rng = random.Random(24)
    now, kills = START, 0
    for _ in range(KILLS):
        kills += run(env, now, kill_after=0.8 + rng.random() * 0.8)
        now += timedelta(minutes=11)  # past the 10-minute lease of the killed run's claims
    run(env, now, kill_after=None)

    assert kills == KILLS, "every run was killed mid-way (raise the delay if not)"
    notes = {t.id: t.notes for t in helpdesk.tickets("zendesk")}
    assert all(len(found) == 1 for found in notes.values()), {
        k: len(v) for k, v in notes.items() if len(v) != 1
    }
    assert all(t.status == "open" for t in helpdesk.tickets("zendesk"))
    engine = build_deps(
        Settings.from_env({"DATABASE_URL": url}, require_slack=False), ManualClock(now)
    ).engine
    with engine.connect() as connection:
        grouped = select(Writeback.state, func.count()).group_by(Writeback.state)
        states = {state: count for state, count in connection.execute(grouped)}
        retried = connection.scalar(
            select(func.count()).select_from(Writeback).where(Writeback.attempts > 1)
        )
        markers = {row.ticket: row.marker for row in connection.execute(select(Writeback))}
    engine.dispose()
    assert states == {"delivered": TICKETS}
    assert retried > 0, "some claims were taken again after a kill"
    assert all(notes[t][0].body.endswith(markers[t]) for t in notes)
    looked = [c for c in helpdesk.calls("zendesk", "GET") if c.path.endswith("/comments")]
    assert looked, "a retried claim read the ticket's comments before writing"
