"""`followup import FILE.csv`: backfill closed cases in batches, with their follow-up plans.

Rows carry the generic webhook's fields and are stored under one webhook source (default
`generic`), so a case that later arrives by that webhook is the same case, never a second one.
Cases and planned follow-ups are written a few thousand per statement; planning is the policy's
own `touch_steps` and `touch_times` (what `plan_touches` does), the steps worked out once per
kind of case, the times from tabled working windows (bulk_planning).
"""

from __future__ import annotations

import csv
import gc
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from bot.bulk_planning import Planner
from bot.cases import SOURCES, CaseError, Channel, ClosedCase, Kind, Severity
from bot.deps import Deps
from db import bulk
from db import cases as store

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = (
    "case_id",
    "subject",
    "closed_at",
    "owner_email",
    "owner_slack_id",
    "resolution",
    "customer_name",
    "customer_email",
    "company",
    "channel",
    "severity",
    "kind",
    "b2b",
    "senior_involved",
    "account_manager_email",
    "team",
    "tags",
    "url",
)
REQUIRED_COLUMNS = ("case_id", "subject", "closed_at")
CHUNK = 2000
"""Rows per transaction and per INSERT: big enough to amortise, small enough to stay snappy."""
RARE_COLLECTIONS = 50_000
"""The garbage collector's young-generation threshold during an import (default 700)."""

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_TAG_SPLIT = re.compile(r"[,;]")
_SPACE = re.compile(r"\s")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""Bytes that were not UTF-8, kept by the surrogateescape decoder so one row can be refused."""
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
E = TypeVar("E", bound=StrEnum)


class BackfillError(Exception):
    """The file as a whole cannot be imported (missing, no header, unknown columns)."""


class RowError(ValueError):
    """One row cannot be imported; the message is the reason shown with its line number."""


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


# --- one row ------------------------------------------------------------------------------


_MEMBERS: dict[type[StrEnum], dict[str, StrEnum]] = {
    kind: {member.value: member for member in kind} for kind in (Channel, Severity, Kind)
}


def _choice(value: str | None, name: str, kind: type[E], default: E) -> E:
    if value is None:
        return default
    found = _MEMBERS[kind].get(value.lower())
    if found is None:
        allowed = ", ".join(member.value for member in kind)
        raise RowError(f"{name}: unknown value {value[:40]!r} (one of: {allowed})")
    return found  # type: ignore[return-value]


def _flag(value: str | None, name: str) -> bool:
    word = (value or "").lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowError(f"{name}: expected true or false, got {word[:40]!r}")


def _email(value: str | None, name: str) -> str | None:
    if value is not None and (value.count("@") != 1 or _SPACE.search(value)):
        raise RowError(f"{name}: is not an email address: {value[:80]!r}")
    return value


def _closed_at(value: str | None) -> datetime:
    if value is None:
        raise RowError("closed_at: is required (ISO 8601 with an offset)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"closed_at: not an ISO 8601 date and time: {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RowError(f"closed_at: needs an offset or Z (e.g. 2026-11-20T10:00:00Z): {value!r}")
    return moment


def parse_row(header: list[str], values: list[str], source: str) -> ClosedCase:
    """A closed case from one CSV record, with the generic webhook's rules; RowError if not."""
    if len(values) != len(header):
        raise RowError(f"has {len(values)} fields, the header has {len(header)}")
    joined = "".join(values)
    try:
        # Encoding fails only on a surrogate, and fast: scanning every row with the regex
        # took longer than the rest of the checks together.
        joined.encode()
    except UnicodeEncodeError:
        if _UNDECODABLE.search(joined):
            raise RowError("contains bytes that are not valid UTF-8") from None
    data = {name: raw.strip() or None for name, raw in zip(header, values, strict=True)}
    get = data.get
    case_id, subject = get("case_id"), get("subject")
    if case_id is None:
        raise RowError("case_id: is required")
    if subject is None:
        raise RowError("subject: is required")
    owner_email = _email(get("owner_email"), "owner_email")
    owner_slack_id = get("owner_slack_id")
    if owner_slack_id is not None and not _SLACK_USER.match(owner_slack_id):
        raise RowError(f"owner_slack_id: is not a Slack user id: {owner_slack_id[:40]!r}")
    if not (owner_email or owner_slack_id):
        raise RowError("owner_email: an owner_email or owner_slack_id is required")
    url = get("url")
    if url is not None and not url.lower().startswith(("https://", "http://")):
        raise RowError("url: must be an http(s) URL")
    tags = get("tags")
    try:
        return ClosedCase(
            source=source,
            external_id=case_id,
            subject=subject,
            closed_at=_closed_at(get("closed_at")),
            owner_email=owner_email,
            owner_slack_id=owner_slack_id,
            resolution=get("resolution"),
            customer_name=get("customer_name"),
            customer_email=_email(get("customer_email"), "customer_email"),
            company=get("company"),
            channel=_choice(get("channel"), "channel", Channel, Channel.EMAIL),
            severity=_choice(get("severity"), "severity", Severity, Severity.NORMAL),
            kind=_choice(get("kind"), "kind", Kind, Kind.REQUEST),
            b2b=_flag(get("b2b"), "b2b"),
            senior_involved=_flag(get("senior_involved"), "senior_involved"),
            account_manager_email=_email(get("account_manager_email"), "account_manager_email"),
            team=get("team"),
            tags=tuple(t.strip() for t in _TAG_SPLIT.split(tags) if t.strip()) if tags else (),
            url=url,
        )
    except CaseError as error:
        raise RowError(str(error)) from None


def check_header(record: list[str]) -> list[str]:
    """The column names of a header row; BackfillError naming unknown or missing columns."""
    header = [name.strip().lower() for name in record]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise BackfillError(
            f"unknown column(s) {', '.join(repr(n) for n in unknown)} in the header (line 1); "
            f"the columns are: {', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise BackfillError(f"column(s) {', '.join(repeated)} appear more than once")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise BackfillError(f"the header lacks the required column(s) {', '.join(missing)}")
    if "owner_email" not in header and "owner_slack_id" not in header:
        raise BackfillError("the header needs an owner_email or an owner_slack_id column")
    return header


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
        line = raw.decode("utf-8", "surrogateescape")
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line


class _Progress:
    """A one-line progress bar on stderr, redrawn after each batch."""

    def __init__(self, total: int, stream: IO[str], width: int = 30) -> None:
        self.total, self.stream, self.width, self.done = max(total, 1), stream, width, 0

    def advance(self, size: int) -> None:
        self.done += size

    def draw(self, report: ImportReport, final: bool = False) -> None:
        share = min(self.done / self.total, 1.0)
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\rimporting [{bar}] {share:4.0%}  {report.rows:,} rows, "
            f"{report.rejected:,} rejected" + ("\n" if final else "")
        )
        self.stream.flush()


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
    header: list[str] | None = None
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
    if bar is not None:
        bar.draw(report, final=True)
    _audit(deps, source, report)
    return report


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Let the cyclic garbage collector run rarely while the records are imported.

    A chunk keeps thousands of cases and rows alive until it is written: at the default
    threshold they outlive two young collections, reach the oldest generation and set off
    full collections of the whole heap, 10-15% of an import. They hold no cycles (reference
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
            case = parse_row(header, record, source)
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
    """Backfill closed cases from a CSV file; rerunning it imports nothing twice."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise BackfillError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        size = path.stat().st_size
        return import_lines(
            deps, handle, source=source, total_bytes=size, progress=sys.stderr if progress else None
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
