"""Customer-facing text from what agents write for each other: the explicit rules that turn a
case's resolution (an internal note) into a clause a customer can read, a long subject into a
short form, and a full name into the first name a greeting uses.

What the rules cannot make safe (he/she about the customer, internal vocabulary) is not
rewritten but reported, so the DM tells the agent to check it before sending.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

SUBJECT_LIMIT: Final = 80
"""A subject longer than this is referred to by a short form in the draft's sentences."""
SHORT_SUBJECT: Final = 64

_HONORIFICS: Final = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dame", "herr", "frau"}
)
# Third person about the customer -> second person. Order matters: longer phrases first.
_SECOND_PERSON: Final = (
    (r"\bthe customer's\b", "your"),
    (r"\bthe customer was\b", "you were"),
    (r"\bthe customer is\b", "you are"),
    (r"\bthe customer has\b", "you have"),
    (r"\bthe customer\b", "you"),
    (r"\bthe client's\b", "your"),
    (r"\bthe client\b", "you"),
)
_THEY: Final = (
    (r"\bthey're\b", "you're"),
    (r"\bthey've\b", "you've"),
    (r"\bthey'd\b", "you'd"),
    (r"\bthey'll\b", "you'll"),
    (r"\bthemselves\b", "yourself"),
    (r"\btheirs\b", "yours"),
    (r"\btheir\b", "your"),
    (r"\bthem\b", "you"),
    (r"\bthey\b", "you"),
)
"""They/them about the customer -> you; applied only when the note names no one else who
could be "they" (_OTHER_PARTY)."""
_OTHER_PARTY: Final = re.compile(
    r"\b(banks?|carriers?|couriers?|vendors?|suppliers?|partners?|providers?|isp|"
    r"manufacturers?|retailers?|depots?|warehouses?|insurers?|landlords?|contractors?|"
    r"payment processor|card issuer|registrar)\b",
    re.IGNORECASE,
)
_THEY_WORDS: Final = re.compile(r"\b(they|them|their|theirs|themselves)\b", re.IGNORECASE)
_IRREGULAR_PAST: Final = frozenset(
    {
        "reset",
        "set",
        "sent",
        "rebuilt",
        "made",
        "put",
        "rewrote",
        "gave",
        "found",
        "cut",
        "ran",
        "re-ran",
        "re-sent",
        "re-set",
        "told",
        "showed",
        "shown",
        "took",
        "got",
        "built",
        "brought",
    }
)
_LOWER_OPENERS: Final = frozenset({"the", "a", "an", "our", "this", "your", "both", "all"})
# A how-to answer: the customer learned how to do something; nothing of ours was broken.
_HOW_TO: Final = re.compile(
    r"^(explained (how|where|when|which|what|that you can|the steps)\b|walked\b.*\bthrough"
    r"|showed|shown|advised|answered|clarified|pointed\b.*\bto"
    r"|sent\b.*\b(guide|instructions|steps|article|link|docs?)\b|confirmed how|talked\b.*\bthrough"
    r"|guided)",
    re.IGNORECASE,
)
# Signs of a note written for colleagues, which no rule can turn into customer text.
_INTERNAL: Final = (
    (re.compile(r"\b(he|she|him|her|his|hers|himself|herself)\b", re.IGNORECASE), "he/she"),
    (re.compile(r"\bcustomers?\b|\bcust\b|\bclient\b", re.IGNORECASE), "“customer”"),
    (
        re.compile(
            r"\b(VP|CTO|CEO|engineering|backlog|internal(ly)?|escalated|jira|dev team|devs"
            r"|sprint|on-call|sev ?\d|p[0-3]|fyi|todo|tbd|pls|approved by|sign-?off)\b",
            re.IGNORECASE,
        ),
        "internal details",
    ),
    (re.compile(r"\b[A-Z]{2,}-\d+\b"), "an internal ticket number"),
    (re.compile(r"(^|\s)@\w"), "an @mention"),
)


@dataclass(frozen=True)
class CustomerText:
    """A resolution made into a clause for customers: `text` (no trailing full stop, lower-case
    opening where that is safe), whether it is a how-to answer, and what still needs a human."""

    text: str
    how_to: bool
    concerns: tuple[str, ...]


def clean(value: str | None) -> str | None:
    """One line of text, or None when there is nothing."""
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def customer_clause(note: str | None, customer_name: str | None = None) -> CustomerText | None:
    """Apply the rules to an internal note: second person (also where it names the customer),
    a clause that can follow a colon, no trailing punctuation; None when there is no note."""
    text = clean(note)
    if text is None:
        return None
    text = text.rstrip(" .;,:")
    if not text:
        return None
    found = [label for rule, label in _INTERNAL if rule.search(text)]
    rules = list(_SECOND_PERSON)
    if _THEY_WORDS.search(text) and _OTHER_PARTY.search(text):
        # "asked the bank to reverse it, which they did": they is not the customer.
        found.append("“they” that may not mean the customer")
    else:
        rules += _THEY
    text, named = _name_to_you(text, customer_name)
    if named:
        found.append("the customer's name")
    for pattern, replacement in rules:
        text = re.sub(pattern, _replacer(replacement), text, flags=re.IGNORECASE)
    text = _drop_leading_we(text).rstrip(" .;,:!?")
    text = _lower_opening(text)
    concerns = tuple(dict.fromkeys(found))
    return CustomerText(text=text, how_to=bool(_HOW_TO.match(text)), concerns=concerns)


def short_subject(subject: str | None) -> str | None:
    """The subject as a sentence refers to it: whole up to ~80 characters, else cut at a word
    boundary with an ellipsis."""
    text = clean(subject)
    if text is None or len(text) <= SUBJECT_LIMIT:
        return text
    cut = text[: SHORT_SUBJECT + 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-–—") + "…"


def first_name(full_name: str | None) -> str | None:
    """The name a greeting uses: the first given name, never an honorific ("Mrs Adaeze Nwosu"
    -> "Adaeze"); None when only a title and a surname are known ("Mrs Nwosu")."""
    words = (clean(full_name) or "").split(" ")
    words = [w for w in words if w]
    while words and words[0].lower().rstrip(".") in _HONORIFICS:
        words = words[1:]
        if len(words) <= 1:
            return None
    return words[0] if words else None


def _name_to_you(text: str, customer_name: str | None) -> tuple[str, bool]:
    """ "asked Noor Haddad to update" -> "asked you to update": the full name only, which no
    other word can be. A first name alone ("Grace period", "to May 31") is left as it is; True
    when it is there, so the agent checks it."""
    full, first = clean(customer_name), first_name(customer_name)
    if full and " " in full:
        text = re.sub(rf"\b{re.escape(full)}'s\b", "your", text)
        text = re.sub(rf"\b{re.escape(full)}\b", "you", text)
    elif full:
        first = full
    named = bool(first) and re.search(rf"\b{re.escape(first or '')}\b", text) is not None
    return text, named


def _replacer(replacement: str) -> Callable[[re.Match[str]], str]:
    """Replace a match, keeping its capital: "Their" -> "Your", "their" -> "your"."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0)[:1].isupper():
            return replacement[:1].upper() + replacement[1:]
        return replacement

    return replace


_LEADING_WE: Final = re.compile(r"^(?:we|i)(?:'ve|\s+have|\s+had)?\s+", re.IGNORECASE)


def _drop_leading_we(text: str) -> str:
    """ "We patched the job", "We've patched", "I have patched" -> "patched the job", so it
    reads after "What we did:"."""
    match = _LEADING_WE.match(text)
    if match is None:
        return text
    rest = text[match.end() :]
    if rest and _looks_past(rest.split(" ")[0]):
        return rest
    return text


def _lower_opening(text: str) -> str:
    """Sentence case after a colon: a verb or article opening is lower-cased ("Re-ran" ->
    "re-ran"); acronyms and names ("SAML", "Zendesk") keep their capitals."""
    first, sep, rest = text.partition(" ")
    plain = first.replace("-", "").replace("'", "")
    if not ((first[:1].isupper() and plain[1:].islower()) or len(plain) == 1):
        return text
    if _looks_past(first) or first.lower() in _LOWER_OPENERS:
        return first.lower() + sep + rest
    return text


def _looks_past(word: str) -> bool:
    lowered = word.lower()
    return lowered.endswith("ed") or lowered in _IRREGULAR_PAST
