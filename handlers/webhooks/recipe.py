"""A vendor's setup recipe: what a helpdesk admin clicks, pastes and sets, as data.

Each adapter module defines one `RECIPE`; `followup webhooks recipe <source>` prints it with the
URL built from `PUBLIC_URL`, and docs/helpdesks.md carries the same text (a test compares them).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

WIDTH = 96


@dataclass(frozen=True)
class Recipe:
    """How to point one helpdesk at `POST /webhooks/<source>`."""

    source: str
    vendor: str
    """The product's name as its admins know it ("Zendesk", "Jira Service Management")."""
    steps: tuple[str, ...]
    """Where to click, in order, in the vendor's own words; `{url}` stands for the URL to paste."""
    secret: str
    """Which value goes into `WEBHOOK_SECRET_<SOURCE>`, and where the admin finds or sets it."""
    conditions: tuple[str, ...] = ()
    """The rule's or trigger's conditions, one per line."""
    body: str | None = None
    """The request body to paste, where the vendor needs one (a JSON template)."""
    notes: tuple[str, ...] = ()
    """What else an admin must know: linking agents by id, limits of the vendor's delivery."""
    query: str = ""
    """A query string the URL must carry (for example `?token=…` for a sender that cannot
    sign), without the `?`."""
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """Further settings (`(variable, meaning)`) the recipe relies on."""
    body_label: str = "Body to paste"

    def url(self, public_url: str | None) -> str:
        base = (public_url or "https://<your host>").rstrip("/")
        return f"{base}/webhooks/{self.source}" + (f"?{self.query}" if self.query else "")

    def text(self, public_url: str | None) -> str:
        """The recipe as plain text, as `followup webhooks recipe` prints it."""
        url = self.url(public_url)
        lines = [f"{self.vendor} (source {self.source})", "", f"URL: {url}", "", "Steps:"]
        for number, step in enumerate(self.steps, 1):
            lines += _wrapped(step.format(url=url), f"  {number}. ")
        if self.conditions:
            lines += ["", "Conditions:"]
            for condition in self.conditions:
                lines += _wrapped(condition, "  - ")
        if self.body is not None:
            lines += [
                "",
                f"{self.body_label}:",
                *("    " + line for line in self.body.splitlines()),
            ]
        lines += ["", *_wrapped(self.secret, f"Secret: WEBHOOK_SECRET_{self.source.upper()} = ")]
        for variable, meaning in self.extra:
            lines += _wrapped(meaning, f"Also: {variable} = ")
        if self.notes:
            lines += ["", "Notes:"]
            for note in self.notes:
                lines += _wrapped(note, "  - ")
        return "\n".join(lines) + "\n"


def _wrapped(text: str, first: str) -> list[str]:
    """`text` after `first`, folded at WIDTH columns under its own first character. URLs and
    other long words are never broken."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=" " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    )
