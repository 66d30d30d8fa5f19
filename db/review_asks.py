"""Queries for the public review cap: who a case's customer is, and which customers were sent
a review invitation lately (bot/nudge/review_cap.py decides)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Case, FollowUp


class CustomerNames(NamedTuple):
    """Every way a case names its customer, as stored."""

    email: str | None
    source: str
    requester_id: str | None
    name: str | None
    company: str | None


_COLUMNS = (Case.customer_email, Case.source, Case.customer_external_id, Case.customer_name)


def customers_of(session: Session, case_ids: Collection[int]) -> dict[int, CustomerNames]:
    """Case id → how that case names its customer."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Case.id, *_COLUMNS, Case.company).where(Case.id.in_(list(case_ids)))
    )
    return {row[0]: CustomerNames(*row[1:]) for row in rows}


def invited_since(
    session: Session,
    *,
    emails: Collection[str],
    requester_ids: Collection[str],
    names: Collection[str],
    since: datetime,
    excluding: Collection[int],
) -> list[CustomerNames]:
    """The customers of cases whose public review invitation went out since `since` (by a
    follow-up other than those in `excluding`) and that have one of these emails (as stored),
    requester ids, or names (lower-cased); the caller matches them exactly.

    One query per kind of name, so email and requester id each keep their index; requester id
    and name (lower-cased, no index) run only for customers without an email.
    """
    wanted = [
        (Case.customer_email, list(emails)),
        (Case.customer_external_id, list(requester_ids)),
        (func.lower(Case.customer_name), list(names)),
    ]
    found: set[CustomerNames] = set()
    for column, values in wanted:
        if values:
            found.update(_invited(session, column.in_(values), since, excluding))
    return sorted(found, key=str)


def _invited(
    session: Session, match: Any, since: datetime, excluding: Collection[int]
) -> list[CustomerNames]:
    rows = session.execute(
        select(*_COLUMNS, Case.company)
        .join(FollowUp, FollowUp.case_id == Case.id)
        .where(
            match,
            FollowUp.review_offered.is_(True),
            FollowUp.sent_at.is_not(None),
            FollowUp.sent_at >= since,
            FollowUp.id.not_in(list(excluding)),
        )
        .distinct()
    )
    return [CustomerNames(*row) for row in rows]
