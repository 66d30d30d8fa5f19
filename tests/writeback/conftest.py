"""Fixtures for write-back: the helpdesk sandbox and a vendor's client pointed at it."""

from __future__ import annotations

from typing import Any

from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.writeback.transport import Http
from bot.writeback.vendors.base import Job
from bot.writeback.vendors.registry import writer


def settings_for(box: HelpdeskSandbox, source: str, **override: str) -> dict[str, str]:
    """The source's WRITEBACK_<SOURCE>_<FIELD> values (by FIELD) pointing at the sandbox."""
    prefix = f"WRITEBACK_{source.upper()}_"
    fields = {name.removeprefix(prefix): value for name, value in box.env(source).items()}
    fields.update(override)
    return fields


def client_for(box: HelpdeskSandbox, source: str, timeout: float = 2.0, **override: str) -> Any:
    return writer(source, settings_for(box, source, **override), Http(timeout=timeout))


def job(
    source: str,
    ticket: str,
    *,
    reopen: bool = False,
    retried: bool = False,
    marker: str = "fu-0a1b2c3d4e5f",
    body: str = 'Followed up by Ada Lovelace by email: resolved.\nThe customer said: "all good"',
    job_id: int = 1,
) -> Job:
    """A job as the outbox hands it to a vendor: the note ends with its marker line."""
    return Job(
        id=job_id,
        source=source,
        ticket=ticket,
        body=f"{body}\nFollowup ref {marker}",
        marker=marker,
        reopen=reopen,
        retried=retried,
    )
