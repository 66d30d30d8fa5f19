"""Case-specific follow-up drafts rendered from Jinja2 templates, with a specificity check.

Templates live in the shipped `templates` package (`drafts/<channel>/<kind>.j2` plus the
`drafts/review_invite.j2` and `drafts/referral_ask.j2` paragraphs); a team's overrides folder
replaces them file by file. Every value a template prints is Slack-escaped exactly once, by the
environment's `finalize`, so a rendered `Draft` is safe to show in mrkdwn as it is.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import jinja2

from bot.slack_text import escape

CHANNELS: Final = ("email", "phone", "chat")
"""The channels a draft is written for; the policy resolves every case channel to one of them."""

TOUCH_KINDS: Final = (
    "check_in",
    "complaint_owner",
    "complaint_account_manager",
    "fix_held",
    "no_reply_nudge",
)
"""The shipped draft kinds; a team may add its own as `drafts/<channel>/<kind>.j2`."""

FLAG_MISSING_SUBJECT: Final = "missing_subject"
FLAG_MISSING_RESOLUTION: Final = "missing_resolution"
FLAG_GENERIC_TEMPLATE: Final = "generic_template"

CALLBACK_PLACEHOLDER: Final = "[your direct number]"
REVIEW_LINK_PLACEHOLDER: Final = "[review link]"

_DRAFT_NAME = re.compile(r"^drafts/(?P<channel>[a-z]+)/(?P<kind>[a-z0-9_]+)\.j2$")
# Subjects some helpdesks fill in when the customer wrote none: as good as no subject.
_EMPTY_SUBJECTS: Final = frozenset({"", "no subject", "(no subject)", "[no subject]", "untitled"})
# A resolution that opens with a past-tense verb ("Refunded ...") reads better lower-cased after
# a colon ("What we did: refunded ..."); proper nouns and acronyms keep their capitals.
_IRREGULAR_PAST: Final = frozenset(
    {"reset", "set", "sent", "rebuilt", "made", "put", "rewrote", "gave", "found", "cut", "ran"}
)
_HONORIFICS: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})


class TemplateProblem(Exception):
    """A template that cannot be rendered: a syntax error, an unknown variable, or one that
    ignores the case. `source` is the file shown to people, `line` its line when known."""

    def __init__(self, source: str, line: int | None, message: str, name: str = "") -> None:
        self.source = source
        self.line = line
        self.message = message
        self.name = name or source
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class DraftContext:
    """Everything one draft needs: the case, the touch, the agent and the two asks.

    Text fields are raw (unescaped) outside text; the renderer escapes them once.
    """

    subject: str | None
    resolution: str | None
    customer_name: str | None
    company: str | None
    case_channel: str
    """How the customer reached us originally (bot.cases.Channel value)."""
    closed_at: datetime
    case_reference: str
    """Shown to the agent, e.g. "zendesk #48213"."""
    case_url: str | None
    touch_number: int
    template: str
    """The touch kind: check_in, complaint_owner, complaint_account_manager, fix_held, ..."""
    channel: str
    """The channel of this draft: email, phone or chat."""
    why_now: str
    agent_name: str
    """The person who sends the draft; it is written in their voice and signed by them."""
    review_invite: bool = False
    referral_ask: bool = False
    handled_by: str | None = None
    """The agent who closed the case, when someone else (an account manager) follows up."""
    team_name: str | None = None
    agent_phone: str | None = None
    """The agent's direct line; without it the draft carries a placeholder to fill in."""
    review_url: str | None = None


@dataclass(frozen=True)
class Draft:
    """A rendered draft. `subject` (email only) and `body` are already Slack-escaped.

    `flags` are machine names (missing_subject, missing_resolution, generic_template);
    `advice` says in plain words what the agent should add before sending.
    """

    channel: str
    template: str
    source: str
    subject: str | None
    body: str
    flags: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The whole draft as the agent copies it: the subject line first for an email."""
        if self.subject:
            return f"Subject: {self.subject}\n\n{self.body}"
        return self.body

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def draft_channel(case_channel: str) -> str:
    """The draft channel for a case channel: web forms get an email, social a chat message."""
    value = str(case_channel).lower()
    if value in CHANNELS:
        return value
    return "chat" if value == "social" else "email"


def draft_template_name(channel: str, kind: str) -> str:
    """The template file for a channel and touch kind, relative to the templates root."""
    return f"drafts/{channel}/{kind}.j2"


class Renderer:
    """The Jinja2 environment for all bot prose: team overrides first, then the shipped files."""

    def __init__(self, overrides_dir: Path | None = None, *, strict_none: bool = False) -> None:
        """`strict_none` makes printing a missing value (None) an error instead of a blank;
        `check_templates` uses it so such a template is reported at start-up."""
        self.overrides_dir = overrides_dir
        loaders: list[jinja2.BaseLoader] = []
        if overrides_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(overrides_dir)))
        loaders.append(jinja2.PackageLoader("templates", "."))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            finalize=_escape_strict if strict_none else escape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are read once: overrides are checked at start-up (`followup run`
            # refuses a broken one), and a restart picks up changes. Checking each file's
            # modification time on every render cost two stat calls a draft.
            auto_reload=False,
        )
        self.env.filters["short"] = _short
        self._generic: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._sources: dict[str, str] = {}

    def source_of(self, name: str) -> str:
        """Where a template comes from, as people should see it: the override or shipped file."""
        found = self._sources.get(name)
        if found is None:
            found = f"templates/{name}"
            if self.overrides_dir is not None and self.is_override(name):
                found = str(self.overrides_dir / name)
            self._sources[name] = found
        return found

    def is_override(self, name: str) -> bool:
        return self.overrides_dir is not None and (self.overrides_dir / name).is_file()

    def template_names(self) -> list[str]:
        """Every `.j2` template, shipped and override, each name once."""
        return sorted(n for n in self.env.list_templates() if n.endswith(".j2"))

    def render(self, name: str, variables: Mapping[str, Any]) -> str:
        """Render one template; any template error becomes a `TemplateProblem` naming file/line."""
        try:
            return self.env.get_template(name).render(dict(variables))
        except jinja2.TemplateError as exc:
            raise self._problem(name, exc) from exc

    def compile(self, name: str) -> None:
        """Load and compile one template (syntax check only)."""
        try:
            self.env.get_template(name)
        except jinja2.TemplateError as exc:
            raise self._problem(name, exc) from exc

    def render_draft(self, ctx: DraftContext) -> Draft:
        """The draft for one follow-up, with flags and advice when it lacks the case's specifics."""
        if ctx.channel not in CHANNELS:
            raise ValueError(f"draft channel must be one of {', '.join(CHANNELS)}: {ctx.channel!r}")
        name = draft_template_name(ctx.channel, ctx.template)
        subject_line, body = _split_subject(self.render(name, draft_variables(ctx)))
        flags: list[str] = []
        advice: list[str] = []
        if _clean_subject(ctx.subject) is None:
            flags.append(FLAG_MISSING_SUBJECT)
            advice.append(
                "Add the issue in your own words: the case has no subject, so the draft can only"
                " say “your recent case”."
            )
        if _clean_resolution(ctx.resolution) is None:
            flags.append(FLAG_MISSING_RESOLUTION)
            advice.append(
                "Add what was fixed: the case has no resolution summary, so the draft cannot say"
                " what was done."
            )
        ignored = self.ignored_case_facts(ctx.channel, ctx.template)
        if ignored:
            flags.append(FLAG_GENERIC_TEMPLATE)
            advice.append(
                f"Make it about this case before sending: the template {self.source_of(name)}"
                f" {_describe_ignored(ignored)}, so add the issue and the fix yourself."
            )
        return Draft(
            channel=ctx.channel,
            template=ctx.template,
            source=self.source_of(name),
            subject=subject_line,
            body=body,
            flags=flags,
            advice=advice,
        )

    def ignored_case_facts(self, channel: str, kind: str) -> tuple[str, ...]:
        """Which case facts a draft template ignores ("case", "subject", "resolution"); cached.

        Found by rendering it for synthetic cases that differ, and comparing the texts.
        """
        name = draft_template_name(channel, kind)
        key = (channel, kind, self.source_of(name))
        with self._lock:
            cached = self._generic.get(key)
        if cached is not None:
            return cached
        try:
            ignored = self._probe(channel, kind)
        except TemplateProblem:
            # A branch only synthetic cases reach is broken; check_templates reports it.
            ignored = ()
        with self._lock:
            self._generic[key] = ignored
        return ignored

    def _probe(self, channel: str, kind: str) -> tuple[str, ...]:
        name = draft_template_name(channel, kind)
        a, b = (dataclasses.replace(s, channel=channel, template=kind) for s in SAMPLE_CASES[:2])
        base = self.render(name, draft_variables(a))
        if base == self.render(name, draft_variables(b)):
            return ("case",)
        ignored: list[str] = []
        for fact in ("subject", "resolution"):
            variant = dataclasses.replace(a, **{fact: getattr(b, fact)})
            if self.render(name, draft_variables(variant)) == base:
                ignored.append(fact)
        return tuple(ignored)

    def _problem(self, name: str, exc: jinja2.TemplateError) -> TemplateProblem:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            at = exc.name or name
            return TemplateProblem(self.source_of(at), exc.lineno, exc.message or str(exc), at)
        if isinstance(exc, jinja2.TemplateNotFound):
            return TemplateProblem(self.source_of(name), None, f"template not found: {exc.name}")
        found, line = _template_frame(exc.__traceback__, self._filenames())
        at = found or name
        return TemplateProblem(self.source_of(at), line, exc.message or str(exc), at)

    def _filenames(self) -> dict[str, str]:
        """Absolute file name -> template name, for the templates loaded so far."""
        found: dict[str, str] = {}
        for template in _cached_templates(self.env):
            if template.filename and template.name:
                found[str(Path(template.filename).resolve())] = template.name
        return found


def draft_variables(ctx: DraftContext) -> dict[str, Any]:
    """The variables every draft template sees (raw values; `finalize` escapes them)."""
    subject = _clean_subject(ctx.subject)
    resolution = _clean_resolution(ctx.resolution)
    return {
        "subject": subject,
        "resolution": resolution,
        "customer_name": _clean(ctx.customer_name),
        "first_name": _first_name(ctx.customer_name),
        "company": _clean(ctx.company),
        "case_channel": str(ctx.case_channel),
        "closed_on": _day(ctx.closed_at),
        "case_reference": ctx.case_reference,
        "touch_number": ctx.touch_number,
        "touch": ctx.template,
        "channel": ctx.channel,
        "why_now": ctx.why_now,
        "agent_name": ctx.agent_name.strip(),
        "agent_first_name": _first_name(ctx.agent_name) or ctx.agent_name.strip(),
        "handled_by": _clean(ctx.handled_by),
        "team_name": _clean(ctx.team_name),
        "callback": _clean(ctx.agent_phone) or CALLBACK_PLACEHOLDER,
        "review_link": _clean(ctx.review_url) or REVIEW_LINK_PLACEHOLDER,
        "review_invite": ctx.review_invite,
        "referral_ask": ctx.referral_ask,
    }


_default_renderer: Renderer | None = None


def render_draft(ctx: DraftContext, renderer: Renderer | None = None) -> Draft:
    """Render with `renderer`, or with the shipped templates when none is given."""
    global _default_renderer
    if renderer is None:
        if _default_renderer is None:
            _default_renderer = Renderer(None)
        renderer = _default_renderer
    return renderer.render_draft(ctx)


def check_templates(
    renderer: Renderer,
    samples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[TemplateProblem]:
    """Every problem in the shipped and override templates, for `followup templates check`.

    Draft templates are rendered for sample cases (every branch the samples reach) and must
    change with the case; other templates are compiled, and rendered with `samples[prefix]`
    (variables for templates whose name starts with `prefix`) when the caller provides some.
    """
    renderer = Renderer(renderer.overrides_dir, strict_none=True)
    problems: list[TemplateProblem] = []
    for name in renderer.template_names():
        try:
            renderer.compile(name)
        except TemplateProblem as problem:
            problems.append(problem)
            continue
        match = _DRAFT_NAME.match(name)
        try:
            if match:
                generic = _check_draft(renderer, match["channel"], match["kind"])
                if generic is not None:
                    problems.append(generic)
            elif name.startswith("drafts/"):
                # Paragraphs the drafts include (review invite, referral ask) see draft variables.
                for sample in SAMPLE_CASES:
                    renderer.render(name, draft_variables(sample))
            else:
                for prefix, variable_sets in (samples or {}).items():
                    if name.startswith(prefix):
                        for variables in variable_sets:
                            renderer.render(name, variables)
        except TemplateProblem as failed:
            problems.append(failed)
    return problems


def _check_draft(renderer: Renderer, channel: str, kind: str) -> TemplateProblem | None:
    name = draft_template_name(channel, kind)
    for sample in SAMPLE_CASES:
        for asks in (False, True):
            ctx = dataclasses.replace(
                sample, channel=channel, template=kind, review_invite=asks, referral_ask=asks
            )
            renderer.render(name, draft_variables(ctx))
    ignored = renderer.ignored_case_facts(channel, kind)
    if ignored:
        return TemplateProblem(renderer.source_of(name), None, _describe_ignored(ignored), name)
    return None


def _describe_ignored(ignored: tuple[str, ...]) -> str:
    if "case" in ignored:
        return "renders the same text for two different cases"
    return f"renders the same text whatever the case's {' and '.join(ignored)}"


# Synthetic cases: the first two differ in every fact, the third lacks the optional ones so that
# checks reach the "missing" branches of every template.
SAMPLE_CASES: Final = (
    DraftContext(
        subject="Invoice 2291 charged twice",
        resolution="Refunded the second charge and fixed the payment retry that caused it",
        customer_name="Alex Example",
        company="Sample Freight Ltd",
        case_channel="email",
        closed_at=datetime(2024, 3, 12, 15, 30, tzinfo=UTC),
        case_reference="generic #sample-1",
        case_url="https://helpdesk.example/cases/sample-1",
        touch_number=1,
        template="check_in",
        channel="email",
        why_now="72 hours after the case was closed",
        agent_name="Sam Sample",
        handled_by="Jo Sample",
        team_name="Sample Support",
    ),
    DraftContext(
        subject="Mobile app logs out every few minutes",
        resolution="Extended the session token lifetime and cleared the stale device record",
        customer_name="Robin Placeholder",
        company="Other Works GmbH",
        case_channel="phone",
        closed_at=datetime(2024, 6, 3, 9, 0, tzinfo=UTC),
        case_reference="generic #sample-2",
        case_url=None,
        touch_number=2,
        template="check_in",
        channel="email",
        why_now="second check-in, 30 days on",
        agent_name="Kim Tester",
        agent_phone="+44 20 7946 0000",
        review_url="https://reviews.example/sample",
    ),
    DraftContext(
        subject=None,
        resolution=None,
        customer_name=None,
        company=None,
        case_channel="chat",
        closed_at=datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        case_reference="generic #sample-3",
        case_url=None,
        touch_number=1,
        template="check_in",
        channel="email",
        why_now="48 hours after a query was closed",
        agent_name="Lee",
    ),
)


def _escape_strict(value: object) -> str:
    if value is None:
        raise jinja2.UndefinedError(
            "prints a value this case does not have (None): wrap it in {% if %} or use `or`"
        )
    return escape(value)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def _clean_subject(value: str | None) -> str | None:
    text = _clean(value)
    if text is None or text.lower() in _EMPTY_SUBJECTS:
        return None
    return text


def _clean_resolution(value: str | None) -> str | None:
    """The resolution as a clause: one line, no trailing full stop, a leading verb lower-cased."""
    text = _clean(value)
    if text is None:
        return None
    text = text.rstrip(" .;,")
    if not text:
        return None
    first, _, rest = text.partition(" ")
    looks_like_verb = first.lower().endswith("ed") or first.lower() in _IRREGULAR_PAST
    if looks_like_verb and first[:1].isupper() and first[1:].islower():
        text = first.lower() + (" " + rest if rest else "")
    return text


def _first_name(full_name: str | None) -> str | None:
    words = (_clean(full_name) or "").split(" ")
    words = [w for w in words if w]
    if not words:
        return None
    if words[0].lower().rstrip(".") in _HONORIFICS:
        return " ".join(words)
    return words[0]


def _day(moment: datetime) -> str:
    """A date as people say it, in the time zone it carries: "Tuesday 12 March"."""
    return f"{moment:%A} {moment.day} {moment:%B}"


def _short(value: object, limit: int = 80) -> str:
    """Template filter: a long value cut to `limit` characters with an ellipsis."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


_BLANK_LINES = re.compile(r"\n{3,}")


def _split_subject(rendered: str) -> tuple[str | None, str]:
    """Separate an email's leading "Subject: ..." line from its body; tidy blank lines."""
    text = "\n".join(line.rstrip() for line in rendered.strip().splitlines())
    text = _BLANK_LINES.sub("\n\n", text)
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return first[len("subject:") :].strip(), rest.strip()
    return None, text


def _template_frame(
    tb: TracebackType | None, filenames: Mapping[str, str]
) -> tuple[str | None, int | None]:
    """The innermost template frame of a rendering error: (template name, line)."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            resolved = str(Path(filename).resolve())
            found = (filenames.get(resolved), tb.tb_lineno)
        tb = tb.tb_next
    return found


def _cached_templates(env: jinja2.Environment) -> list[jinja2.Template]:
    cache = env.cache
    if cache is None:
        return []
    return [t for t in cache.values() if isinstance(t, jinja2.Template)]
