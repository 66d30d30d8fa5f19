"""`GET /metrics`: Prometheus metrics, served only with METRICS=1.

The series are process-wide (bot/metrics.py) and the tests start many bots in one process, so
each test compares a scrape before with one after: the deltas are what this bot did. Scrapes
are parsed with prometheus_client's own parser (`prometheus_client.parser`).
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot import ids, metrics
from bot.config import Settings, SettingsError
from bot.digest.post import digest_due_pass
from bot.dispatch.dispatcher import dispatch_pass
from bot.dispatch.overdue import overdue_pass
from bot.runtime.listener_pool import ListenerPool
from bot.runtime.server import FollowupWSGI
from bot.runtime.start import build_deps
from bot.sandbox.waiting import wait_for
from db.models import FollowUp
from tests.nudging import FRIDAY_10_UTC

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

TUESDAY_0930_UTC = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
"""09:30 in London: the DM due Monday 10:00 goes out 23.5 hours late on the wall clock, but
only 8 working hours late (Monday 10:00-17:30, then Tuesday 09:00-09:30)."""


def scrape(url: str) -> Samples:
    """Every sample /metrics serves: (name, labels) -> value."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(before: Samples, after: Samples) -> Callable[..., float]:
    """How much the sample `name` with `labels` grew between the two scrapes."""

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        assert key in after, f"{name}{labels} is not served"
        return after[key] - before.get(key, 0.0)

    return grew


@pytest.fixture
def metered(make_bot: Any) -> Any:
    return make_bot(METRICS="1")


def test_a_webhook_a_dm_and_an_outcome_move_their_series(metered: Any) -> None:
    bot = metered
    before = scrape(bot.url)

    status, _ = bot.post_generic(
        {
            "case_id": "ZD-901",
            "subject": "Refund missing on the March invoice",
            "resolution": "Re-issued the credit note",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": "ada@example.com",
        }
    )
    assert status == 202
    with bot.deps.session_factory() as session:
        [due] = session.scalars(select(FollowUp.due_at)).all()
    assert due == datetime(2026, 11, 23, 10, 0, tzinfo=UTC), "an ordinary case: 72 h later"

    # The DM goes out on Tuesday morning; its first post is rate-limited once.
    bot.sandbox.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=1)
    bot.clock.set(TUESDAY_0930_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    [dm] = bot.sandbox.dm_messages("U0AGENT")
    followup_id = dm["metadata"]["event_payload"]["followup_ids"][0]

    channel = bot.sandbox.im_channel("U0AGENT")
    bot.driver.block_action_from_message(
        "U0AGENT", channel, dm["ts"], ids.ACTION_FOLLOWED_UP, str(followup_id)
    )
    modal = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v.get("callback_id") == ids.VIEW_OUTCOME
        ]
    )
    assert modal, "the outcome modal opened"
    answer = bot.driver.submit_view("U0AGENT", modal[-1]["id"], {"result": "resolved"})
    assert answer.status == 200

    # Tuesday 09:30 is past Monday 09:00 in London: last week's digest is due.
    assert digest_due_pass(bot.deps).posted

    grew = delta(before, scrape(bot.url))
    assert grew("followup_webhooks_total", source="generic", outcome="accepted") == 1
    assert grew("followup_cases_accepted_total", source="generic") == 1
    assert grew("followup_followups_planned_total") == 1
    assert grew("followup_followups_due_total") == 1
    assert grew("followup_followups_sent_total") == 1
    assert grew("followup_followups_done_total", outcome="resolved") == 1
    assert grew("followup_dm_lateness_seconds_count") == 1
    assert grew("followup_dm_lateness_seconds_sum") == 8 * 3600
    assert grew("followup_dm_lateness_seconds_bucket", le="28800.0") == 1
    assert grew("followup_dm_lateness_seconds_bucket", le="14400.0") == 0
    post = {"method": "chat.postMessage"}
    assert grew("followup_slack_api_calls_total", **post, result="ratelimited") == 1
    assert grew("followup_slack_api_calls_total", **post, result="ok") >= 2  # the DM, the digest
    assert grew("followup_slack_retry_after_seconds_count", **post) == 1
    assert grew("followup_slack_retry_after_seconds_sum", **post) == 1.0
    assert grew("followup_dispatch_pass_duration_seconds_count") == 1
    assert grew("followup_digest_posts_total", outcome="posted") == 1
    assert grew("followup_listener_queue_depth") == 0, "everything acknowledged has run"


def test_a_follow_up_past_its_cut_off_with_no_outcome_counts_as_missed(metered: Any) -> None:
    bot = metered
    status, _ = bot.post_generic(
        {
            "case_id": "ZD-902",
            "subject": "Login loop on the mobile app",
            "closed_at": FRIDAY_10_UTC.isoformat(),
            "owner_email": "ada@example.com",
        }
    )
    assert status == 202
    with bot.deps.session_factory() as session:
        [missed_at] = session.scalars(select(FollowUp.missed_at)).all()
    assert missed_at is not None
    bot.clock.set(missed_at - timedelta(minutes=1))
    overdue_pass(bot.deps)
    assert scrape(bot.url)[("followup_followups_missed_past_week", frozenset())] == 0
    bot.clock.set(missed_at + timedelta(minutes=1))
    overdue_pass(bot.deps)
    assert scrape(bot.url)[("followup_followups_missed_past_week", frozenset())] == 1


def test_without_metrics_the_route_is_a_404(bot: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{bot.url}/metrics", timeout=10)
    assert refused.value.code == 404


def test_metrics_takes_only_get(metered: Any) -> None:
    request = urllib.request.Request(f"{metered.url}/metrics", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405


def test_metrics_are_served_in_socket_mode_too(sqlite_url: str) -> None:
    """In Socket Mode the HTTP server still runs (webhooks, /healthz), and so does /metrics."""
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test",
            "DATABASE_URL": sqlite_url,
            "METRICS": "1",
        }
    )
    deps = build_deps(settings)
    wsgi = FollowupWSGI(deps, None, lambda _deps, _request: (500, {}))
    answered: list[str] = []
    environ = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    body = b"".join(wsgi(environ, lambda status, _headers: answered.append(status)))
    assert answered == ["200 OK"]
    assert b"followup_webhooks_total" in body
    deps.engine.dispose()


@pytest.mark.parametrize("value", ["yes", "2", "on"])
def test_metrics_must_be_1_or_0(value: str) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "METRICS": value}
    with pytest.raises(SettingsError, match="METRICS is malformed"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "METRICS": "1"}).metrics
    assert not Settings.from_env({**env, "METRICS": "0"}).metrics
    assert not Settings.from_env({k: v for k, v in env.items() if k != "METRICS"}).metrics


def test_the_listener_queue_depth_counts_work_waiting_for_a_thread() -> None:
    pool = ListenerPool(1)
    gate = threading.Event()
    depth = metrics.LISTENER_QUEUE._value.get  # the gauge's current value
    try:
        start = depth()
        busy = pool.submit(gate.wait, 5)
        assert wait_for(lambda: depth() == start, timeout=5), "running work has left the queue"
        waiting = [pool.submit(lambda: None) for _ in range(3)]
        assert depth() == start + 3
        gate.set()
        for future in [busy, *waiting]:
            future.result(timeout=5)
        assert depth() == start
    finally:
        gate.set()
        pool.shutdown()


DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def _metrics_section() -> str:
    text = DEPLOY.read_text(encoding="utf-8")
    start = text.index("## 11. Metrics")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def _served_names() -> set[str]:
    """Every sample name our series serve, labelled ones included before their first use."""
    return {
        family.name + suffix
        for family in metrics.REGISTRY.collect()
        if family.name.startswith("followup_")
        for suffix in SUFFIXES[family.type]
    }


def test_the_deploy_docs_list_every_series_and_alert_only_on_served_ones() -> None:
    section = _metrics_section()
    families = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in metrics.REGISTRY.collect()
        if family.name.startswith("followup_")
    }
    listed = set(re.findall(r"^\| `(followup_[a-z_]+)`", section, flags=re.MULTILINE))
    assert listed == families
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    rules = [
        rule
        for block in blocks
        for group in yaml.safe_load(block).get("groups", [])
        for rule in group["rules"]
    ]
    assert len(rules) == 4  # three from #23, and failed write-backs (#24)
    served = _served_names()
    for rule in rules:
        named = set(re.findall(r"followup_[a-z_]+", rule["expr"]))
        assert named and named <= served, rule["alert"]
