"""Benchmark: `followup import` rows per second on SQLite, beside a bare sqlite3 baseline.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--history]

Writes a CSV of closed cases (unicode, quoted commas and newlines, a mix of kinds, severities,
B2B accounts and owners), imports it into a fresh migrated SQLite file through
`bot.intake.backfill.import_csv` (parsing, validation, planning every case with the shipped policy,
batched inserts), and measures in the same run the floor any importer pays: Python's `csv`
reading the same file and one `sqlite3` executemany of its rows into an equivalent table.
By default every case closed in the last two weeks, so every case gets planned follow-ups
(the slowest path); `--history` spreads them over a year, as a typical backfill is.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import ManualClock
from bot.config import Settings
from bot.intake.backfill import import_csv
from bot.intake.backfill_rows import COLUMNS
from bot.runtime.start import build_deps
from db import migrate

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
KINDS = ("query", "complaint", "incident", "request")
SEVERITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("email", "phone", "chat", "web")


def write_csv(path: Path, rows: int, span: timedelta) -> None:
    step = span / rows
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            closed = NOW - span + step * i
            writer.writerow(
                [
                    f"BF-{i}",
                    f"Facture n°{i}, « remboursement » pas visible" if i % 3 else f"Login {i}",
                    closed.isoformat(),
                    f"agent{i % 40}@example.com",
                    "",
                    "Re-issued the credit note,\nconfirmed it posted" if i % 7 == 0 else "",
                    f"Zoë Müller {i}",
                    f"customer{i}@example.org",
                    f"Acme {i % 500}",
                    CHANNELS[i % 4],
                    SEVERITIES[i % 4],
                    KINDS[(i // 4) % 4],
                    "true" if i % 5 == 0 else "false",
                    "true" if i % 11 == 0 else "",
                    "am@example.com" if i % 5 == 0 else "",
                    "",
                    "billing;vip" if i % 13 == 0 else "",
                    f"https://help.example.com/tickets/{i}",
                ]
            )


def run_import(csv_path: Path, db_path: Path) -> tuple[float, str]:
    url = f"sqlite:///{db_path}"
    migrate.upgrade(url)
    settings = Settings.from_env({"DATABASE_URL": url}, require_slack=False)
    deps = build_deps(settings, ManualClock(NOW))
    started = time.perf_counter()
    report = import_csv(deps, csv_path, progress=False)
    elapsed = time.perf_counter() - started
    deps.engine.dispose()
    return elapsed, report.summary()


def run_baseline(csv_path: Path, db_path: Path) -> float:
    """Read the same file with `csv` and executemany every row into one plain table."""
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    columns = ", ".join(f"{name} TEXT" for name in COLUMNS)
    connection.execute(f"CREATE TABLE cases (id INTEGER PRIMARY KEY, {columns})")
    connection.execute("CREATE UNIQUE INDEX ux_cases ON cases (case_id)")
    placeholders = ", ".join("?" for _ in COLUMNS)
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        with connection:
            connection.executemany(
                f"INSERT INTO cases ({', '.join(COLUMNS)}) VALUES ({placeholders})", reader
            )
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--history", action="store_true", help="spread closes over a year")
    args = parser.parse_args()
    span = timedelta(days=365) if args.history else timedelta(days=14)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        csv_path = base / "cases.csv"
        write_csv(csv_path, args.rows, span)
        elapsed, summary = run_import(csv_path, base / "followup.db")
        baseline = run_baseline(csv_path, base / "baseline.db")
    ours, floor = args.rows / elapsed, args.rows / baseline
    print(f"rows: {args.rows:,}, closed over the last {span.days} days")
    print(f"followup import: {elapsed:.2f} s, {ours:,.0f} rows/s ({summary})")
    print(f"baseline (csv + bare sqlite3 executemany): {baseline:.2f} s, {floor:,.0f} rows/s")
    print(f"ratio: the import runs at {ours / floor:.2f}x the baseline's speed")


if __name__ == "__main__":
    main()
