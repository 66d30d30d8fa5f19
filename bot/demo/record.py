"""The demo's record: what each person and channel saw, in time order, as text and HTML."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.demo.blockkit_html import STYLE, blocks_html, mrkdwn
from bot.sandbox import SlackSandbox


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Blocks as plain lines for a terminal: sections, fields, context, button labels."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.append(str(block["text"]["text"]))
        for item in block.get("fields") or []:
            lines.append(str(item["text"]))
        if kind == "context":
            lines.append(" · ".join(str(e.get("text", "")) for e in block["elements"]))
        if kind == "actions":
            labels = [e["text"]["text"] for e in block["elements"] if e.get("text")]
            if labels:
                lines.append("[" + "] [".join(labels) + "]")
        if kind == "input":
            lines.append(f"▸ {block['label']['text']}")
    text = "\n".join(lines)
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<([^|<>]+)\|([^<>]+)>", r"\2", text)
    return html.unescape(text)


@dataclass
class Entry:
    at: datetime
    kind: str  # note, act, moment, message, update, ephemeral, modal, home, file, helpdesk
    who: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    image: str | None = None
    """A shared image as a data: URI, so the HTML page holds the PNG itself."""
    title: str = ""
    alt: str = ""


class Record:
    """Collects entries from the sandbox's recorded calls and from the scenario's own notes."""

    def __init__(self, names: dict[str, str], sandbox: SlackSandbox) -> None:
        self.names = names
        self.sandbox = sandbox
        self.entries: list[Entry] = []
        self._calls = 0
        self._responses = 0

    def name(self, user_or_channel: str) -> str:
        return self.names.get(user_or_channel, user_or_channel)

    def _where(self, channel: str) -> str:
        if channel.startswith("D"):
            return f"DM to {self.name(channel[1:])}"
        return f"#{self.name(channel)}"

    def note(self, at: datetime, text: str) -> None:
        self.entries.append(Entry(at, "note", "", text))

    def act(self, at: datetime, user: str, text: str) -> None:
        self.entries.append(Entry(at, "act", self.name(user), text))

    def moment(self, at: datetime, text: str) -> None:
        self.entries.append(Entry(at, "moment", "", text))

    def modal(self, at: datetime, user: str, view: dict[str, Any]) -> None:
        title = str((view.get("title") or {}).get("text", "Modal"))
        self.entries.append(
            Entry(
                at, "modal", f"Modal for {self.name(user)}", title, list(view.get("blocks") or [])
            )
        )

    def helpdesk(self, at: datetime, where: str, text: str) -> None:
        """Something write-back put on a helpdesk ticket: a note, or a state change."""
        self.entries.append(Entry(at, "helpdesk", where, text))

    def home(self, at: datetime, user: str, view: dict[str, Any]) -> None:
        self.entries.append(
            Entry(at, "home", f"App Home of {self.name(user)}", "", list(view.get("blocks") or []))
        )

    def capture(self, sandbox: SlackSandbox, at: datetime) -> None:
        """Turn the sandbox's calls and response_url posts since the last capture into entries."""
        calls = sandbox.calls
        for call in calls[self._calls :]:
            self._from_call(call.method, call.args, call.response, at)
        self._calls = len(calls)
        responses = sandbox.responses
        for response in responses[self._responses :]:
            body = response.body
            self.entries.append(
                Entry(
                    at,
                    "ephemeral",
                    f"Only visible to {self.name(response.user_id)}",
                    str(body.get("text", "")),
                    list(body.get("blocks") or []),
                )
            )
        self._responses = len(responses)

    def _from_call(
        self, method: str, args: dict[str, Any], response: dict[str, Any], at: datetime
    ) -> None:
        if not response.get("ok"):
            return
        blocks = list(args.get("blocks") or [])
        channel = str(response.get("channel") or args.get("channel") or "")
        if method == "chat.postMessage":
            self.entries.append(
                Entry(at, "message", self._where(channel), str(args.get("text", "")), blocks)
            )
        elif method == "chat.update":
            self.entries.append(
                Entry(
                    at,
                    "update",
                    f"{self._where(channel)} (updated in place)",
                    str(args.get("text", "")),
                    blocks,
                )
            )
        elif method == "chat.postEphemeral":
            self.entries.append(
                Entry(
                    at,
                    "ephemeral",
                    f"Only visible to {self.name(str(args.get('user')))}",
                    str(args.get("text", "")),
                    blocks,
                )
            )
        elif method == "files.completeUploadExternal":
            self._file(args, at)

    def _file(self, args: dict[str, Any], at: datetime) -> None:
        files = self.sandbox.files
        for item in args.get("files") or []:
            record = files.get(str(item.get("id"))) or {}
            content = record.get("content")
            image = (
                "data:image/png;base64," + base64.b64encode(content).decode()
                if isinstance(content, bytes | bytearray)
                else None
            )
            where = self._where(str(args.get("channel_id", "")))
            self.entries.append(
                Entry(
                    at,
                    "file",
                    where,
                    str(args.get("initial_comment") or ""),
                    image=image,
                    title=str(item.get("title") or record.get("title") or ""),
                    alt=str(record.get("alt_txt") or ""),
                )
            )

    # -- output ----------------------------------------------------------------------------
    def transcript_lines(self) -> list[str]:
        lines: list[str] = []
        last_header = None
        for entry in self.entries:
            stamp = entry.at.strftime("%a %d %b %H:%M UTC")
            if entry.kind == "note":
                if stamp != last_header:
                    lines += ["", f"── {stamp} " + "─" * 40]
                    last_header = stamp
                lines.append(f"   {entry.text}")
            elif entry.kind == "moment":
                lines.append(f"   ✔ {entry.text}")
            elif entry.kind == "act":
                lines.append(f"   {entry.who} {entry.text}")
            else:
                body = blocks_text(entry.blocks) if entry.blocks else entry.text
                if entry.kind == "file":
                    body += f"\n[image: {entry.title}] {entry.alt}"
                lines.append(f"   ┌ {entry.who}:")
                lines += [f"   │ {line}" for line in body.splitlines() if line.strip()]
                lines.append("   └")
        return lines

    def write(self, out: Path) -> Path:
        """Write transcript.txt and record.html into `out`; return the HTML page's path."""
        (out / "transcript.txt").write_text("\n".join(self.transcript_lines()) + "\n")
        parts = [
            f"<!doctype html><meta charset='utf-8'><title>Followup demo</title>"
            f"<style>{STYLE}</style><main><h1>Followup: two weeks of one support team"
            f"</h1><p class='note'>Everything below was sent through the local Slack "
            f"sandbox by the real bot, in time order.</p>"
        ]
        last_header = None
        for entry in self.entries:
            stamp = html.escape(entry.at.strftime("%a %d %b %Y, %H:%M UTC"))
            if entry.kind == "note":
                if stamp != last_header:
                    parts.append(f"<h2>{stamp}</h2>")
                    last_header = stamp
                parts.append(f"<p class='note'>{html.escape(entry.text)}</p>")
            elif entry.kind == "moment":
                parts.append(f"<p class='note'>✔ {html.escape(entry.text)}</p>")
            elif entry.kind == "act":
                parts.append(
                    f"<p class='note'><b>{html.escape(entry.who)}</b> {html.escape(entry.text)}</p>"
                )
            elif entry.kind == "helpdesk":  # plain text from the helpdesk, not Slack mrkdwn
                parts.append(
                    f"<div class='entry helpdesk'><div class='meta'><b>"
                    f"{html.escape(entry.who)}</b> · {stamp}</div>"
                    f"<pre class='section'>{html.escape(entry.text)}</pre></div>"
                )
            else:
                css = {"modal": "entry modal", "home": "entry home"}.get(entry.kind, "entry")
                title = (
                    f"<div class='title'>{html.escape(entry.text)}</div>"
                    if entry.kind == "modal"
                    else ""
                )
                body = (
                    blocks_html(entry.blocks, self.name)
                    if entry.blocks
                    else f"<div class='section'>{mrkdwn(entry.text, self.name)}</div>"
                )
                if entry.image:
                    body += _figure(entry)
                parts.append(
                    f"<div class='{css}'><div class='meta'><b>"
                    f"{html.escape(entry.who)}</b> · {stamp}</div>{title}{body}</div>"
                )
        parts.append("</main>")
        page = out / "record.html"
        page.write_text("\n".join(parts))
        return page


def _figure(entry: Entry) -> str:
    """A shared image as Slack shows it: its title above, its alt text for screen readers."""
    title = f"<figcaption>{html.escape(entry.title)}</figcaption>" if entry.title else ""
    return (
        f"<figure>{title}<img class='image' src='{html.escape(entry.image or '', quote=True)}' "
        f"alt='{html.escape(entry.alt, quote=True)}'></figure>"
    )
