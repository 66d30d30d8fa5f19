"""Slack mrkdwn safety: escape outside text, shorten within Block Kit's limits."""

from __future__ import annotations

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: object) -> str:
    """Escape `&`, `<`, `>` (and only those), so mentions and links in outside text never fire."""
    if text is None:
        return ""
    return str(text).translate(_ESCAPES)


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ellipsis), 0)]
    # Never leave half an escape sequence like "&am" at the cut.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ellipsis


def escaped_short(text: object, limit: int) -> str:
    """Escape, then shorten to `limit` characters (Slack counts the escaped text)."""
    return shorten(escape(text), limit)
