"""`followup import FILE.csv`: backfill closed cases in batches, with their follow-up plans.

Rows carry the generic webhook's fields and are stored under one webhook source (default
`generic`), so a case that later arrives by that webhook is the same case, never a second one.
Cases and planned follow-ups are written a few thousand per statement; planning is the policy's
own `touch_steps` and `touch_times` (what `plan_touches` does), the steps worked out once per
kind of case, the times from tabled working windows (bulk_planning).

Parsing and checking one row is `bot.intake.backfill_rows`.
"""

from __future__ import annotations

import csv
import gc
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from tqdm import tqdm

from bot.cases import SOURCES, ClosedCase
from bot.deps import Deps
from bot.intake.backfill_rows import BackfillError, RowError, check_header, parse_row
from bot.planning.bulk import Planner
from db import bulk
from db import cases as store

if TYPE_CHECKING:
    from _csv import Reader

CHUNK = 2000
"""Rows per transaction and per INSERT: big enough to amortise, small enough to stay snappy."""
RARE_COLLECTIONS = 50_000
"""The garbage collector's young-generation threshold during an import (default 700)."""


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: counts, and every rejected row with its physical line number."""

    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    planned: int = 0
    too_late: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def summary(self) -> str:
        return (
            f"{self.rows} rows: imported {self.imported}, duplicates {self.duplicates}, "
            f"rejected {self.rejected}; planned {self.planned} follow-ups "
            f"({self.too_late} touches already past their cut-off were not planned)"
        )

    def rejection_lines(self) -> list[str]:
        return [f"line {r.line}: {r.reason}" for r in self.rejections]


def _store_chunk(
    deps: Deps, planner: Planner, source: str, chunk: list[ClosedCase], report: ImportReport
) -> None:
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        existing = bulk.existing_external_ids(session, source, (c.external_id for c in chunk))
        fresh = [c for c in chunk if c.external_id not in existing]
        report.duplicates += len(chunk) - len(fresh)
        slack_ids = {c.owner_slack_id for c in fresh if c.owner_slack_id} - planner.by_slack.keys()
        if slack_ids:
            created = bulk.agents_by_slack_id(session, slack_ids, now, None)
            planner.load(created)
            session.expunge_all()
        teams = [planner.team(session, c.team) for c in fresh]
        owners = [planner.owner_of(c) for c in fresh]
        inserted = bulk.insert_cases(
            session,
            [
                bulk.new_case_row(c, t.id, o, planner.manager_of(c), now)
                for c, t, o in zip(fresh, teams, owners, strict=True)
            ],
        )
        report.duplicates += len(fresh) - len(inserted)
        report.imported += len(inserted)
        followups: list[tuple[object, ...]] = []
        for case, team, owner_id in zip(fresh, teams, owners, strict=True):
            case_id = inserted.get(case.external_id)
            if case_id is None:
                continue
            rows, late = planner.touches(case, case_id, team, owner_id, now)
            followups += rows
            report.too_late += late
        report.planned += bulk.insert_followups(session, followups)


# --- the file -----------------------------------------------------------------------------


def _decoded(lines: Iterable[bytes], progress: _Progress | None) -> Iterator[str]:
    first = True
    for raw in lines:
        if progress is not None:
            progress.advance(len(raw))
        if first:
            _check_text(raw)
        line = raw.decode("utf-8", "surrogateescape")
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line


def _check_text(header: bytes) -> None:
    """A header line that is not UTF-8 text means the file is no CSV (a spreadsheet, an archive)."""
    try:
        header.decode("utf-8")
    except UnicodeDecodeError:
        raise BackfillError(
            "the file is not CSV text: its first line is not UTF-8 (export the sheet as CSV UTF-8)"
        ) from None
    if b"\x00" in header:
        raise BackfillError("the file is not CSV text: its first line holds NUL bytes")


class _Progress:
    """A progress bar (tqdm) by bytes read, brought up to date after each batch: only ever
    drawn on a terminal, so no `\r` frames end up in a log file."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.done = 0
        self._bar = tqdm(
            total=max(total, 1),
            file=stream,
            desc="importing",
            unit="B",
            unit_scale=True,
            dynamic_ncols=True,
        )

    def advance(self, size: int) -> None:
        self.done += size

    def draw(self, report: ImportReport) -> None:
        self._bar.set_postfix_str(
            f"{report.rows:,} rows, {report.rejected:,} rejected", refresh=False
        )
        self._bar.update(self.done - self._bar.n)

    def close(self) -> None:
        self._bar.close()


def import_lines(
    deps: Deps,
    lines: Iterable[bytes],
    *,
    source: str = "generic",
    total_bytes: int = 0,
    progress: IO[str] | None = None,
) -> ImportReport:
    """Import CSV `lines` (raw bytes, as read from the file); see `import_csv`."""
    if source not in SOURCES:
        raise BackfillError(f"--source: unknown source {source!r} (one of {', '.join(SOURCES)})")
    bar = _Progress(total_bytes, progress) if progress is not None else None
    reader = csv.reader(_decoded(lines, bar), strict=True)
    report = ImportReport()
    try:
        _import_file(deps, reader, source, report, bar)
    finally:
        if bar is not None:
            bar.close()
    _audit(deps, source, report)
    return report


def _import_file(
    deps: Deps, reader: Reader, source: str, report: ImportReport, bar: _Progress | None
) -> None:
    header: list[str] | None = None
    try:
        for record in reader:
            if any(value.strip() for value in record):
                header = check_header(record)
                break
        if header is None:
            raise BackfillError("the file is empty: a header row naming the columns is required")
        planner = Planner(deps)
        with deps.session_factory() as session:
            planner.load(bulk.all_agents(session))
            session.expunge_all()
        with _rare_collections():
            _import_records(deps, planner, reader, header, source, report, bar)
    except csv.Error as error:
        raise BackfillError(
            f"line {reader.line_num}: not readable as CSV ({error}); rows before it were "
            "imported, and running the import again after fixing the file imports none twice"
        ) from None
    if bar is not None:
        bar.draw(report)


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Let the cyclic garbage collector run rarely while the records are imported.

    A chunk keeps thousands of cases and rows alive until it is written: at the default
    threshold they outlive two young collections, reach the oldest generation and set off
    full collections of the whole heap (docs/performance.md). They hold no cycles (reference
    counting frees them once the chunk is written), so the collector has nothing to find.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], RARE_COLLECTIONS), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _import_records(
    deps: Deps,
    planner: Planner,
    reader: Reader,
    header: list[str],
    source: str,
    report: ImportReport,
    bar: _Progress | None,
) -> None:
    seen: set[str] = set()
    chunk: list[ClosedCase] = []
    previous = reader.line_num
    now = deps.clock.now()
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            report.rows += 1
            report.rejections.append(Rejection(previous + 1, f"not valid CSV: {error}"))
            previous = reader.line_num
            continue
        line, previous = previous + 1, reader.line_num
        if not any(value.strip() for value in record):
            continue  # an empty line
        report.rows += 1
        try:
            case = parse_row(header, record, source, now)
        except RowError as error:
            report.rejections.append(Rejection(line, str(error)))
            continue
        if case.external_id in seen:
            report.duplicates += 1
            continue
        seen.add(case.external_id)
        chunk.append(case)
        if len(chunk) >= CHUNK:
            _store_chunk(deps, planner, source, chunk, report)
            chunk = []
            if bar is not None:
                bar.draw(report)
    if chunk:
        _store_chunk(deps, planner, source, chunk, report)


def import_csv(
    deps: Deps, path: Path, *, source: str = "generic", progress: bool = True
) -> ImportReport:
    """Backfill closed cases from a CSV file; rerunning it imports nothing twice. `progress`:
    a progress bar on stderr, when stderr is a terminal."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise BackfillError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        size = path.stat().st_size
        on_terminal = progress and sys.stderr.isatty()
        return import_lines(
            deps,
            handle,
            source=source,
            total_bytes=size,
            progress=sys.stderr if on_terminal else None,
        )


def _audit(deps: Deps, source: str, report: ImportReport) -> None:
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        store.audit(
            session,
            at=now,
            actor="cli",
            surface="import",
            entity="case",
            entity_id=None,
            action="cases_imported",
            detail={
                "source": source,
                "rows": report.rows,
                "imported": report.imported,
                "duplicates": report.duplicates,
                "rejected": report.rejected,
                "planned": report.planned,
            },
        )
