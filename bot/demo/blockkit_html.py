"""Block Kit and Slack mrkdwn to HTML, roughly as Slack shows them (for the demo's record)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")
_ANGLE = re.compile(r"<([^<>]+)>")
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
EMOJI = {
    "calendar": "📅",
    "white_check_mark": "✅",
    "rotating_light": "🚨",
    "memo": "📝",
    "warning": "⚠️",
    "hourglass": "⏳",
    "hourglass_flowing_sand": "⏳",
    "zzz": "💤",
    "bell": "🔔",
    "telephone_receiver": "📞",
    "email": "📧",
    "speech_balloon": "💬",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "tada": "🎉",
    "x": "❌",
    "arrow_right": "➡️",
    "raised_hands": "🙌",
    "no_entry": "⛔",
    "pushpin": "📌",
}


def _special(token: str, name_of: Callable[[str], str]) -> str:
    """One `<...>` token: a mention, a date, a link (already HTML-safe text inside)."""
    target, _, label = token.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{html.escape(name_of(target[1:]))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(label or target[1:])}</span>'
    if target.startswith("!date^"):
        parts = target.split("^")
        try:
            moment = datetime.fromtimestamp(int(parts[1]), UTC)
            return html.escape(moment.strftime("%a %d %b %Y %H:%M UTC"))
        except (IndexError, ValueError):
            return html.escape(label)
    if target.startswith("!"):
        return f'<span class="mention">@{html.escape(target[1:])}</span>'
    return f'<a href="{html.escape(target)}">{html.escape(label or target)}</a>'


def mrkdwn(text: str, name_of: Callable[[str], str] = str) -> str:
    """Slack mrkdwn (with its &amp; &lt; &gt; escapes) as HTML."""
    pieces: list[str] = []
    last = 0
    for match in _CODE_BLOCK.finditer(text):
        pieces.append(_inline(text[last : match.start()], name_of))
        code = html.unescape(match.group(1)).strip("\n")
        pieces.append(f"<pre>{html.escape(code)}</pre>")
        last = match.end()
    pieces.append(_inline(text[last:], name_of))
    return "".join(pieces)


def _inline(text: str, name_of: Callable[[str], str]) -> str:
    tokens: list[str] = []

    def keep(match: re.Match[str]) -> str:
        tokens.append(_special(html.unescape(match.group(1)), name_of))
        return f"\x00{len(tokens) - 1}\x00"

    text = _ANGLE.sub(keep, text)
    # Slack escaped only & < >; decode them, then escape everything for HTML once.
    out = html.escape(html.unescape(text))
    out = _INLINE_CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<b>\1</b>", out)
    out = _ITALIC.sub(r"<i>\1</i>", out)
    out = _STRIKE.sub(r"<s>\1</s>", out)
    out = re.sub(r"^&gt;(.*)$", r"<blockquote>\1</blockquote>", out, flags=re.MULTILINE)
    out = _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    out = re.sub(r"\x00(\d+)\x00", lambda m: tokens[int(m.group(1))], out)
    return out.replace("\n", "<br>")


def _text(obj: dict[str, Any] | None, name_of: Callable[[str], str]) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), name_of)
    return html.escape(str(obj.get("text", "")))


def _element(element: dict[str, Any], name_of: Callable[[str], str]) -> str:
    kind = element.get("type")
    if kind == "button":
        style = element.get("style", "")
        return f'<span class="button {style}">{_text(element.get("text"), name_of)}</span>'
    if kind == "image":
        return f'<img class="thumb" src="{html.escape(element.get("image_url", ""))}" alt="">'
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, name_of)
    if kind in ("radio_buttons", "checkboxes", "static_select"):
        options = "".join(
            f"<li>{_text(o.get('text'), name_of)}</li>" for o in element.get("options", [])
        )
        return f'<ul class="{kind}">{options}</ul>'
    if kind == "plain_text_input":
        return '<span class="input"></span>'
    if kind == "datepicker":
        return f'<span class="input">{html.escape(element.get("initial_date", "date"))}</span>'
    if kind == "users_select":
        return f'<span class="input">{_text(element.get("placeholder"), name_of)}</span>'
    return f'<span class="input">{html.escape(str(kind))}</span>'


def blocks_html(blocks: list[dict[str, Any]], name_of: Callable[[str], str] = str) -> str:
    """The blocks of a message, modal or Home tab as HTML."""
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(f"<h3>{_text(block.get('text'), name_of)}</h3>")
        elif kind == "section":
            fields = "".join(f"<div>{_text(f, name_of)}</div>" for f in block.get("fields", []))
            accessory = block.get("accessory")
            extra = _element(accessory, name_of) if accessory else ""
            body = _text(block.get("text"), name_of)
            fields_html = f'<div class="fields">{fields}</div>' if fields else ""
            out.append(f'<div class="section">{body}{fields_html}{extra}</div>')
        elif kind == "context":
            items = " ".join(_element(e, name_of) for e in block.get("elements", []))
            out.append(f'<div class="context">{items}</div>')
        elif kind == "actions":
            items = " ".join(_element(e, name_of) for e in block.get("elements", []))
            out.append(f'<div class="actions">{items}</div>')
        elif kind == "divider":
            out.append("<hr>")
        elif kind == "image":
            out.append(
                f'<img class="image" src="{html.escape(block.get("image_url", ""))}" '
                f'alt="{html.escape(block.get("alt_text", ""))}">'
            )
        elif kind == "input":
            label = _text(block.get("label"), name_of)
            optional = " <small>(optional)</small>" if block.get("optional") else ""
            out.append(
                f'<div class="input-block"><label>{label}{optional}</label>'
                f"{_element(block.get('element') or {}, name_of)}</div>"
            )
        else:
            out.append(f'<div class="context">[{html.escape(str(kind))} block]</div>')
    return "\n".join(out)


STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f4f4f5;
color:#1d1c1d}
main{max-width:860px;margin:0 auto;padding:24px}
.entry{background:#fff;border:1px solid #ddd;border-radius:8px;margin:14px 0;padding:12px 16px}
.meta{color:#616061;font-size:13px;margin-bottom:6px}.meta b{color:#1d1c1d}
.note{color:#616061;font-style:italic;margin:10px 4px}
h1{font-size:24px}h2{font-size:18px;margin-top:28px}h3{font-size:17px;margin:6px 0}
.section{margin:6px 0;line-height:1.45}.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px}
.context{color:#616061;font-size:12.5px;margin:6px 0}
.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:3px 10px;
font-size:13px;font-weight:600;margin-right:4px}.button.primary{background:#007a5a;color:#fff;
border-color:#007a5a}.button.danger{background:#e01e5a;color:#fff}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
pre{background:#f8f8f8;border:1px solid #e2e2e2;border-radius:4px;padding:8px;
white-space:pre-wrap;font-size:13px}code{background:#f3f3f3;padding:0 3px}
blockquote{border-left:4px solid #ddd;margin:4px 0;padding-left:8px}
.modal{border:2px solid #4a154b}.modal .title{font-weight:700;color:#4a154b}
.home{border:2px solid #1264a3}.input-block{margin:8px 0}.input-block label{display:block;
font-weight:600}.input{display:inline-block;border:1px solid #bbb;border-radius:4px;
min-width:200px;min-height:18px;padding:3px}
img.image{max-width:100%;border:1px solid #ddd}ul{margin:4px 0}
figure{margin:8px 0}figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
.helpdesk{border:2px solid #e8a33d}
"""
