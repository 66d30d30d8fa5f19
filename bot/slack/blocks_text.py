"""Text helpers for the Block Kit builders: Slack dates, durations, safe links, long text split."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bot.slack.text import escape


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def slack_date(moment: datetime) -> str:
    """A time each reader sees in their own time zone (Slack date formatting), with a fallback."""
    utc = moment.astimezone(UTC)
    fallback = f"{utc:%a} {utc.day} {utc:%b %Y %H:%M} UTC"
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def mrkdwn_link(url: str | None, label: str) -> str | None:
    """A mrkdwn link for an http(s) URL; anything else (javascript:, Slack syntax) shows nothing."""
    if not url or len(escape(url)) > 1000 or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return f"<{escape(url).replace('|', '%7C')}|{label}>"


def split_text(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters, cut at line breaks or spaces where possible,
    never inside an escape like `&amp;` or before a combining mark."""
    chunks: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        if cut < size // 2:
            cut = text.rfind(" ", 0, size)
        if cut < size // 2:
            cut = size
        amp = text.rfind("&", max(cut - 5, 0), cut)
        if amp != -1 and ";" not in text[amp:cut]:
            cut = amp
        while cut > 1 and unicodedata.combining(text[cut]):
            cut -= 1
        chunks.append(text[:cut].rstrip("\n"))
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks
