"""The public review cap: one customer is invited at most once per configured period, however
the helpdesk names them.

A customer is known by their email; without one, by the helpdesk's own requester id (within
that helpdesk); without that, by their name and company together. An earlier invitation counts
when its case names the customer the same way, even if that case also had other names (an
email as well as the requester id). A case that names its customer in none of these ways cannot
be matched with any other, so its own eligibility decides.

Eligibility never depends on how the case went: asking only the customers expected to be happy
is review gating, which review platforms forbid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.deps import Deps
from db.nudge_rows import NudgeRow
from db.review_asks import CustomerNames, customers_of, invited_since

Identity = tuple[str, ...]
"""("email", address), ("requester", source, id) or ("name", name, company), normalised."""


def _plain(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def identities(customer: CustomerNames) -> list[Identity]:
    """Every way this case names its customer, most specific first."""
    found: list[Identity] = []
    if _plain(customer.email):
        found.append(("email", _plain(customer.email)))
    if _plain(customer.requester_id):
        found.append(("requester", customer.source, (customer.requester_id or "").strip()))
    if _plain(customer.name):
        found.append(("name", _plain(customer.name), _plain(customer.company)))
    return found


def identity(customer: CustomerNames) -> Identity | None:
    """Who the customer is for the cap: email, else requester id, else name and company."""
    found = identities(customer)
    return found[0] if found else None


def _previously_invited(
    session: Session, wanted: list[CustomerNames], since: datetime, excluding: list[int]
) -> set[Identity]:
    keys = [k for k in (identity(c) for c in wanted) if k is not None]
    emails = {c.email for c in wanted if c.email and identity(c) == ("email", _plain(c.email))}
    past = invited_since(
        session,
        emails=emails | {e.lower() for e in emails},
        requester_ids={k[2] for k in keys if k[0] == "requester"},
        names={k[1] for k in keys if k[0] == "name"}
        | {v for c in wanted if c.name for v in (c.name.strip(), c.name.strip().lower())},
        since=since,
        excluding=excluding,
    )
    return {key for customer in past for key in identities(customer)}


def decide_review_invites(
    deps: Deps, session: Session, rows: Sequence[NudgeRow], now: datetime
) -> list[bool]:
    """For each follow-up about to go out: does its draft carry a neutral public review
    invitation? Where the policy makes the case eligible, one customer is invited at most once
    per configured period (this batch included)."""
    since = now - timedelta(days=deps.policy.review_once_per_days)
    customers = customers_of(session, {r.case_id for r in rows if r.review_eligible})
    invited = _previously_invited(session, list(customers.values()), since, [r.id for r in rows])
    decisions: list[bool] = []
    for row in rows:
        customer = customers.get(row.case_id)
        key = identity(customer) if customer else None
        offer = row.review_eligible and key not in invited
        if offer and customer is not None:
            invited.update(identities(customer))
        decisions.append(offer)
    return decisions
