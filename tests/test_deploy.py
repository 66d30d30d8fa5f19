"""deploy/followup.service: a systemd unit with what docs/deploy.md promises (a dedicated user,
the environment file, restarts, hardening, time to stop gracefully), running our own script.

Directive names and value syntax: systemd.service(5), systemd.exec(5) and systemd.unit(5)
(freedesktop.org); a unit file is INI-like: [Section] headers, Key=value lines, # comments.
"""

from __future__ import annotations

import configparser
import shlex
import tomllib
from pathlib import Path

from bot.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "followup.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text())
    return parser


def test_the_unit_parses_with_its_three_sections() -> None:
    assert unit().sections() == ["Unit", "Service", "Install"]


def test_the_service_runs_as_its_own_user_with_the_environment_file_and_restarts() -> None:
    service = unit()["Service"]
    assert service["User"] == "followup" and service["User"] != "root"
    assert service["WorkingDirectory"].startswith("/")
    assert service["EnvironmentFile"] == "/etc/followup/followup.env"
    assert service["Restart"] == "on-failure"
    assert int(service["RestartSec"]) > 0
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_a_setup_error_is_not_restarted_forever_but_a_temporary_one_is() -> None:
    """Exit status 2 (a missing variable, a refused token) would come back every 5 s for ever,
    below systemd's start limit; 75 (EX_TEMPFAIL: Slack or the database not there yet) must be
    retried. bot/cli.py exits with exactly these two."""
    from bot.cli import TEMPORARY_FAILURE

    prevented = unit()["Service"]["RestartPreventExitStatus"].split()
    assert prevented == ["2"]
    assert str(TEMPORARY_FAILURE) not in prevented


def test_the_service_is_hardened_but_may_write_its_sqlite_folder() -> None:
    service = unit()["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert "/var/lib/followup" in service["ReadWritePaths"].split()


def test_the_service_gets_longer_to_stop_than_systemds_default() -> None:
    """The stop waits for acknowledged work and a dispatch pass under way (bot/runtime/start.py
    `Running.stop`); systemd's default TimeoutStopSec is 90 s."""
    service = unit()["Service"]
    assert service.get("KillSignal", "SIGTERM") == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > 90


def test_exec_start_is_our_console_script_running_the_bot() -> None:
    program, *args = shlex.split(unit()["Service"]["ExecStart"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert Path(program).name in scripts
    assert scripts[Path(program).name] == "bot.cli:main"
    assert Path(program).parent.name == "bin" and ".venv" in Path(program).parts
    assert _parser().parse_args(args).command == "run"
