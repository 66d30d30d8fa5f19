"""The Jinja2 environment for all bot prose (`Renderer`), case-specific follow-up drafts rendered
with it, and the template check behind `followup templates check`.

Templates live in the shipped `templates` package (`drafts/<channel>/<kind>.j2` plus the
`drafts/review_invite.j2` and `drafts/referral_ask.j2` paragraphs); a team's overrides folder
replaces them file by file. Every value a template prints is Slack-escaped exactly once, by the
environment's `finalize`, so a rendered `Draft` is safe to show in mrkdwn as it is.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2

from bot.render.customer_text import customer_clause
from bot.render.draft_checks import text_problems
from bot.render.drafts import (
    CHANNELS,
    FLAG_GENERIC_TEMPLATE,
    FLAG_INTERNAL_NOTE,
    FLAG_MISSING_NEW_FIX,
    FLAG_MISSING_RESOLUTION,
    FLAG_MISSING_SUBJECT,
    FLAG_PLACEHOLDER,
    PLACEHOLDERS,
    SAMPLE_CASES,
    Draft,
    DraftContext,
    _clean_resolution,
    _clean_subject,
    draft_template_name,
    draft_variables,
    standing_fix,
)
from bot.rules.policy import Policy
from bot.slack.text import escape

_DRAFT_NAME = re.compile(r"^drafts/(?P<channel>[a-z]+)/(?P<kind>[a-z0-9_]+)\.j2$")


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
        if not ctx.escalated and _clean_resolution(ctx.resolution) is None:
            flags.append(FLAG_MISSING_RESOLUTION)
            advice.append(
                "Add what was fixed: the case has no resolution summary, so the draft cannot say"
                " what was done."
            )
        flags, advice = _story_notes(ctx, flags, advice)
        ignored = self.ignored_case_facts(ctx.channel, ctx.template)
        if ignored:
            flags.append(FLAG_GENERIC_TEMPLATE)
            advice.append(
                f"Make it about this case before sending: the template {self.source_of(name)}"
                f" {_describe_ignored(ignored)}, so add the issue and the fix yourself."
            )
        placeholders = [p for p in PLACEHOLDERS if p in body or p in (subject_line or "")]
        if placeholders:
            flags.append(FLAG_PLACEHOLDER)
            advice.extend(PLACEHOLDERS[p] for p in placeholders)
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
    *,
    policy: Policy | None = None,
) -> list[TemplateProblem]:
    """Every problem in the shipped and override templates, for `followup templates check`.

    An override file that replaces no shipped template is never read, so it is a problem naming
    the nearest shipped name; a draft for a template the `policy` names counts as known.
    Draft templates are rendered for sample cases (every branch the samples reach) and must
    change with the case; other templates are compiled, and rendered with `samples[prefix]`
    (variables for templates whose name starts with `prefix`) when the caller provides some.
    """
    renderer = Renderer(renderer.overrides_dir, strict_none=True)
    problems = unknown_overrides(renderer, policy_templates(policy) if policy else ())
    unused = {problem.name for problem in problems}
    for name in renderer.template_names():
        if name in unused:
            continue
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


def policy_templates(policy: Policy) -> set[str]:
    """The draft template names (`check_in`, ...) the policy's touches use."""
    return {touch.template for rule in policy.rules for touch in rule.touches}


def shipped_template_names() -> list[str]:
    """Every template shipped in the `templates` package."""
    loader = jinja2.PackageLoader("templates", ".")
    return sorted(name for name in loader.list_templates() if name.endswith(".j2"))


def unknown_overrides(renderer: Renderer, draft_kinds: Iterable[str] = ()) -> list[TemplateProblem]:
    """Override files that replace no shipped template (a misspelt name is otherwise silently
    ignored), each naming the nearest shipped template. `draft_kinds` are extra draft template
    names (the policy's) whose `drafts/<channel>/<kind>.j2` files are in use."""
    folder = renderer.overrides_dir
    if folder is None or not folder.is_dir():
        return []
    shipped = shipped_template_names()
    kinds = {m["kind"] for m in map(_DRAFT_NAME.match, shipped) if m} | set(draft_kinds)
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name in shipped or path.suffix == ".md" or name.startswith(".") or "/." in name:
            continue
        draft = _DRAFT_NAME.match(name)
        if draft and draft["channel"] in CHANNELS and draft["kind"] in kinds:
            continue
        nearest = difflib.get_close_matches(name, shipped, n=1, cutoff=0.0)
        hint = f": did you mean {nearest[0]}?" if nearest else ""
        message = f"replaces no shipped template, so it is never used{hint}"
        problems.append(TemplateProblem(str(path), None, message, name))
    return problems


def _check_draft(renderer: Renderer, channel: str, kind: str) -> TemplateProblem | None:
    """Render a draft template for every sample case, with and without the asks; a shipped one
    must also keep the text rules (bot.render.draft_checks) for each."""
    name = draft_template_name(channel, kind)
    shipped = not renderer.is_override(name)
    for sample in SAMPLE_CASES:
        for asks in (False, True):
            ctx = dataclasses.replace(
                sample, channel=channel, template=kind, review_invite=asks, referral_ask=asks
            )
            if not shipped:
                renderer.render(name, draft_variables(ctx))
                continue
            broken = text_problems(ctx, renderer.render_draft(ctx))
            if broken:
                where = f"for {ctx.case_reference}"
                return TemplateProblem(
                    renderer.source_of(name), None, f"{where}: {broken[0]}", name
                )
    ignored = renderer.ignored_case_facts(channel, kind)
    if ignored:
        return TemplateProblem(renderer.source_of(name), None, _describe_ignored(ignored), name)
    return None


def _story_notes(
    ctx: DraftContext, flags: list[str], advice: list[str]
) -> tuple[list[str], list[str]]:
    """Flags and advice from the case's story: a lead's missing new fix, an internal note."""
    if ctx.escalated and customer_clause(ctx.new_fix) is None:
        flags.append(FLAG_MISSING_NEW_FIX)  # its advice is the placeholder's
    fix = standing_fix(ctx)
    if fix is not None and fix.concerns:
        flags.append(FLAG_INTERNAL_NOTE)
        advice.append(
            "The fix is written as an internal note: check before sending (it has"
            f" {' and '.join(fix.concerns)})."
        )
    return flags, advice


def _describe_ignored(ignored: tuple[str, ...]) -> str:
    if "case" in ignored:
        return "renders the same text for two different cases"
    return f"renders the same text whatever the case's {' and '.join(ignored)}"


def _escape_strict(value: object) -> str:
    if value is None:
        raise jinja2.UndefinedError(
            "prints a value this case does not have (None): wrap it in {% if %} or use `or`"
        )
    return escape(value)


def _short(value: object, limit: int = 80) -> str:
    """Template filter: a long value cut to `limit` characters with an ellipsis."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"(?<=\S) {2,}")


def _split_subject(rendered: str) -> tuple[str | None, str]:
    """Separate an email's leading "Subject: ..." line from its body; tidy blank lines."""
    # Optional sentences that render empty leave double spaces behind; tidy them.
    lines = (_SPACES.sub(" ", line).rstrip() for line in rendered.strip().splitlines())
    text = "\n".join(lines)
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
