"""Two `followup run` processes on one PostgreSQL, the fast version of
`tests/reliability/two_instances.py` (read it first).

400 follow-ups already due for 200 agents in 4 teams, last week's digest due for each team;
both instances start together with the scheduler on (dispatch every second, every job's
first pass at start-up). Each follow-up must be DMed exactly once, one DM per agent, both
instances must have taken a share, and each team gets one digest for the week.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.realclock  # starts processes that read the real clock

SCRIPT = Path(__file__).with_name("two_instances.py")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("two_instances", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.postgres
def test_two_running_instances_dm_each_follow_up_once_and_post_one_digest_per_team(
    postgres_url: str, tmp_path: Path
) -> None:
    script = load_script()
    report = script.two_instances(
        postgres_url,
        400,
        200,
        4,
        interval=1,
        settle=2.0,
        timeout=30.0,
        post_seconds=0.1,  # 8 threads an instance: ~80 DMs/s, so 200 agents take ~2.5 s
        workdir=tmp_path,
    )
    summary = report.summary() + "\n" + report.output[-2000:]
    assert report.exit_codes == [0, 0], summary
    assert report.duplicates == [], summary
    assert report.lost == [], summary
    assert report.not_sent_in_db == 0, summary
    assert report.dms == 200, summary  # batching held: one DM per agent
    # Both instances worked: the claims were shared, not all taken by whoever started first.
    assert len(report.per_instance) == 2, summary
    assert all(n > 0 for n in report.per_instance.values()), summary
    assert report.digest_posts == {f"C0DIGTWO{t:04d}": 1 for t in range(4)}, summary
    assert report.digests_posted == 4, summary
    assert report.ok, summary
