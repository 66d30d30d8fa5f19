"""`followup webhooks recipe|test`: what a helpdesk admin runs while setting a webhook up."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from bot.runtime import webhooks_cli
from handlers.webhooks import ADAPTERS
from handlers.webhooks.recipes import RECIPES
from tests.posting import GENERIC_SECRET


def env_file(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "test.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def test_every_source_has_a_recipe() -> None:
    assert set(RECIPES) == set(ADAPTERS)


def test_the_recipe_names_the_url_from_public_url_and_the_secret_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    settings = env_file(tmp_path, PUBLIC_URL="https://followup.example.com/")
    assert main(["--env-file", str(settings), "webhooks", "recipe", "generic"]) == 0
    out = capsys.readouterr().out
    assert "URL: https://followup.example.com/webhooks/generic\n" in out
    assert "Secret: WEBHOOK_SECRET_GENERIC = " in out
    assert "<your host>" not in out


def test_without_public_url_the_recipe_says_what_to_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    assert main(["--env-file", str(env_file(tmp_path)), "webhooks", "recipe", "generic"]) == 0
    out = capsys.readouterr().out
    assert "https://<your host>/webhooks/generic" in out
    assert "PUBLIC_URL is not set" in out


def test_an_unknown_source_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["webhooks", "recipe", "zendeks"])
    assert "zendeks" in capsys.readouterr().err


def run_test(bot: Any, source: str, *extra: str) -> int:
    settings: Settings = bot.deps.settings
    args = argparse.Namespace(
        webhooks_command="test", source=source, url=bot.url, keep="--keep" in extra
    )
    return webhooks_cli.run(settings, args, clock=bot.clock)


def test_a_test_delivery_reaches_the_running_bot_and_reports_what_it_stored(
    bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_test(bot, "generic") == 0
    out = capsys.readouterr().out
    assert ": 202 " in out
    assert ": cycle 1, closed" in out
    assert "owner: not matched to a Slack user" in out  # agent@example.com is nobody here
    assert "touch 1: email" in out
    assert "cancelled its" in out
    with bot.deps.session_factory() as session:
        from db.cases import stored_case

        stored = stored_case(
            session, "generic", f"followup-test-{int(bot.clock.now().timestamp())}"
        )
    assert stored is not None
    assert {touch.state for touch in stored.touches} == {"cancelled"}


def test_keep_leaves_the_test_case_to_be_followed_up(
    bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_test(bot, "generic", "--keep") == 0
    assert "cancelled" not in capsys.readouterr().out


def test_a_wrong_secret_is_reported_with_what_to_check(
    bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    settings = replace(bot.deps.settings, webhook_secrets={"generic": "not-" + GENERIC_SECRET})
    args = argparse.Namespace(webhooks_command="test", source="generic", url=bot.url, keep=False)
    assert webhooks_cli.run(settings, args, clock=bot.clock) == 1
    out = capsys.readouterr().out
    assert ": 401 " in out
    assert "WEBHOOK_SECRET_GENERIC is the same" in out


def test_a_bot_that_is_not_running_is_named(bot: Any, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        webhooks_command="test", source="generic", url="http://127.0.0.1:9", keep=False
    )
    assert webhooks_cli.run(bot.deps.settings, args, clock=bot.clock) == 1
    assert "cannot reach the bot at http://127.0.0.1:9" in capsys.readouterr().out


def test_the_docs_carry_each_recipe_exactly_as_the_command_prints_it() -> None:
    from handlers.webhooks.recipes import docs_section

    page = (Path(__file__).resolve().parents[2] / "docs" / "helpdesks.md").read_text()
    assert docs_section() in page, (
        "docs/helpdesks.md is out of date: paste handlers.webhooks.recipes.docs_section() "
        "under 'Per-vendor setup'"
    )


SECRET = "a-webhook-secret-of-32-characters"
SETTINGS_A_RECIPE_NEEDS = {
    "hubspot": {"HUBSPOT_ACCEPT_V2": "true"},
    "jira": {"WEBHOOK_TOKEN_SOURCES": "jira"},
}


@pytest.mark.parametrize("source", sorted(RECIPES))
def test_each_vendors_sample_is_stored_by_a_bot_set_up_as_its_recipe_says(
    source: str, make_bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = make_bot(
        PUBLIC_URL="https://followup.example.com",
        **{f"WEBHOOK_SECRET_{source.upper()}": SECRET},
        **SETTINGS_A_RECIPE_NEEDS.get(source, {}),
    )
    assert run_test(bot, source) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert ": 202 " in out and f"stored {source}:" in out
    for variable, _ in RECIPES[source].extra:
        assert variable in RECIPES[source].text(None)


def test_a_setting_the_recipe_relies_on_is_named_when_the_bot_refuses(
    make_bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = make_bot(PUBLIC_URL="https://followup.example.com", WEBHOOK_SECRET_JIRA=SECRET)
    assert run_test(bot, "jira") == 1
    assert "the recipe also relies on WEBHOOK_TOKEN_SOURCES" in capsys.readouterr().out


def test_a_sample_the_bot_already_had_is_reported_and_its_follow_ups_left_alone(
    bot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only a case the sample itself created is cancelled: a duplicate answer names a case that
    was there before, whose follow-ups are someone's real work."""
    assert run_test(bot, "generic", "--keep") == 0
    assert run_test(bot, "generic") == 1  # the same second: the same synthetic id
    assert "did not store the sample as a new case: duplicate" in capsys.readouterr().out
    with bot.deps.session_factory() as session:
        from db.cases import stored_case

        sample = f"followup-test-{int(bot.clock.now().timestamp())}"
        stored = stored_case(session, "generic", sample)
    assert stored is not None
    assert "cancelled" not in {touch.state for touch in stored.touches}
