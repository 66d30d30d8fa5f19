"""Loading the policy file: TOML in, a validated `Policy` out, every error naming its place."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from bot.cases import Channel, Kind, Severity
from bot.rules.policy import (
    DEFAULT_POLICY_FILE,
    IDENTIFIER,
    MATCH_KEYS,
    RULE_NAME,
    Conditions,
    E,
    Overdue,
    Policy,
    PolicyError,
    Role,
    Rule,
    Touch,
    TouchChannel,
    log,
    parse_duration,
    quoted,
)
from bot.rules.working_hours import CalendarError, WorkingCalendar


def load_policy(path: Path | None = None) -> Policy:
    """The policy in `path` (FOLLOWUP_POLICY), or the shipped default when None."""
    if path is None:
        text = (
            resources.files("bot.rules").joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
        )
        return parse_policy(text, DEFAULT_POLICY_FILE)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror}") from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "policy.toml") -> Policy:
    """Validate policy TOML text; `source` names the file in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    top = _Table(source, "", "", data, {"defaults", "rules"})
    defaults = top.table("defaults")
    calendar_table = defaults.table("calendar")
    try:
        calendar = WorkingCalendar.parse(
            tz=calendar_table.string("timezone", "UTC"),
            days=calendar_table.get("days", "mon-fri"),
            start=calendar_table.get("start", "09:00"),
            end=calendar_table.get("end", "17:30"),
            holidays=calendar_table.get("holidays", []),
        )
    except CalendarError as exc:
        key, _, message = str(exc).partition(": ")
        raise calendar_table.error({"tz": "timezone"}.get(key, key), message) from None
    overdue = _overdue(defaults, Overdue())
    root_causes = tuple(defaults.strings("root_causes", _DEFAULT_ROOT_CAUSES))
    if not root_causes:
        raise defaults.error("root_causes", "needs at least one category")
    raw_rules = top.get("rules", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise top.error("rules", "expected [[rules]] tables")
    rules = tuple(
        _rule(source, index, table, overdue) for index, table in enumerate(raw_rules, start=1)
    )
    if not rules:
        raise top.error("rules", "at least one [[rules]] table is required")
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.name in seen:
            raise PolicyError(
                f"{source}: {rule.label}: name: used by more than one rule "
                f"(also {seen[rule.name].label})"
            )
        seen[rule.name] = rule
    warnings = _warnings(source, rules)
    for warning in warnings:
        log.warning(warning)
    return Policy(
        source=source,
        rules=rules,
        calendar=calendar,
        overdue=overdue,
        review_once_per_days=defaults.integer("review_once_per_days", 90, low=1),
        batch_cap=defaults.integer("batch_cap", 5, low=1),
        no_reply_retry_hours=defaults.number("no_reply_retry_hours", 72),
        root_causes=root_causes,
        warnings=warnings,
    )


_DEFAULT_ROOT_CAUSES = (
    "product bug",
    "unclear documentation",
    "billing error",
    "process gap",
    "communication gap",
    "third party",
    "user error",
    "other",
)
_OVERDUE_KEYS = ("remind_after_working_hours", "lead_after_working_hours", "missed_after_days")
_RULE_KEYS = {"name", "description", "match", "touches", "public_review", "referral", "priority"}
_TOUCH_KEYS = {"after", "who", "channel", "template", "automated_ok"}
_TABLE_KEYS = {
    "defaults": {
        "calendar",
        "review_once_per_days",
        "batch_cap",
        "no_reply_retry_hours",
        "root_causes",
        *_OVERDUE_KEYS,
    },
    "calendar": {"timezone", "days", "start", "end", "holidays"},
    "match": set(MATCH_KEYS),
}


def _warnings(source: str, rules: Sequence[Rule]) -> tuple[str, ...]:
    catch_all = next((rule for rule in rules if rule.conditions.is_catch_all), None)
    if catch_all is None:
        return (
            f"{source}: no catch-all rule (one with no match conditions) at the end: a case "
            "that no rule matches will be refused when its follow-ups are planned",
        )
    return tuple(
        f"{source}: {rule.label} can never match: {catch_all.label} before it matches every case"
        for rule in rules[catch_all.index :]
    )


def _overdue(table: _Table, base: Overdue) -> Overdue:
    values = {key: table.number(key, getattr(base, key)) for key in _OVERDUE_KEYS}
    overdue = Overdue(**values)
    if overdue.lead_after_working_hours <= overdue.remind_after_working_hours:
        raise table.error(
            "lead_after_working_hours",
            f"must be more than remind_after_working_hours "
            f"({overdue.remind_after_working_hours:g}), got {overdue.lead_after_working_hours:g}",
        )
    return overdue


def _rule(source: str, index: int, data: Mapping[str, Any], base: Overdue) -> Rule:
    raw_name = data.get("name")
    context = f'rule {index} "{raw_name}": ' if isinstance(raw_name, str) else f"rule {index}: "
    table = _Table(source, context, "", data, _RULE_KEYS | set(_OVERDUE_KEYS))
    name = table.string("name")
    if not RULE_NAME.match(name):
        raise table.error("name", f"expected letters, digits, - _ or . (no spaces), got {name!r}")
    match = table.table("match")
    conditions = Conditions(
        kind=match.enums("kind", Kind),
        severity=match.enums("severity", Severity),
        channel=match.enums("channel", Channel),
        b2b=match.flag("b2b"),
        senior_involved=match.flag("senior_involved"),
        tags_any=match.folded("tags_any"),
        team=match.folded("team"),
    )
    if "touches" not in data:
        raise table.error("touches", "required (use touches = [] for no follow-up)")
    touches: list[Touch] = []
    for number, item in enumerate(table.table_list("touches")):
        touch = _touch(item, conditions)
        if touches and touch.after.delta <= touches[-1].after.delta:
            raise item.error("after", f"must be later than touches[{number - 1}].after")
        touches.append(touch)
    return Rule(
        index=index,
        name=name,
        description=table.string("description", ""),
        conditions=conditions,
        touches=tuple(touches),
        public_review=table.boolean("public_review"),
        referral=table.boolean("referral"),
        overdue=_overdue(table, base),
        priority=table.integer("priority", 0, low=-1000),
    )


def _touch(item: _Table, conditions: Conditions) -> Touch:
    after_text = item.string("after")
    try:
        after = parse_duration(after_text)
    except ValueError as exc:
        raise item.error("after", str(exc)) from None
    template = item.string("template")
    if not IDENTIFIER.match(template):
        raise item.error(
            "template", f"expected a template name like check_in, got {quoted(template)}"
        )
    automated_ok = item.boolean("automated_ok")
    routine = conditions.kind == {Kind.QUERY} and (
        conditions.severity is not None and conditions.severity <= {Severity.LOW, Severity.NORMAL}
    )
    if automated_ok and (not routine or conditions.senior_involved):
        raise item.error(
            "automated_ok",
            'only routine queries may be automated: the rule must match kind = ["query"] '
            "and severity within low and normal (never complaints or escalations)",
        )
    return Touch(
        after=after,
        who=item.enum("who", Role),
        channel=item.enum("channel", TouchChannel),
        template=template,
        automated_ok=automated_ok,
    )


_MISSING = object()
_TOML_TYPE = {str: "a string", bool: "true or false", int: "a whole number", list: "a list"}


class _Table:
    """One TOML table being validated; errors read `file: rule N "name": path.key: message`."""

    def __init__(
        self, source: str, context: str, path: str, data: Any, allowed: Iterable[str]
    ) -> None:
        self.source, self.context, self.path = source, context, path
        if not isinstance(data, dict):
            raise PolicyError(f"{source}: {context}{path.rstrip('.')}: expected a table")
        self.data: dict[str, Any] = data
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = (
                    f'did you mean "{close[0]}"?'
                    if close
                    else "expected " + ", ".join(sorted(allowed))
                )
                raise self.error(key, f"unknown key ({hint})")

    def error(self, key: str, message: str) -> PolicyError:
        return PolicyError(f"{self.source}: {self.context}{self.path}{key}: {message}")

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "required")
        return default

    def _typed(self, key: str, kind: type, default: Any) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"expected {_TOML_TYPE[kind]}, got {quoted(value)}")
        return value

    def string(self, key: str, default: Any = _MISSING) -> str:
        value = self._typed(key, str, default)
        if not value.strip() and default is _MISSING:
            raise self.error(key, "must not be empty")
        return str(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return bool(self._typed(key, bool, default))

    def flag(self, key: str) -> bool | None:
        value = self._typed(key, bool, None)
        return None if value is None else bool(value)

    def integer(self, key: str, default: int, low: int) -> int:
        value = int(self._typed(key, int, default))
        if value < low:
            raise self.error(key, f"must be at least {low}, got {value}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.error(key, f"expected a number above 0, got {quoted(value)}")
        return float(value)

    def strings(self, key: str, default: Sequence[str] | None = None) -> list[str]:
        value = self._typed(key, list, default)
        for position, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                message = f"expected a non-empty string, got {quoted(item)}"
                raise self.error(f"{key}[{position}]", message)
        if len(set(value)) != len(value):
            raise self.error(key, "lists a value twice")
        return list(value)

    def folded(self, key: str) -> frozenset[str] | None:
        if key not in self.data:
            return None
        values = self.strings(key)
        if not values:
            raise self.error(key, "an empty list matches nothing: remove the key to match any")
        return frozenset(value.strip().casefold() for value in values)

    def enums(self, key: str, enum: type[E]) -> frozenset[E] | None:
        if key not in self.data:
            return None
        values = self.strings(key)
        if not values:
            raise self.error(key, "an empty list matches nothing: remove the key to match any")
        return frozenset(self._member(key, value, enum) for value in values)

    def enum(self, key: str, enum: type[E]) -> E:
        return self._member(key, self.string(key), enum)

    def _member(self, key: str, value: str, enum: type[E]) -> E:
        try:
            return enum(value)
        except ValueError:
            expected = ", ".join(member.value for member in enum)
            raise self.error(key, f"unknown value {quoted(value)} (expected {expected})") from None

    def table(self, key: str) -> _Table:
        allowed = _TABLE_KEYS[key]
        return _Table(self.source, self.context, f"{self.path}{key}.", self.get(key, {}), allowed)

    def table_list(self, key: str) -> list[_Table]:
        items = self._typed(key, list, [])
        return [
            _Table(self.source, self.context, f"{self.path}{key}[{n}].", item, _TOUCH_KEYS)
            for n, item in enumerate(items)
        ]
