"""The follow-up policy: the default timing table, rule matching, planning, explain, file errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cases import Channel, ClosedCase, Kind, Severity
from bot.rules.policy import (
    Policy,
    PolicyError,
    Role,
    TouchChannel,
    parse_duration,
)
from bot.rules.policy_file import load_policy, parse_policy
from bot.rules.touch_plan import CalendarFor, explain, no_reply_retry_at, plan_touches
from bot.rules.working_hours import WorkingCalendar

LONDON = WorkingCalendar.parse(tz="Europe/London", days="mon-fri", start="09:00", end="17:30")
NEW_YORK = WorkingCalendar.parse(tz="America/New_York")
TOKYO = WorkingCalendar.parse(tz="Asia/Tokyo", start="09:00", end="18:00")

FRIDAY_SUMMER = datetime(2026, 6, 5, 10, 0, tzinfo=UTC)  # BST: 11:00 in London
FRIDAY_WINTER = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # GMT: 10:00 in London


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(None)


def case(**changes: object) -> ClosedCase:
    base = ClosedCase(
        source="generic",
        external_id="42",
        subject="Invoice shows the wrong VAT rate",
        closed_at=FRIDAY_SUMMER,
        owner_email="sam@example.com",
    )
    return base.replace(**changes)


def people(**calendars: WorkingCalendar | None) -> CalendarFor:
    """calendar_for: the owner works in London unless told otherwise; nobody else exists."""
    everyone: dict[str, WorkingCalendar | None] = {"owner": LONDON, **calendars}
    return lambda role: everyone.get(role)


def in_london(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("Europe/London"))


# --- the default policy encodes the timing table ---------------------------------------------


def test_the_default_policy_loads_cleanly_and_ends_with_a_catch_all(default: Policy) -> None:
    assert default.warnings == ()
    assert default.rules[-1].conditions.is_catch_all
    assert default.calendar == LONDON
    assert (default.review_once_per_days, default.batch_cap) == (90, 5)
    assert default.overdue.missed_after_days == 7
    assert "communication gap" in default.root_causes


QUERY, REQUEST, COMPLAINT, INCIDENT = Kind.QUERY, Kind.REQUEST, Kind.COMPLAINT, Kind.INCIDENT
LOW, HIGH, URGENT = Severity.LOW, Severity.HIGH, Severity.URGENT
CHECK_IN_48H = [("48h", "owner", "check_in")]
CHECK_IN_72H = [("72h", "owner", "check_in")]
THIRTY_DAYS_ON = [("30d", "owner", "fix_held")]
ACCOUNT_MANAGER_CALL = [
    ("72h", "account_manager", "complaint_account_manager"),
    ("30d", "account_manager", "fix_held"),
]


@pytest.mark.parametrize(
    ("facts", "rule", "touches"),
    [
        # routine query: 48 h check-in, no second touch
        ({"kind": QUERY}, "routine-query", CHECK_IN_48H),
        ({"kind": QUERY, "severity": LOW}, "routine-query", CHECK_IN_48H),
        # an urgent query is not routine: an ordinary case
        ({"kind": QUERY, "severity": URGENT}, "ordinary", CHECK_IN_72H),
        # ordinary case: 72 h, no second touch
        ({"kind": REQUEST}, "ordinary", CHECK_IN_72H),
        ({"kind": INCIDENT, "severity": HIGH}, "ordinary", CHECK_IN_72H),
        # a complaint of low or normal severity: the owner, personally, at 72 h
        ({"kind": COMPLAINT}, "complaint", [("72h", "owner", "complaint_owner")]),
        # significant complaint, senior involvement, escalated, major incident: the account
        # manager calls at 72 h, second touch 30 days after close
        ({"kind": COMPLAINT, "severity": HIGH}, "serious-complaint", ACCOUNT_MANAGER_CALL),
        (
            {"kind": COMPLAINT, "severity": URGENT, "senior_involved": True},
            "serious-complaint",
            ACCOUNT_MANAGER_CALL,
        ),
        ({"kind": REQUEST, "senior_involved": True}, "senior-involved", ACCOUNT_MANAGER_CALL),
        ({"kind": QUERY, "tags": ("Escalated",)}, "escalated", ACCOUNT_MANAGER_CALL),
        ({"kind": INCIDENT, "severity": URGENT}, "major-incident", ACCOUNT_MANAGER_CALL),
        # B2B: as the severity says, plus 30 days
        ({"kind": REQUEST, "b2b": True}, "b2b", CHECK_IN_72H + THIRTY_DAYS_ON),
        ({"kind": QUERY, "b2b": True}, "b2b-routine-query", CHECK_IN_48H + THIRTY_DAYS_ON),
        (
            {"kind": COMPLAINT, "b2b": True},
            "b2b-complaint",
            [("72h", "owner", "complaint_owner"), *THIRTY_DAYS_ON],
        ),
        (
            {"kind": COMPLAINT, "severity": HIGH, "b2b": True},
            "serious-complaint",
            ACCOUNT_MANAGER_CALL,
        ),
    ],
)
def test_default_timing_table(
    default: Policy, facts: dict[str, object], rule: str, touches: list[tuple[str, str, str]]
) -> None:
    everyone = people(account_manager=LONDON, lead=LONDON)
    planned = plan_touches(case(**facts), FRIDAY_SUMMER, default, everyone)
    assert {touch.rule for touch in planned} == {rule}
    assert [(t.after.text, t.role, t.template) for t in planned] == touches
    for touch, (after, _, _) in zip(planned, touches, strict=True):
        assert touch.nominal_at == FRIDAY_SUMMER + parse_duration(after).delta
    assert [t.number for t in planned] == list(range(1, len(touches) + 1))


def test_only_routine_queries_may_be_automated(default: Policy) -> None:
    query = plan_touches(case(kind=Kind.QUERY), FRIDAY_SUMMER, default, people())
    assert [t.automated_ok for t in query] == [True]
    b2b_query = plan_touches(case(kind=Kind.QUERY, b2b=True), FRIDAY_SUMMER, default, people())
    assert [t.automated_ok for t in b2b_query] == [True, False]  # the 30-day touch is personal


@pytest.mark.parametrize("severity", list(Severity))
@pytest.mark.parametrize("b2b", [False, True])
@pytest.mark.parametrize("senior", [False, True])
def test_a_complaint_is_never_automated(
    default: Policy, severity: Severity, b2b: bool, senior: bool
) -> None:
    complaint = case(kind=Kind.COMPLAINT, severity=severity, b2b=b2b, senior_involved=senior)
    planned = plan_touches(complaint, FRIDAY_SUMMER, default, people())
    assert planned
    assert not any(touch.automated_ok for touch in planned)


def test_the_significant_complaint_call_is_by_phone_whatever_the_case_channel(
    default: Policy,
) -> None:
    chat_case = case(kind=Kind.COMPLAINT, severity=Severity.HIGH, channel=Channel.CHAT)
    call, later = plan_touches(chat_case, FRIDAY_SUMMER, default, people(account_manager=LONDON))
    assert (call.channel, call.role) == (TouchChannel.PHONE, Role.ACCOUNT_MANAGER)
    assert later.channel is TouchChannel.CHAT  # "same" as the case
    assert call.why == "72 hours after a complaint was closed"
    assert later.why == "second check-in, 30 days on"


# --- the acceptance case of issue 4 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("closed_at", "query_due_utc", "ordinary_local_hour"),
    [
        # June: BST (UTC+1). Monday 09:00 London is 08:00 UTC; 10:00 UTC is 11:00 London.
        (FRIDAY_SUMMER, datetime(2026, 6, 8, 8, 0, tzinfo=UTC), 11),
        # November: GMT (UTC+0). Monday 09:00 London is 09:00 UTC; 10:00 UTC is 10:00 London.
        (FRIDAY_WINTER, datetime(2026, 11, 23, 9, 0, tzinfo=UTC), 10),
    ],
)
def test_london_agent_cases_closed_friday_10_utc(
    default: Policy, closed_at: datetime, query_due_utc: datetime, ordinary_local_hour: int
) -> None:
    query = case(kind=Kind.QUERY, closed_at=closed_at)
    [touch] = plan_touches(query, closed_at, default, people())
    assert in_london(touch.nominal_at).strftime("%A") == "Sunday"  # 48 h falls on a Sunday
    assert touch.due_at == query_due_utc  # Monday, start of working hours
    assert (in_london(touch.due_at).strftime("%A"), in_london(touch.due_at).hour) == ("Monday", 9)
    assert touch.automated_ok

    ordinary = case(kind=Kind.REQUEST, closed_at=closed_at)
    [touch] = plan_touches(ordinary, closed_at, default, people())
    monday_10_utc = closed_at + timedelta(hours=72)
    assert touch.due_at == touch.nominal_at == monday_10_utc  # inside working hours: unmoved
    assert monday_10_utc.strftime("%A %H:%M") == "Monday 10:00"
    assert in_london(touch.due_at).hour == ordinary_local_hour
    assert touch.due_at.tzinfo is UTC


def test_explain_says_why_for_both_acceptance_cases(default: Policy) -> None:
    query = explain(case(kind=Kind.QUERY), FRIDAY_SUMMER, default, people())
    assert 'rule 9 "routine-query" matches: kind is query; severity is normal' in query
    assert 'rule 1 "serious-complaint" does not: kind is query, not complaint' in query
    assert (
        "due: Mon 8 Jun 09:00 Europe/London (48 hours after close fell on Sunday, not a working "
        "day; moved to the start of the next working window)"
    ) in query

    ordinary = explain(case(kind=Kind.REQUEST), FRIDAY_WINTER, default, people())
    assert 'rule 10 "ordinary" matches: no conditions (catch-all)' in ordinary
    assert "due: Mon 23 Nov 10:00 Europe/London (72 hours after close, inside working hours)" in (
        ordinary
    )


def test_explain_full_text(default: Policy) -> None:
    text = explain(case(kind=Kind.QUERY), FRIDAY_WINTER, default, people())
    assert text.splitlines()[:5] == [
        "Case: kind query, severity normal, channel email, not B2B, no senior involvement, "
        "no team, no tags",
        "Closed: Fri 20 Nov 10:00 UTC",
        "Policy: default_policy.toml",
        'Rule: rule 9 "routine-query": A low or normal query: a brief check-in at 48 h, '
        "which may be automated.",
        "Why:",
    ]
    assert text.splitlines()[-5:] == [
        "Touch 1: 48 hours after a query was closed",
        "  who: owner by email, template check_in, may be automated",
        "  due: Mon 23 Nov 09:00 Europe/London (48 hours after close fell on Sunday, not a "
        "working day; moved to the start of the next working window)",
        "  nominal: Sun 22 Nov 10:00 Europe/London",
        "  reminder: Mon 23 Nov 13:00 Europe/London; lead told: Tue 24 Nov 16:30 Europe/London; "
        "missed from: Mon 30 Nov 09:00 Europe/London",
    ]


def test_explain_reports_the_account_manager_fallback(default: Policy) -> None:
    serious = case(kind=Kind.COMPLAINT, severity=Severity.URGENT)
    text = explain(serious, FRIDAY_SUMMER, default, people())
    assert (
        text.count("note: no account manager or lead for this case: the owner does this touch") == 2
    )


# --- who, where and when ----------------------------------------------------------------------


def test_without_an_account_manager_a_lead_calls_and_the_plan_says_so(default: Policy) -> None:
    """../shared/DOMAIN.md: a serious complaint is followed up by "the account manager (or a
    lead) instead" of the agent who closed it; the owner only when there is neither."""
    serious = case(kind=Kind.COMPLAINT, severity=Severity.HIGH)
    call, _ = plan_touches(serious, FRIDAY_SUMMER, default, people(lead=NEW_YORK))
    assert (call.requested_role, call.role) == (Role.ACCOUNT_MANAGER, Role.LEAD)
    assert call.fallback == "no account manager for this case: a lead does this touch"


def test_with_neither_account_manager_nor_lead_the_owner_calls_and_the_plan_says_so(
    default: Policy,
) -> None:
    serious = case(kind=Kind.COMPLAINT, severity=Severity.HIGH)
    call, _ = plan_touches(serious, FRIDAY_SUMMER, default, people())
    assert (call.requested_role, call.role) == (Role.ACCOUNT_MANAGER, Role.OWNER)
    assert call.fallback == "no account manager or lead for this case: the owner does this touch"


def test_the_touch_is_due_in_the_account_managers_own_working_hours(default: Policy) -> None:
    serious = case(kind=Kind.COMPLAINT, severity=Severity.HIGH)
    call, _ = plan_touches(serious, FRIDAY_SUMMER, default, people(account_manager=NEW_YORK))
    # 72 h after close is Monday 10:00 UTC = 06:00 in New York: due at 09:00 EDT = 13:00 UTC.
    assert call.due_at == datetime(2026, 6, 8, 13, 0, tzinfo=UTC)
    assert (call.role, call.tz, call.fallback) == (Role.ACCOUNT_MANAGER, "America/New_York", None)


def test_an_unknown_owner_calendar_falls_back_to_the_team_calendar(default: Policy) -> None:
    [touch] = plan_touches(case(kind=Kind.QUERY), FRIDAY_SUMMER, default, lambda role: None)
    assert touch.tz == "Europe/London"
    assert touch.fallback == "the owner's working hours are unknown: the team calendar is used"


@pytest.mark.parametrize(
    ("channel", "resolved"),
    [
        (Channel.EMAIL, TouchChannel.EMAIL),
        (Channel.PHONE, TouchChannel.PHONE),
        (Channel.CHAT, TouchChannel.CHAT),
        (Channel.WEB, TouchChannel.EMAIL),
        (Channel.SOCIAL, TouchChannel.EMAIL),
        (Channel.OTHER, TouchChannel.EMAIL),
    ],
)
def test_same_channel_follows_the_case(
    default: Policy, channel: Channel, resolved: TouchChannel
) -> None:
    [touch] = plan_touches(case(channel=channel), FRIDAY_SUMMER, default, people())
    assert touch.channel is resolved


def test_reminder_lead_and_missed_times(default: Policy) -> None:
    [touch] = plan_touches(case(), FRIDAY_SUMMER, default, people())
    assert touch.due_at == datetime(2026, 6, 8, 10, 0, tzinfo=UTC)  # Monday 11:00 BST
    # 4 working hours later: Monday 15:00 BST.
    assert touch.remind_at == datetime(2026, 6, 8, 14, 0, tzinfo=UTC)
    # 16 working hours: 6.5 on Monday, 8.5 on Tuesday, 1 on Wednesday: Wednesday 10:00 BST.
    assert touch.lead_at == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    assert touch.missed_at == touch.due_at + timedelta(days=7)


def test_the_lead_is_told_in_the_leads_working_hours(default: Policy) -> None:
    [touch] = plan_touches(case(), FRIDAY_SUMMER, default, people(lead=TOKYO))
    # Wednesday 09:00 UTC is 18:00 in Tokyo, after hours: Thursday 09:00 JST.
    assert touch.lead_at == datetime(2026, 6, 11, 0, 0, tzinfo=UTC)


def test_a_rule_can_override_overdue_handling(default: Policy) -> None:
    serious = case(kind=Kind.COMPLAINT, severity=Severity.HIGH)
    call, _ = plan_touches(serious, FRIDAY_SUMMER, default, people(account_manager=LONDON))
    assert call.remind_at - call.due_at == timedelta(hours=2)


def test_review_and_referral_eligibility(default: Policy) -> None:
    def flags(**facts: object) -> tuple[bool, bool]:
        touch = plan_touches(case(**facts), FRIDAY_SUMMER, default, people())[0]
        return touch.review_eligible, touch.referral_eligible

    assert flags(kind=Kind.QUERY) == (False, False)
    assert flags(kind=Kind.REQUEST) == (True, False)
    assert flags(kind=Kind.COMPLAINT) == (True, False)
    assert flags(kind=Kind.REQUEST, b2b=True) == (True, True)
    assert flags(kind=Kind.COMPLAINT, severity=Severity.HIGH) == (True, True)


def test_priority_puts_urgent_b2b_complaints_before_routine_queries(default: Policy) -> None:
    def priority(**facts: object) -> int:
        return plan_touches(case(**facts), FRIDAY_SUMMER, default, people())[0].priority

    routine = priority(kind=Kind.QUERY, severity=Severity.LOW)
    ordinary = priority(kind=Kind.REQUEST)
    complaint = priority(kind=Kind.COMPLAINT)
    b2b_urgent = priority(kind=Kind.COMPLAINT, severity=Severity.URGENT, b2b=True)
    assert routine < ordinary < complaint < b2b_urgent


def test_the_no_reply_retry_lands_in_working_hours(default: Policy) -> None:
    # "No reply yet" recorded on Thursday 11:00 BST; 72 h later is Sunday: Monday 09:00 BST.
    thursday = datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
    assert no_reply_retry_at(thursday, default, LONDON) == datetime(2026, 6, 8, 8, 0, tzinfo=UTC)


def test_closed_at_must_be_aware(default: Policy) -> None:
    with pytest.raises(ValueError, match="closed_at"):
        plan_touches(case(), datetime(2026, 6, 5, 10), default, people())


# --- matching ---------------------------------------------------------------------------------

TWO_RULES = """
[[rules]]
name = "vip-team"
match = { team = ["VIP"] }
public_review = false
referral = true
touches = [{ after = "24h", who = "lead", channel = "phone", template = "vip_call", automated_ok = false }]

[[rules]]
name = "all-complaints"
match = { kind = ["complaint"] }
public_review = true
referral = false
touches = [{ after = "72h", who = "owner", channel = "same", template = "complaint_owner", automated_ok = false }]

[[rules]]
name = "everything"
description = "Catch-all."
public_review = false
referral = false
touches = []
"""  # noqa: E501


def test_first_match_wins() -> None:
    policy = parse_policy(TWO_RULES)
    vip_complaint = case(kind=Kind.COMPLAINT, team="vip")
    matched = policy.match(vip_complaint)
    assert matched.rule.name == "vip-team"  # "all-complaints" also fits, but comes later
    assert matched.reasons == ['rule 1 "vip-team" matches: team is vip']
    assert policy.match(case(kind=Kind.COMPLAINT, team="billing")).reasons == [
        'rule 1 "vip-team" does not: team is billing, not vip',
        'rule 2 "all-complaints" matches: kind is complaint',
    ]


def test_a_rule_with_no_touches_plans_nothing() -> None:
    policy = parse_policy(TWO_RULES)
    assert plan_touches(case(kind=Kind.QUERY), FRIDAY_SUMMER, policy, people()) == []
    text = explain(case(kind=Kind.QUERY), FRIDAY_SUMMER, policy, people())
    assert "Touches: none (this rule asks for no follow-up)" in text


def test_match_accepts_any_object_with_the_case_facts() -> None:
    @dataclass
    class Facts:
        kind: str = "complaint"
        severity: str = "normal"
        channel: str = "email"
        b2b: bool = False
        senior_involved: bool = False
        tags: tuple[str, ...] = ()
        team: str | None = None

    policy = parse_policy(TWO_RULES)
    assert policy.match(Facts()).rule.name == "all-complaints"  # type: ignore[arg-type]
    planned = plan_touches(Facts(), FRIDAY_SUMMER, policy, people())  # type: ignore[arg-type]
    assert planned[0].why == "72 hours after a complaint was closed"


def test_a_case_no_rule_matches_is_refused_at_plan_time_with_a_clear_message() -> None:
    no_catch_all = TWO_RULES.split('[[rules]]\nname = "everything"')[0]
    policy = parse_policy(no_catch_all)
    assert policy.warnings == (
        "policy.toml: no catch-all rule (one with no match conditions) at the end: a case that "
        "no rule matches will be refused when its follow-ups are planned",
    )
    with pytest.raises(PolicyError) as error:
        plan_touches(case(kind=Kind.QUERY), FRIDAY_SUMMER, policy, people())
    assert str(error.value) == (
        "policy.toml: no rule matches a case with kind query, severity normal, channel email, "
        "not B2B, no senior involvement, no team, no tags; add a final catch-all rule "
        "(one with no match conditions)"
    )


def test_a_rule_after_the_catch_all_is_reported_unreachable() -> None:
    unreachable = TWO_RULES.replace(
        'name = "vip-team"\nmatch = { team = ["VIP"] }', 'name = "vip-team"'
    )
    policy = parse_policy(unreachable)
    assert policy.warnings == (
        'policy.toml: rule 2 "all-complaints" can never match: rule 1 "vip-team" before it '
        "matches every case",
        'policy.toml: rule 3 "everything" can never match: rule 1 "vip-team" before it matches '
        "every case",
    )


def test_automated_check_ins_are_never_planned_for_senior_involvement() -> None:
    policy = parse_policy(
        """
        [[rules]]
        name = "routine"
        match = { kind = ["query"], severity = ["low", "normal"] }
        public_review = false
        referral = false
        touches = [{ after = "48h", who = "owner", channel = "same", template = "check_in", automated_ok = true }]
        """  # noqa: E501
    )
    senior_query = case(kind=Kind.QUERY, senior_involved=True)
    [touch] = plan_touches(senior_query, FRIDAY_SUMMER, policy, people())
    assert not touch.automated_ok


# --- policy file errors -----------------------------------------------------------------------

RULE = """
[[rules]]
name = "complaints"
match = {{ kind = ["complaint"] }}
public_review = true
referral = false
touches = [{{ after = "{after}", who = "{who}", channel = "{channel}", template = "{template}", automated_ok = {automated} }}]
"""  # noqa: E501
# Written unlike RULE so that the text replacements below only ever touch rule 2.
FIRST = """
[[rules]]
name = "first"
match.team = ["vip"]
public_review=false
referral=true
touches=[]
"""


def rule(**changes: str) -> str:
    fields = {
        "after": "72h",
        "who": "owner",
        "channel": "same",
        "template": "complaint_owner",
        "automated": "false",
    }
    return FIRST + RULE.format(**{**fields, **changes})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            rule(after="soon"),
            'policy.toml: rule 2 "complaints": touches[0].after: expected a duration like 48h '
            'or 30d, got "soon"',
        ),
        (
            rule(who="manager"),
            'policy.toml: rule 2 "complaints": touches[0].who: unknown value "manager" '
            "(expected owner, account_manager, lead)",
        ),
        (
            rule(channel="fax"),
            'policy.toml: rule 2 "complaints": touches[0].channel: unknown value "fax" '
            "(expected same, email, phone, chat)",
        ),
        (
            rule(template="check in"),
            'policy.toml: rule 2 "complaints": touches[0].template: expected a template name '
            'like check_in, got "check in"',
        ),
        (
            rule(template=""),
            'policy.toml: rule 2 "complaints": touches[0].template: must not be empty',
        ),
        (
            rule(automated="true"),
            'policy.toml: rule 2 "complaints": touches[0].automated_ok: only routine queries may '
            'be automated: the rule must match kind = ["query"] and severity within low and '
            "normal (never complaints or escalations)",
        ),
        (
            rule(automated='"yes"'),
            'policy.toml: rule 2 "complaints": touches[0].automated_ok: expected true or false, '
            'got "yes"',
        ),
        (
            rule().replace('kind = ["complaint"]', 'kind = ["complain"]'),
            'policy.toml: rule 2 "complaints": match.kind: unknown value "complain" '
            "(expected query, complaint, incident, request)",
        ),
        (
            rule().replace("kind = [", "kinds = ["),
            'policy.toml: rule 2 "complaints": match.kinds: unknown key (did you mean "kind"?)',
        ),
        (
            rule().replace("touches = [", "tuches = ["),
            'policy.toml: rule 2 "complaints": tuches: unknown key (did you mean "touches"?)',
        ),
        (
            rule().replace("public_review = true", "public_review = 1"),
            'policy.toml: rule 2 "complaints": public_review: expected true or false, got 1',
        ),
        (
            rule().replace("referral = false\n", ""),
            'policy.toml: rule 2 "complaints": referral: required',
        ),
        (
            rule().replace('name = "complaints"\n', ""),
            "policy.toml: rule 2: name: required",
        ),
        (
            rule().replace('"complaints"', '"first"'),
            'policy.toml: rule 2 "first": name: used by more than one rule',
        ),
        (
            rule().replace('"complaints"', '"two words"'),
            'policy.toml: rule 2 "two words": name: expected letters, digits, - _ or . '
            "(no spaces), got 'two words'",
        ),
        (
            rule().replace("touches = [{ after", "touches = []\nx = [{ after"),
            'policy.toml: rule 2 "complaints": x: unknown key',
        ),
        (
            rule().replace("touches = [", "touches_ = ["),
            'policy.toml: rule 2 "complaints": touches_: unknown key (did you mean "touches"?)',
        ),
        (
            rule().replace("referral = false", "referral = false\nlead_after_working_hours = 1"),
            'policy.toml: rule 2 "complaints": lead_after_working_hours: must be more than '
            "remind_after_working_hours (4), got 1",
        ),
        (
            rule().replace(
                "automated_ok = false }]",
                'automated_ok = false }, { after = "24h", who = "owner", channel = "email", '
                'template = "fix_held", automated_ok = false }]',
            ),
            'policy.toml: rule 2 "complaints": touches[1].after: must be later than '
            "touches[0].after",
        ),
        (
            rule().replace("match = { kind", "match = { tags_any = [], kind"),
            'policy.toml: rule 2 "complaints": match.tags_any: an empty list matches nothing: '
            "remove the key to match any",
        ),
        ("", "policy.toml: rules: at least one [[rules]] table is required"),
        ("rules = 3", "policy.toml: rules: expected [[rules]] tables"),
        ("[[rule]]\nname = 'x'", 'policy.toml: rule: unknown key (did you mean "rules"?)'),
        (
            '[defaults.calendar]\ntimezone = "Mars/Olympus"\n' + FIRST,
            "policy.toml: defaults.calendar.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            '[defaults.calendar]\ndays = "mon-fry"\n' + FIRST,
            "policy.toml: defaults.calendar.days: unknown day 'fry' in 'mon-fry' "
            "(use mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            '[defaults.calendar]\nstart = "9am"\n' + FIRST,
            "policy.toml: defaults.calendar.start: expected a time of day like 09:00, got '9am'",
        ),
        (
            "[defaults]\nbatch_capp = 3\n" + FIRST,
            'policy.toml: defaults.batch_capp: unknown key (did you mean "batch_cap"?)',
        ),
        (
            "[defaults]\nbatch_cap = 0\n" + FIRST,
            "policy.toml: defaults.batch_cap: must be at least 1, got 0",
        ),
        (
            '[defaults]\nmissed_after_days = "a week"\n' + FIRST,
            'policy.toml: defaults.missed_after_days: expected a number above 0, got "a week"',
        ),
        (
            "[defaults]\nroot_causes = []\n" + FIRST,
            "policy.toml: defaults.root_causes: needs at least one category",
        ),
        (
            '[defaults]\nroot_causes = ["bug", "bug"]\n' + FIRST,
            "policy.toml: defaults.root_causes: lists a value twice",
        ),
    ],
)
def test_policy_errors_name_the_file_the_rule_and_the_field(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "policy.toml")
    assert str(error.value).startswith(message)


def test_invalid_toml_names_the_file_and_the_line() -> None:
    with pytest.raises(PolicyError, match=r"^policy\.toml: not valid TOML: .*line 2"):
        parse_policy("[[rules]]\nname = \n")


def test_load_policy_reads_the_given_file_and_names_it_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "team-policy.toml"
    path.write_text(TWO_RULES, encoding="utf-8")
    assert [r.name for r in load_policy(path).rules] == ["vip-team", "all-complaints", "everything"]
    assert load_policy(path).source == str(path)

    path.write_text(rule(after="soon"), encoding="utf-8")
    with pytest.raises(PolicyError, match=rf'^{path}: rule 2 "complaints": touches\[0\]\.after'):
        load_policy(path)

    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "delta", "words"),
    [
        ("48h", timedelta(hours=48), "48 hours"),
        ("30d", timedelta(days=30), "30 days"),
        ("2w", timedelta(weeks=2), "2 weeks"),
        ("90m", timedelta(minutes=90), "90 minutes"),
        ("1d12h", timedelta(hours=36), "1 day 12 hours"),
    ],
)
def test_durations(text: str, delta: timedelta, words: str) -> None:
    duration = parse_duration(text)
    assert (duration.delta, duration.words()) == (delta, words)


@pytest.mark.parametrize("text", ["soon", "48", "h48", "48 h", "-3d", "1.5h", ""])
def test_malformed_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 48h or 30d"):
        parse_duration(text)
