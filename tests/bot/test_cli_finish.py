"""The `followup` command line as an operator meets it: a version, help with an example on
every command, plain text (no Slack markup), empty lists that say so, a progress bar only on a
terminal, no spurious warning at start, and a `.env.example` that lists exactly what is read."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from bot.cli import _parser, main
from bot.config import Settings, SettingsError
from bot.people.roster import roster_lines, roster_text
from db.cases import agent_by_slack_id
from tests.bot.test_cli import FOLLOWUP, clean_env, run_cli

ROOT = Path(__file__).resolve().parents[2]
CSV = (
    "case_id,subject,closed_at,owner_email,owner_slack_id,channel,kind,severity,b2b,tags,team\n"
    "1,Printer *on fire* `now`,2026-11-19T10:00:00Z,ada@example.com,U0ADA,email,complaint,high,"
    "no,,support\n"
    "2,Refund <ok>,2026-11-18T10:00:00Z,bob@example.com,U0BOB,chat,query,low,yes,,support\n"
)
SLACK_MARKUP = re.compile(r"`|<@|<#|(?<!\w)\*\S|&lt;|&gt;|&amp;")


def offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/f.db", **extra)


def imported(tmp_path: Path) -> dict[str, str]:
    """A database holding the two cases of `CSV`, imported with stderr not a terminal."""
    (tmp_path / "cases.csv").write_text(CSV)
    env = offline_env(tmp_path)
    result = run_cli("import", "cases.csv", "--now", "2026-11-20T10:00:00Z", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return env


# --- version and help -----------------------------------------------------------------------


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    result = run_cli("--version", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"followup {version('followup')}"


def every_parser(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from every_parser(child, (*path, name))


def test_every_command_and_subcommand_help_says_what_it_does_and_shows_an_example() -> None:
    found = dict(every_parser(_parser()))
    for nested in (("db", "upgrade"), ("agents", "list"), ("policy", "explain"), ("teams", "set")):
        assert nested in found
    for path, parser in found.items():
        text = parser.format_help()
        assert parser.description, f"followup {' '.join(path)} --help says nothing"
        example = re.search(r"examples?:\n  (followup .+|\S+=\S+ followup .+)", text)
        assert example, f"followup {' '.join(path)} --help shows no example"
        assert " ".join(path) in example.group(0), f"the example of {path} runs another command"


def test_nested_help_in_a_real_process(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", "--help", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0
    assert "Apply the shipped migrations" in result.stdout
    assert "example:\n  followup db upgrade" in result.stdout


# --- plain text and empty lists -------------------------------------------------------------


def test_empty_lists_say_so_and_need_no_slack_tokens(tmp_path: Path) -> None:
    env = offline_env(tmp_path)
    teams = run_cli("teams", "list", env=env, cwd=tmp_path)
    agents = run_cli("agents", "list", env=env, cwd=tmp_path)
    digest = run_cli("digest", "--dry-run", env=env, cwd=tmp_path)
    assert digest.returncode == 0, digest.stderr
    assert digest.stdout.startswith("no team has cases yet"), "it printed nothing at all"
    assert teams.returncode == 0, teams.stderr
    assert teams.stdout.startswith("no teams yet")
    assert agents.returncode == 0, agents.stderr
    assert agents.stdout.count("none yet") == 2
    for result in (teams, agents):
        assert not SLACK_MARKUP.search(result.stdout), result.stdout


def test_the_digest_preview_is_plain_text(tmp_path: Path) -> None:
    env = imported(tmp_path)
    result = run_cli(
        "digest",
        "--dry-run",
        "--week",
        "2026-W47",
        "--now",
        "2026-11-25T10:00:00Z",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Weekly follow-up digest: support")
    assert "followup digest --team support --week 2026-W47 --format csv" in result.stdout
    assert not SLACK_MARKUP.search(result.stdout), result.stdout


def test_agents_list_names_people_in_plain_text_while_slack_keeps_mrkdwn(bot: Any) -> None:
    with bot.deps.session_factory.begin() as session:
        agent = agent_by_slack_id(session, "U0AGENT", bot.clock.now())
        lead = agent_by_slack_id(session, "U0LEAD", bot.clock.now())
        session.flush()
        lead.is_lead, lead.display_name, agent.lead_id = True, "Grace Hopper", lead.id
    text = "\n".join(roster_text(bot.deps))
    assert "Grace Hopper (U0LEAD): lead" in text
    assert "reports to Grace Hopper (U0LEAD)" in text
    assert not SLACK_MARKUP.search(text), text
    assert "<@U0LEAD>" in "\n".join(roster_lines(bot.deps)), "Slack still gets mentions"


# --- the import's progress ------------------------------------------------------------------


def test_no_progress_frames_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(CSV)
    result = run_cli("import", "cases.csv", env=offline_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("2 rows: imported 2, duplicates 0, rejected 0")


def test_a_progress_bar_on_a_terminal_and_the_summary_line_either_way(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(CSV)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = subprocess.run(
            [*FOLLOWUP, "import", "cases.csv"],
            env=offline_env(tmp_path),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=60,
        )
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
    assert process.returncode == 0
    assert b"importing" in terminal and b"100%" in terminal
    assert process.stdout.startswith("2 rows: imported 2")


# --- the environment ------------------------------------------------------------------------


class Probe(str):
    """A variable name handed to the settings when they list the environment: records each
    prefix they test it against (a family of variables like WEBHOOK_SECRET_<SOURCE>)."""

    prefixes: set[str] = set()

    def startswith(self, prefix: Any, *args: Any) -> bool:
        for one in prefix if isinstance(prefix, tuple) else (prefix,):
            Probe.prefixes.add(one)
        return False


class RecordingEnv(Mapping[str, str]):
    """An empty environment that records every name looked up in it."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        if isinstance(name, Probe):
            return ""  # listed, but set to nothing
        self.read.add(name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter([Probe("PROBE")])

    def __len__(self) -> int:
        return 1


def variables_read() -> tuple[set[str], set[str]]:
    """The variables the settings read, and the prefixes of the families they read."""
    Probe.prefixes = set()
    names: set[str] = set()
    for require_slack in (True, False):
        env = RecordingEnv()
        with contextlib.suppress(SettingsError):  # tokens missing: only the reads matter
            Settings.from_env(env, require_slack=require_slack)
        names |= env.read
    return names - {"PROBE"}, set(Probe.prefixes)


def example_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_env_example_lists_exactly_the_variables_the_settings_read() -> None:
    read, prefixes = variables_read()
    listed = example_variables()
    assert "LOG_FORMAT" in read and "WEBHOOK_SECRET_" in prefixes, "the probe sees the reads"
    assert sorted(read - listed) == [], "read by the code but missing from .env.example"
    families = {p for p in prefixes if any(name.startswith(p) for name in listed)}
    assert sorted(prefixes - families) == [], "a family of variables with no example"
    unread = {n for n in listed - read if not any(n.startswith(p) for p in prefixes)}
    assert sorted(unread) == [], "in .env.example but never read"


def test_env_example_names_only_commands_that_exist() -> None:
    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"`followup ([a-z-]+)", text))
    commands = {path[0] for path, _ in every_parser(_parser()) if path}
    assert named and named <= commands, named - commands


# --- start-up -------------------------------------------------------------------------------


pytestmark = pytest.mark.realclock  # the subprocesses read the real clock


def test_an_env_file_that_is_not_there_stops_before_anything_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`followup --env-file /etc/followup.env db upgrade` with a mistyped path used to go on
    with the defaults and migrate a new SQLite file in the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--env-file", str(tmp_path / "typo.env"), "db", "upgrade"]) == 2
    assert f"--env-file {tmp_path / 'typo.env'}: no such file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_explaining_a_case_that_is_not_there_fails_with_how_to_name_one(tmp_path: Path) -> None:
    """It printed "No case" and exited 0, so a script could not tell."""
    env = offline_env(tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s")
    result = run_cli("policy", "explain", "9999", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "no case '9999': use <source>:<id>" in result.stderr
