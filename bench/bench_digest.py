"""Benchmark: building one team's weekly digest on SQLite, small history against large history.

    .venv/bin/python bench/bench_digest.py [--week-rows 50000] [--small 100000] [--large 1000000]

Seeds two fresh migrated SQLite files with the same week (2026-W47: `--week-rows` follow-ups,
nine in ten answered, the rest still open) after a history of `--small` and `--large`
follow-ups at the same weekly density (so the large file has ten times as many past weeks,
not busier ones), each with its case and outcome, all in one team (the worst case for the
team filter). Rows go in through sqlite3 `executemany`, which is the fast way to seed and
not what is measured. Then it times `bot.digest.content.build_digest` (the week's figures,
the five weeks of the chart and the 8-week root-cause trend with its quotes) + rendering +
Block Kit (best of 5 after a warm-up) on each, prints both and their ratio, and in the same run a
baseline: a bare `COUNT(*)` of the week's follow-ups and of its outcomes through their indexes.
`--explain` prints SQLite's plan for the digest's main queries.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from bot.digest.blocks import digest_blocks
from bot.digest.content import Week, build_digest, render_digest
from bot.runtime.start import build_deps
from db import migrate
from db.models import Team

TZ = ZoneInfo("Europe/London")
WEEK = Week.parse("2026-W47", TZ)
AS_OF = WEEK.end + timedelta(hours=9)
PER_PAST_WEEK = 10_000
CAUSES = [
    "billing setup",
    "docs gap",
    "handover lost",
    "bug returned",
    "wrong fix",
    "slow reply",
    "unclear answer",
    "config drift",
    "third party",
    "training",
]
RESULTS = ["resolved"] * 7 + ["not_resolved", "no_reply", "skipped"]
BATCH = 50_000


def _ts(moment: datetime) -> str:
    """How SQLAlchemy's SQLite DateTime stores a (UTC) instant."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(path: Path, history: int, week_rows: int) -> float:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    started = time.perf_counter()
    rng = random.Random(47)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    created = _ts(datetime(2020, 1, 1, tzinfo=UTC))
    db.execute(
        "INSERT INTO teams (id, slug, name, timezone, working_days, work_start, work_end, "
        "digest_day, digest_time, created_at) VALUES (1, 'default', 'Support', "
        "'Europe/London', 'mon,tue,wed,thu,fri', '09:00', '17:30', 'mon', '09:00', ?)",
        (created,),
    )
    db.executemany(
        "INSERT INTO agents (id, slack_user_id, team_id, is_lead, created_at) VALUES (?,?,1,0,?)",
        [(i, f"U{i:06d}", created) for i in range(1, 41)],
    )
    past_weeks = max(1, history // PER_PAST_WEEK)
    history_start = WEEK.start - timedelta(weeks=past_weeks)
    plan = [(history_start, WEEK.start, history, True), (WEEK.start, WEEK.end, week_rows, False)]
    next_id = 1
    for start, end, count, all_done in plan:
        span = (end - start).total_seconds()
        for offset in range(0, count, BATCH):
            cases, followups, outcomes = [], [], []
            for i in range(offset, min(offset + BATCH, count)):
                ident = next_id
                next_id += 1
                due = start + timedelta(seconds=span * (i + rng.random()) / count)
                closed = due - timedelta(hours=72)
                cases.append(
                    (ident, "zendesk", str(ident), 1, "closed", 1, f"Case {ident}: invoice",
                     "email", "normal", "request", 0, 0, "[]", _ts(closed), _ts(closed),
                     _ts(closed))
                )  # fmt: skip
                answered = all_done or rng.random() < 0.9
                flags = '["missing_resolution"]' if rng.random() < 0.03 else "[]"
                followups.append(
                    (ident, ident, 1, 1, "owner", "ordinary", "email", "check_in", 0,
                     ident % 40 + 1, "done" if answered else "sent", "", 0, _ts(due),
                     _ts(due + timedelta(hours=4)), _ts(due + timedelta(days=2)),
                     _ts(due + timedelta(days=7)), 1, 0, 0, flags, 1, _ts(closed), _ts(closed))
                )  # fmt: skip
                if answered:
                    result = rng.choice(RESULTS)
                    cause = rng.choice(CAUSES) if rng.random() < 0.6 else None
                    said = f"Customer {ident} said the fix was fine" if cause else None
                    recorded = min(
                        due + timedelta(hours=rng.uniform(1, 60)), end - timedelta(seconds=1)
                    )
                    if not all_done:
                        recorded = min(recorded, WEEK.end - timedelta(seconds=1))
                    outcomes.append(
                        (ident, result, said, cause, int(rng.random() < 0.1), 0,
                         int(rng.random() < 0.05), 0, "U000001", _ts(recorded))
                    )  # fmt: skip
            db.executemany(
                "INSERT INTO cases (id, source, external_id, cycle, status, team_id, subject, "
                "channel, severity, kind, b2b, senior_involved, tags, closed_at, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                cases,
            )
            db.executemany(
                "INSERT INTO follow_ups (id, case_id, cycle, touch, role, rule, channel, "
                "template, priority, assignee_id, state, why, automated_ok, due_at, remind_at, "
                "lead_at, missed_at, attempts, review_eligible, referral_eligible, draft_flags, "
                "version, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                followups,
            )
            db.executemany(
                "INSERT INTO outcomes (follow_up_id, result, customer_said, root_cause, "
                "review_asked, review_given, referral_asked, referral_given, recorded_by, "
                "recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                outcomes,
            )
            db.commit()
    db.close()
    return time.perf_counter() - started


def time_digest(path: Path, rounds: int = 5) -> tuple[float, Any]:
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{path}"}, require_slack=False)
    deps = build_deps(settings, ManualClock(AS_OF))
    with deps.session_factory() as session:
        team = session.scalar(select(Team))
        assert team is not None
    best = float("inf")
    content = None
    for _ in range(rounds + 1):  # the first round warms the page cache and the templates
        started = time.perf_counter()
        with deps.session_factory() as session:
            content = build_digest(session, team, WEEK, AS_OF)
        digest_blocks(render_digest(deps.renderer, content), digest_id=1)
        best = min(best, time.perf_counter() - started)
    deps.engine.dispose()
    return best, content


def time_baseline(path: Path, rounds: int = 5) -> float:
    """The floor: count the week's follow-ups and outcomes through their indexes, nothing else."""
    db = sqlite3.connect(path)
    start, end = _ts(WEEK.start), _ts(WEEK.end)
    best = float("inf")
    for _ in range(rounds + 1):
        started = time.perf_counter()
        db.execute(
            "SELECT count(*) FROM follow_ups WHERE due_at >= ? AND due_at < ?", (start, end)
        ).fetchone()
        db.execute(
            "SELECT count(*) FROM outcomes WHERE recorded_at >= ? AND recorded_at < ?",
            (start, end),
        ).fetchone()
        best = min(best, time.perf_counter() - started)
    db.close()
    return best


def explain(path: Path) -> None:
    db = sqlite3.connect(path)
    start, end = _ts(WEEK.start), _ts(WEEK.end)
    for sql in (
        "SELECT outcomes.result, count(*) FROM outcomes JOIN follow_ups ON follow_ups.id = "
        "outcomes.follow_up_id JOIN cases ON cases.id = follow_ups.case_id WHERE "
        "outcomes.recorded_at >= ? AND outcomes.recorded_at < ? AND cases.team_id + 0 = 1 "
        "GROUP BY outcomes.result",
        "SELECT count(*) FROM follow_ups JOIN cases ON cases.id = follow_ups.case_id WHERE "
        "follow_ups.due_at >= ? AND follow_ups.due_at < ? AND cases.team_id + 0 = 1",
    ):
        print("  " + sql[:90] + "…")
        for row in db.execute("EXPLAIN QUERY PLAN " + sql, (start, end)):
            print("     ", row[-1])
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--week-rows", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, history in (("small", args.small), ("large", args.large)):
            path = Path(folder) / f"{name}.db"
            seconds = seed(path, history, args.week_rows)
            print(
                f"seeded {history:>9,} history + {args.week_rows:,} week follow-ups "
                f"(with cases and outcomes) in {seconds:.1f} s"
            )
            if args.explain:
                explain(path)
            digest, content = time_digest(path)
            baseline = time_baseline(path)
            results[name] = (history, digest, baseline, content)
    print()
    print(f"{'history':>10} {'digest (best of 5)':>20} {'baseline COUNTs':>17}  week figures")
    for history, digest, baseline, content in results.values():
        print(
            f"{history:>10,} {digest * 1000:>17.0f} ms {baseline * 1000:>14.1f} ms  "
            f"due {content.due:,}, closed {content.closed:,}, overdue {content.overdue:,}, "
            f"causes over 8 weeks {len(content.cause_trends)}, "
            f"keeps coming back {len(content.keeps_coming_back)}"
        )
    small, large = results["small"][1], results["large"][1]
    print(f"\nlarge / small history: {large / small:.2f}x for the same week (budget: 1 s each)")
    print(f"digest / baseline (large): {large / results['large'][2]:.1f}x")


if __name__ == "__main__":
    main()
