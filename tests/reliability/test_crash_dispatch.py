"""Crash safety, the fast version of `tests/reliability/crash_dispatch.py` (read it first).

100 follow-ups for 100 agents; `followup dispatch` processes SIGKILLed 3 times within 0.6 s
of their first Web API call, each restarted 11 minutes (one lease) later, then one run to the
end. Slack answers each post after 0.1 s, so every kill lands mid-dispatch and most land
while a DM is in flight: Slack has it, our database does not. Every follow-up must still be
DMed exactly once and recorded as sent.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).with_name("crash_dispatch.py")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_dispatch", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_sigkilled_dispatch_runs_deliver_every_follow_up_exactly_once(tmp_path: Path) -> None:
    script = load_script()
    report = script.crash_test(100, 3, seed_value=7, window=0.6, post_delay=0.1, workdir=tmp_path)
    assert report.kills == 3, report.summary()
    assert report.duplicates == [], report.summary()
    assert report.lost == [], report.summary()
    assert report.not_sent_in_db == 0, report.summary()
    assert report.dms == 100
    # The kills interrupted real work: claims of killed runs were taken again after their
    # lease, and DMs Slack had before the crash were found in the history, not sent again.
    assert report.retried_claims > 0, report.summary()
    assert report.reconciled > 0, report.summary()


def test_the_count_catches_a_duplicate_and_a_loss() -> None:
    """The checker itself: a DM sent twice and a follow-up never sent are both reported."""
    script = load_script()
    from bot.sandbox import SlackSandbox

    with SlackSandbox(bot_token="xoxb-crash-test") as sandbox:
        sandbox.add_user("U0CRASH00001", name="agent1")
        from slack_sdk import WebClient

        client = WebClient(token="xoxb-crash-test", base_url=sandbox.api_url)
        for followup_ids in ([1, 2], [2], [4]):
            client.chat_postMessage(
                channel="U0CRASH00001",
                text="nudge",
                metadata={
                    "event_type": script.ids.METADATA_NUDGE,
                    "event_payload": {"followup_ids": followup_ids},
                },
            )
        client.chat_postMessage(channel="U0CRASH00001", text="not a nudge")
        nudged, dms = script.nudged_ids(sandbox)
    assert dms == 3
    assert sorted(nudged) == [1, 2, 2, 4]
