"""Every source's setup recipe and signed sample, for `followup webhooks recipe|test`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import ModuleType

from . import (
    chatwoot,
    freshdesk,
    front,
    generic,
    helpscout,
    hubspot,
    intercom,
    jira,
    zammad,
    zendesk,
)
from .recipe import Recipe

Sample = Callable[[str, str, datetime, str], tuple[bytes, dict[str, str]]]
"""`(secret, url the bot is known by, now, case id) -> (body, headers)`: a close of a case with
that id, signed as the vendor signs it."""

_MODULES: tuple[ModuleType, ...] = (
    generic,
    zendesk,
    intercom,
    freshdesk,
    hubspot,
    jira,
    helpscout,
    front,
    chatwoot,
    zammad,
)

RECIPES: Mapping[str, Recipe] = {module.RECIPE.source: module.RECIPE for module in _MODULES}
SAMPLES: Mapping[str, Sample] = {module.RECIPE.source: module.sample_request for module in _MODULES}


def docs_section() -> str:
    """The recipes as docs/helpdesks.md carries them: one heading and text block per source,
    with `<your host>` for the address (a test keeps the page and the command the same)."""
    parts = []
    for recipe in RECIPES.values():
        parts.append(f"### {recipe.vendor}\n\n```text\n{recipe.text(None)}```\n")
    return "\n".join(parts)
