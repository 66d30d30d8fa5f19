"""The rules a rendered draft must keep, read as text: what `followup templates check` applies
to every shipped draft template for the sample cases, and what the draft tests assert.

- every bracketed placeholder the customer would see is announced in the DM's advice;
- the team is never named by its slug;
- the customer is "you", never "they/them/their";
- only the account manager says they look after the account, only a lead that they lead;
- the greeting uses no honorific;
- four to six sentences of email or chat prose; a call script's core is short enough to say.
"""

from __future__ import annotations

import re
from typing import Final

from bot.render.drafts import PLACEHOLDERS, Draft, DraftContext

PROSE_SENTENCES: Final = (4, 6)
CALL_CORE_LINES: Final = 7
CALL_CORE_WORDS: Final = 120
"""About 45 seconds said at an easy pace: the core of a call, before the optional questions."""

_URL = re.compile(r"https?://\S+")
_BRACKETED = re.compile(r"\[[^\]\n]+\]")
# Stage directions in call scripts, for the caller's eyes only.
_STAGE = re.compile(r"^\[(If |Only |Before |If the )")
_THIRD_PERSON = re.compile(r"\b(they|them|their|theirs|themselves|they're|they've)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"\[])")
_HONORIFIC = re.compile(r"^(Hi|Hello|Dear)\s+(Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\b\.?", re.M)
_ASK_OPENINGS: Final = ("One small, entirely optional ask", "I know this one cost you")


def text_problems(ctx: DraftContext, draft: Draft) -> list[str]:
    """Every rule this draft breaks, in plain words (empty when it reads right)."""
    text = draft.text
    problems = [
        f"shows {found} without saying so in the DM"
        for found in _BRACKETED.findall(text)
        if not _STAGE.match(found) and not _announced(found, draft)
    ]
    slug = (ctx.team_slug or "").strip()
    named = _URL.sub("", text)
    if ctx.team_name and ctx.team_name.strip().lower() != slug.lower():
        named = named.replace(ctx.team_name.strip(), "")
    if slug and re.search(rf"\b{re.escape(slug)}\b", named, re.I):
        problems.append(f"names the team by its slug “{slug}”")
    body = _without_asks(draft.body)
    for word in sorted({m.group(0).lower() for m in _THIRD_PERSON.finditer(body)}):
        problems.append(f"says “{word}” where the customer should be “you”")
    if "I look after" in text and ctx.speaker != "account_manager":
        problems.append(f"a {ctx.speaker} says they look after the account")
    if re.search(r"\bI lead\b", text) and ctx.speaker != "lead":
        problems.append(f"a {ctx.speaker} says they lead the team")
    if _HONORIFIC.search(text):
        problems.append("greets the customer with an honorific")
    problems.extend(_length_problems(draft))
    return problems


def prose_sentences(draft: Draft) -> list[str]:
    """The sentences of an email's or chat message's own prose (no greeting, sign-off or asks)."""
    paragraphs = [p.strip() for p in _without_asks(draft.body).split("\n\n") if p.strip()]
    if draft.channel == "email":
        paragraphs = paragraphs[1:-1]  # "Hi Dana," ... "Best,\nAda"
    text = " ".join(paragraphs)
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def call_core(draft: Draft) -> list[str]:
    """The lines a caller says before the optional questions and asks."""
    lines = draft.body.split("\n")[1:]  # the "Call script: ..." heading
    core: list[str] = []
    for line in lines:
        if line.startswith("If the moment is right") or line.startswith("["):
            break
        if line.strip():
            core.append(line.strip())
    return core


def _length_problems(draft: Draft) -> list[str]:
    if draft.channel == "phone":
        core = call_core(draft)
        words = sum(len(line.split()) for line in core)
        if len(core) > CALL_CORE_LINES or words > CALL_CORE_WORDS:
            return [f"the call's core is {len(core)} lines, {words} words: too long to say"]
        return []
    count = len(prose_sentences(draft))
    low, high = PROSE_SENTENCES
    if not low <= count <= high:
        return [f"has {count} sentences of prose, not {low} to {high}"]
    return []


def _announced(placeholder: str, draft: Draft) -> bool:
    return placeholder in PLACEHOLDERS and any(placeholder in line for line in draft.advice)


def _without_asks(body: str) -> str:
    """The body without the review and referral paragraphs (their own rules apply)."""
    kept = [
        p
        for p in body.split("\n\n")
        if not p.startswith(_ASK_OPENINGS) and not p.startswith(("[Before you", "[Only if"))
    ]
    return "\n\n".join(kept)
