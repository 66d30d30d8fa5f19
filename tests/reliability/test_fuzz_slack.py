"""Hostile input at `/slack/events`: property-based fuzzing of every Slack payload handler.

Signed requests, built as Slack builds them (slash commands, block_actions, view_submission,
Events API), with fuzzed values, go through the real WSGI application (`FollowupWSGI` → Bolt)
in-process, on one bot per database for the module; each example waits until its listener has
finished. Properties:
- never a 5xx, never an exception or error logged (Bolt's "listener failed" included);
- no partial write: every outcome belongs to a follow-up that is no longer open, every
  follow-up to a case, and a refused click or submission changes no row;
- nothing the bot posts, updates, publishes or answers carries a live mention or link from
  outside text (`<!channel>`, `<!here>`, `<@U…>`, `<https://evil|click>`);
- a request whose signature is stale, or replayed after more than five minutes: 401;
- someone else's follow-up buttons and modals: refused, nothing changed.

Examples per test: FOLLOWUP_FUZZ_EXAMPLES (default 60); the long run is in the docstring of
test_fuzz_webhooks.py. With CI set the examples are derandomized.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from bot import ids
from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import SlackSandbox

EXAMPLES = int(os.environ.get("FOLLOWUP_FUZZ_EXAMPLES", "20"))
settings.register_profile(
    "followup-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None if os.environ.get("CI") else settings.default.database,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
FUZZ = settings.get_profile("followup-fuzz")

SIGNING_SECRET = "sandbox-signing-secret-0123456789"
WEBHOOK_SECRET = "generic-webhook-secret"
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
USERS = ("U0AGENT", "U0LEAD", "U0OTHER", "U0NEW")
OPEN_STATES = ("planned", "claimed", "sent", "snoozed", "triage")

# --- hostile values -----------------------------------------------------------------------------

SQL = [
    "'; DROP TABLE cases; --",
    "1' OR '1'='1",
    "Robert'); DROP TABLE follow_ups;--",
    "1; SELECT pg_sleep(10)--",
    "' UNION SELECT slack_user_id FROM agents --",
]
MENTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@UEVIL0001>",
    "<@WEVIL0002|boss>",
    "<https://evil.example|click>",
    "<#CEVIL0003|general>",
    "<!subteam^SEVIL0004>",
]
ODD = [
    "",
    " ",
    "\u0000",
    "nul\x00inside",
    "\u202eevil",
    "🙂🙂",
    '"unbalanced',
    "'",
    "--",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "&lt;!here&gt;",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "25:61",
    "tomorrow",
    "friday",
    "dec 32",
    "x" * 3000,
    "<@U0AGENT>",
    "<@U0OTHER|linus>",
    "ada@example.com",
    "<mailto:ada@example.com|ada@example.com>",
]
WORDS = SQL + MENTIONS + ODD
hostile_text = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=200),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=4).map(" ".join),
)
LIVE = re.compile(r"<(?:!channel|!here|!everyone|!subteam|@[UW]EVIL|#CEVIL|https://evil)")

# --- the bot under test -------------------------------------------------------------------------


class Problems(logging.Handler):
    """Every log record at ERROR or above, or carrying an exception, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def take(self) -> list[str]:
        found = [f"{r.name}: {r.getMessage()[:300]} {r.exc_info!r:.300}" for r in self.records]
        self.records.clear()
        return found


class TrackedExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, remembering its work so a test can wait for every listener."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="listener")
        self._pending: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.append(future)
        return future

    def drain(self) -> None:
        while True:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                return
            wait(pending, timeout=30)


class ShiftedClock:
    """slack-sdk's signature clock, `offset` seconds ahead of the wall clock."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


class Bot:
    """The bot's WSGI app called in-process, a seeded world and the Slack sandbox."""

    def __init__(self, wsgi: Any, app: Any, deps: Any, sandbox: SlackSandbox, clock: ManualClock):
        self.wsgi, self.app, self.deps, self.sandbox, self.clock = wsgi, app, deps, sandbox, clock
        self.problems = Problems()
        self.executor: TrackedExecutor = app.listener_runner.listener_executor
        self.tables = [t for t in inspect(deps.engine).get_table_names() if t != "alembic_version"]
        self.sent: list[int] = []  # follow-ups DMed to U0AGENT
        self.triaged: list[int] = []
        self.dm: dict[int, tuple[str, str]] = {}

    def __repr__(self) -> str:
        return f"Bot({self.deps.engine.dialect.name})"

    def raw(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + stamp.encode() + b":" + body
        mac = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/slack/events",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": content_type,
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
            "HTTP_X_SLACK_SIGNATURE": mac if signature is None else signature,
        }
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            answer["status"] = int(status.split()[0])

        payload = b"".join(self.wsgi(environ, start_response))
        self.executor.drain()
        return answer["status"], payload.decode("utf-8", "replace")

    def form(self, fields: dict[str, Any], **signing: Any) -> tuple[int, str]:
        return self.raw(urlencode(fields).encode(), "application/x-www-form-urlencoded", **signing)

    def interaction(self, payload: dict[str, Any], **signing: Any) -> tuple[int, str]:
        return self.form({"payload": json.dumps(payload)}, **signing)

    def event(self, event: dict[str, Any], **signing: Any) -> tuple[int, str]:
        body = {
            "token": "sandbox-verification-token",
            "team_id": self.sandbox.team_id,
            "api_app_id": self.sandbox.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:16].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.sandbox.team_id, "user_id": self.sandbox.bot_user_id}
            ],
        }
        return self.raw(json.dumps(body).encode(), "application/json", **signing)

    def generic(self, payload: dict[str, Any]) -> int:
        """A case through the signed generic webhook (to seed the world)."""
        body = json.dumps(payload).encode()
        seconds = int(self.clock.now().timestamp())
        mac = hmac.new(WEBHOOK_SECRET.encode(), f"{seconds}.".encode() + body, "sha256")
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/webhooks/generic",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "HTTP_X_FOLLOWUP_TIMESTAMP": str(seconds),
            "HTTP_X_FOLLOWUP_SIGNATURE": f"sha256={mac.hexdigest()}",
        }
        answer: dict[str, Any] = {}
        b"".join(self.wsgi(environ, lambda s, h: answer.update(status=int(s.split()[0]))))
        return int(answer["status"])

    def counts(self) -> dict[str, int]:
        with self.deps.engine.connect() as connection:
            return {
                t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in self.tables
            }

    def broken_rows(self) -> list[Any]:
        """Rows a partial write would leave: outcomes of open follow-ups, orphans."""
        checks = {
            "outcome of an open follow-up": "SELECT o.id FROM outcomes o JOIN follow_ups f "
            "ON f.id = o.follow_up_id WHERE f.state IN ('planned','claimed','sent','snoozed',"
            "'triage')",
            "outcome without follow-up": "SELECT o.id FROM outcomes o LEFT JOIN follow_ups f "
            "ON f.id = o.follow_up_id WHERE f.id IS NULL",
            "follow-up without case": "SELECT f.id FROM follow_ups f LEFT JOIN cases c "
            "ON c.id = f.case_id WHERE c.id IS NULL",
            "two outcomes for one follow-up": "SELECT follow_up_id FROM outcomes "
            "GROUP BY follow_up_id HAVING count(*) > 1",
        }
        with self.deps.engine.connect() as connection:
            return [
                (name, row)
                for name, query in checks.items()
                for row in connection.execute(text(query)).all()
            ]

    def state(self, followup_id: int) -> str:
        with self.deps.engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT state FROM follow_ups WHERE id = :i"), {"i": followup_id}
                ).scalar_one()
            )

    def user(self, user_id: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": self.sandbox.team_id,
        }

    def responses_seen(self) -> int:
        with self.sandbox._lock:  # the sandbox's public `responses` deep-copies them all
            return len(self.sandbox._ws.responses)

    def responses_since(self, start: int) -> list[Any]:
        with self.sandbox._lock:
            return copy.deepcopy(self.sandbox._ws.responses[start:])

    def trigger(self, user_id: str) -> str:
        return self.sandbox.new_trigger_id(user_id)


def _seed(bot: Bot) -> None:
    """Six cases DMed to Ada (lead: Grace), one in triage; Monday 10:00 UTC."""
    from bot.dispatch.dispatcher import dispatch_pass
    from db.cases import agent_by_slack_id
    from db.models import Agent, FollowUp

    for n in range(6):
        payload = {
            "case_id": f"SEED-{n}",
            "subject": f"<!channel> seed case {n} '; DROP TABLE cases; --",
            "closed_at": FRIDAY.isoformat(),
            "owner_email": "ada@example.com",
            "customer_name": "<@UEVIL0001> Priya",
            "resolution": "<https://evil.example|click>",
            "kind": "complaint" if n % 2 else "request",
            "b2b": bool(n % 3),
        }
        assert bot.generic(payload) == 202
    orphan = {
        "case_id": "SEED-TRIAGE",
        "subject": "<!here> nobody owns this",
        "closed_at": FRIDAY.isoformat(),
        "owner_email": "nobody@example.com",
    }
    assert bot.generic(orphan) == 202
    bot.clock.set(MONDAY)
    dispatch_pass(bot.deps, threads=2)
    with bot.deps.session_factory.begin() as session:
        lead = agent_by_slack_id(session, "U0LEAD", MONDAY)
        lead.is_lead = True
        agent_by_slack_id(session, "U0OTHER", MONDAY)
        for agent in session.query(Agent).filter(Agent.slack_user_id == "U0AGENT"):
            agent.lead_id = lead.id
        for followup in session.query(FollowUp).all():
            if followup.state == "sent":
                bot.sent.append(followup.id)
                bot.dm[followup.id] = (str(followup.slack_channel), str(followup.slack_ts))
            elif followup.state == "triage":
                bot.triaged.append(followup.id)
    assert bot.sent and bot.triaged, "the seed must leave DMs and a triage post"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def slack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    from bot.runtime.app import build_app
    from bot.runtime.server import FollowupWSGI
    from bot.runtime.start import build_deps, ensure_schema
    from db import migrate
    from handlers.webhooks.receive import receive_webhook

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'followup.db'}"
    else:  # the shared fixture: skips outside CI when no server answers, fails with CI set
        url = request.getfixturevalue("module_postgres_url")

    with SlackSandbox(bot_token="xoxb-sandbox") as sandbox:
        sandbox.add_user("U0AGENT", name="ada", real_name="Ada", email="ada@example.com")
        sandbox.add_user("U0LEAD", name="grace", real_name="Grace", email="grace@example.com")
        sandbox.add_user("U0OTHER", name="linus", real_name="Linus", email="linus@example.com")
        sandbox.add_user("U0NEW", name="new", real_name="<!channel> New", email="new@example.com")
        for channel in ("C0ESCALATE", "C0TRIAGE", "C0DIGEST", "C0WATCH"):
            sandbox.add_channel(channel, channel.lower().removeprefix("c0"))
        env = {
            "SLACK_BOT_TOKEN": "xoxb-sandbox",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": sandbox.api_url,
            "DATABASE_URL": url,
            "WEBHOOK_SECRET_GENERIC": WEBHOOK_SECRET,
            "ESCALATION_CHANNEL": "C0ESCALATE",
            "TRIAGE_CHANNEL": "C0TRIAGE",
            "WATCHED_CHANNELS": "C0HELPDESK:B0HELPDESK,C0WATCH:B0HELPDESK",
            "DIGEST_CHANNEL": "C0DIGEST",
        }
        bot_settings = Settings.from_env(env)
        migrate.upgrade(bot_settings.database_url)
        clock = ManualClock(FRIDAY)
        deps = build_deps(bot_settings, clock)
        ensure_schema(deps)
        app = build_app(deps, verify_token=False, listener_executor=TrackedExecutor())
        bot = Bot(FollowupWSGI(deps, app, receive_webhook), app, deps, sandbox, clock)
        _seed(bot)
        logging.getLogger().addHandler(bot.problems)
        try:
            yield bot
        finally:
            logging.getLogger().removeHandler(bot.problems)
            bot.executor.shutdown(wait=True)
            deps.engine.dispose()


# --- checks -------------------------------------------------------------------------------------


def mrkdwn_strings(value: Any, outer_key: str = "") -> Iterator[str]:
    """Text Slack reads as mrkdwn: message text, mrkdwn objects, attachment text."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for key, item in value.items():
            yield from mrkdwn_strings(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from mrkdwn_strings(item, outer_key)
    elif isinstance(value, str) and outer_key in ("text", "fallback", "pretext"):
        yield value


def live_mentions(payloads: list[tuple[str, dict[str, Any]]]) -> list[str]:
    found = []
    for where, args in payloads:
        args = dict(args)
        for key in ("blocks", "attachments", "view"):
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    continue
        for snippet in mrkdwn_strings(args):
            for match in LIVE.finditer(snippet):
                found.append(
                    f"{where}: ...{snippet[max(match.start() - 60, 0) : match.end() + 30]}"
                )
    return found


class Watch:
    """What one request did: row counts before, Slack calls and response_url posts since."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.counts = bot.counts()
        # The record grows with every example: copying all of it each time made a long run
        # quadratic, so calls start afresh and response_url posts are read from where we are.
        bot.sandbox.reset_calls()
        self.calls = 0
        self.responses = bot.responses_seen()

    def posted(self) -> list[tuple[str, dict[str, Any]]]:
        calls = self.bot.sandbox.calls[self.calls :]
        responses = self.bot.responses_since(self.responses)
        return [(c.method, c.args) for c in calls] + [("response_url", r.body) for r in responses]

    def check(self, status: int, answer: str) -> None:
        """Never a 5xx, nothing logged, no broken rows, no live mention anywhere."""
        assert status < 500, (status, answer)
        assert self.bot.problems.take() == []
        assert self.bot.broken_rows() == []
        assert live_mentions(self.posted()) == []
        assert LIVE.search(answer) is None, answer

    def unchanged(self) -> None:
        assert self.bot.counts() == self.counts


# --- slash commands -----------------------------------------------------------------------------

SUBCOMMANDS = ("help", "due", "agents", "log", "done", "snooze", "stats", "away", "digest")
ARGS = {
    "agents": ["link", "lead", "backup", "list", "zendesk", "<@U0AGENT|ada>", "<@U0OTHER>"],
    "done": ["#1", "1", "resolved", "no_reply"],
    "snooze": ["tomorrow", "3d", "2026-12-01", "next", "week"],
    "away": ["until", "friday", "dec", "25", "back", "2027-01-05", "status", "off"],
    "digest": ["preview", "now", "last", "week"],
    "stats": ["week", "month", "team"],
}


@st.composite
def command_text(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from((*SUBCOMMANDS, "", "DUE", "unknown", "<!channel>")))
    words = draw(
        st.lists(
            st.one_of(st.sampled_from(ARGS.get(name.lower(), ["x"])), hostile_text), max_size=4
        )
    )
    if name in ("done", "snooze") and draw(st.booleans()):
        words.insert(0, str(draw(st.integers(-5, 50))))
    quote = draw(st.sampled_from(["", '"', "'"]))
    return " ".join([name, *(quote + w + quote if quote else w for w in words)])


@FUZZ
@given(user=st.sampled_from(USERS), words=command_text(), in_dm=st.booleans())
@example(user="U0AGENT", words="done 1 <!channel> '; DROP TABLE cases; --", in_dm=True)
@example(user="U0AGENT", words='snooze "unbalanced', in_dm=True)
@example(user="U0OTHER", words="away until <!here>", in_dm=False)
@example(user="U0AGENT", words="done \x00", in_dm=False)  # a DataError on PostgreSQL
def test_slash_commands_survive_any_text(slack: Bot, user: str, words: str, in_dm: bool) -> None:
    """`/followup <every subcommand> <fuzzed words>` from any member, in a DM or a channel."""
    channel = slack.sandbox.im_channel(user) if in_dm else "C0WATCH"
    fields = {
        "token": "sandbox-verification-token",
        "team_id": slack.sandbox.team_id,
        "channel_id": channel,
        "user_id": user,
        "user_name": user.lower(),
        "command": ids.COMMAND,
        "text": words,
        "api_app_id": slack.sandbox.app_id,
        "response_url": slack.sandbox.new_response_url(user, channel),
        "trigger_id": slack.trigger(user),
    }
    watch = Watch(slack)
    status, answer = slack.form(fields)
    watch.check(status, answer)
    assert status == 200


# --- block actions ------------------------------------------------------------------------------

BUTTONS = (ids.ACTION_FOLLOWED_UP, ids.ACTION_SNOOZE, ids.ACTION_SKIP)
DRILLDOWNS = (
    "digest_drilldown_not_held",
    "digest_drilldown_overdue",
    "digest_drilldown_root_causes",
)
ACTIONS = (*BUTTONS, ids.ACTION_ESCALATION_HANDLED, ids.ACTION_TRIAGE_ASSIGN, *DRILLDOWNS)


@st.composite
def action_value(draw: st.DrawFn, bot: Bot, action_id: str) -> str:
    known = [*bot.sent, *bot.triaged]
    if action_id.startswith("digest_drilldown"):
        kind = action_id.removeprefix("digest_drilldown_")
        return draw(
            st.one_of(
                st.integers(-3, 5).map(lambda n: f"{n}:{kind}"),
                st.sampled_from(["1:nope", ":", "x:not_held", "1", "99999999999999999999:overdue"]),
                hostile_text,
            )
        )
    return draw(
        st.one_of(
            st.sampled_from(known).map(str),
            st.integers(-(2**70), 2**70).map(str),
            st.sampled_from(["", " 1", "1.0", "0x1", "１", "1e3", "NaN"]),
            hostile_text,
        )
    )


@st.composite
def block_action(draw: st.DrawFn, bot: Bot, action_id: str, user: str) -> dict[str, Any]:
    value = draw(action_value(bot, action_id))
    followup = draw(st.sampled_from(bot.sent))
    channel, ts = bot.dm[followup]
    where = draw(st.sampled_from(["dm", "home", "triage", "escalation"]))
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": bot.user(user),
        "api_app_id": bot.sandbox.app_id,
        "token": "sandbox-verification-token",
        "trigger_id": bot.trigger(user),
        "team": {"id": bot.sandbox.team_id, "domain": "sandbox"},
    }
    block_id = draw(
        st.one_of(
            st.sampled_from([f"triage-assign-{f}" for f in [*bot.triaged, *bot.sent]]),
            st.just("triage-assign-"),
            st.just("triage-assign-x"),
            hostile_text,
        )
    )
    if where == "home":
        payload["container"] = {"type": "view", "view_id": "V0HOME"}
        payload["view"] = {"id": "V0HOME", "type": "home", "blocks": []}
    else:
        channel = {"dm": channel, "triage": "C0TRIAGE", "escalation": "C0ESCALATE"}[where]
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel, "name": "directmessage"}
        payload["message"] = {"ts": ts, "text": "", "blocks": []}
        payload["response_url"] = bot.sandbox.new_response_url(user, channel, ts)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "value": value,
        "action_ts": f"{time.time():.6f}",
    }
    if action_id == ids.ACTION_TRIAGE_ASSIGN:
        del action["value"]
        action["type"] = "users_select"
        action["selected_user"] = draw(st.one_of(st.sampled_from(USERS), hostile_text))
    payload["actions"] = [action]
    return payload


@pytest.mark.parametrize("action_id", ACTIONS)
@FUZZ
@given(data=st.data())
def test_block_actions_survive_any_value(slack: Bot, action_id: str, data: Any) -> None:
    """Every action id the app registers, clicked by anyone, with any value and from anywhere."""
    user = data.draw(st.sampled_from(USERS), label="user")
    payload = data.draw(block_action(slack, action_id, user), label="payload")
    watch = Watch(slack)
    status, answer = slack.interaction(payload)
    watch.check(status, answer)
    assert status == 200
    if user in ("U0OTHER", "U0NEW") and action_id in BUTTONS:
        # Not theirs: no outcome, skip or snooze modal (a notice modal on the App Home is fine).
        opened = [json.dumps(c.args) for c in slack.sandbox.calls[watch.calls :]]
        assert not [o for o in opened for view in VIEWS[:3] if view in o]
        watch.unchanged()


@pytest.mark.parametrize("action_id", BUTTONS)
@pytest.mark.parametrize("user", ["U0OTHER", "U0NEW"])
def test_non_owners_are_refused_on_every_button(slack: Bot, action_id: str, user: str) -> None:
    """Someone else's follow-up: an ephemeral refusal, no modal, no row changed."""
    for followup in slack.sent:
        payload = {
            "type": "block_actions",
            "user": slack.user(user),
            "trigger_id": slack.trigger(user),
            "team": {"id": slack.sandbox.team_id},
            "container": {
                "type": "message",
                "message_ts": slack.dm[followup][1],
                "channel_id": slack.dm[followup][0],
            },
            "channel": {"id": slack.dm[followup][0]},
            "response_url": slack.sandbox.new_response_url(user, slack.dm[followup][0]),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "type": "button",
                    "value": str(followup),
                    "action_ts": "1.0",
                }
            ],
        }
        watch = Watch(slack)
        before = slack.state(followup)
        status, answer = slack.interaction(payload)
        watch.check(status, answer)
        assert status == 200
        opened = [c for c in slack.sandbox.calls[watch.calls :] if c.method == "views.open"]
        assert opened == []
        refusals = [body for where, body in watch.posted() if where == "response_url"]
        if before in OPEN_STATES:
            assert any("Only the person" in str(r.get("text")) for r in refusals), refusals
        watch.unchanged()
        assert slack.state(followup) == before


# --- view submissions ---------------------------------------------------------------------------

VIEWS = (ids.VIEW_OUTCOME, ids.VIEW_SKIP, ids.VIEW_SNOOZE, ids.VIEW_LOG_CASE)


def modal_blocks(callback_id: str) -> list[dict[str, Any]]:
    from bot.intake.log_case import log_case_modal
    from bot.loop import views as ov

    case = ov.ModalCase(1, "generic #1", "subject", "customer", True, True)
    views = {
        ids.VIEW_OUTCOME: lambda: ov.outcome_modal(case, ["billing error", "other"], "{}"),
        ids.VIEW_SKIP: lambda: ov.skip_modal(case, "{}"),
        ids.VIEW_SNOOZE: lambda: ov.snooze_modal(case, "{}", MONDAY.date()),
        ids.VIEW_LOG_CASE: lambda: log_case_modal("U0AGENT", MONDAY.date(), "UTC"),
    }
    return list(views[callback_id]().to_dict()["blocks"])


dates = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(str),
    st.sampled_from(["2026-11-23", "2026-11-24", "2026-02-30", "", "today", "23/11/2026"]),
    hostile_text,
)
times = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.sampled_from(["24:00", "9:5", "", "noon"]),
    hostile_text,
)


@st.composite
def element_state(draw: st.DrawFn, element: dict[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    options = [o["value"] for o in element.get("options", [])]
    option = st.one_of(st.sampled_from(options or ["x"]), hostile_text).map(
        lambda v: {"text": {"type": "plain_text", "text": str(v)[:75]}, "value": v}
    )
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "email_text_input", "url_text_input"):
        state["value"] = draw(st.one_of(st.none(), hostile_text))
    elif kind in ("static_select", "radio_buttons"):
        state["selected_option"] = draw(st.one_of(st.none(), option))
    elif kind == "checkboxes":
        state["selected_options"] = draw(st.lists(option, max_size=5))
    elif kind == "datepicker":
        state["selected_date"] = draw(st.one_of(st.none(), dates))
    elif kind == "timepicker":
        state["selected_time"] = draw(st.one_of(st.none(), times))
    elif kind == "users_select":
        state["selected_user"] = draw(st.one_of(st.none(), st.sampled_from(USERS), hostile_text))
    return state


@st.composite
def submission(draw: st.DrawFn, bot: Bot, callback_id: str, user: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in modal_blocks(callback_id):
        if block["type"] != "input" or draw(st.integers(0, 9)) == 0:
            continue  # an optional input left out
        element = block["element"]
        values[block["block_id"]] = {element["action_id"]: draw(element_state(element))}
    followup = draw(st.one_of(st.sampled_from(bot.sent), st.integers(-3, 10**6)))
    if callback_id == ids.VIEW_LOG_CASE:
        meta = draw(
            st.one_of(
                st.sampled_from(
                    ['{"tz": "UTC", "c": null}', '{"tz": "Europe/London", "c": "C0WATCH"}']
                ),
                st.builds(lambda tz: json.dumps({"tz": tz, "c": None}), hostile_text),
                hostile_text,
            )
        )
    else:
        channel, ts = bot.dm.get(followup, ("D0X", "1.1"))
        meta = draw(
            st.one_of(
                st.just(json.dumps({"f": followup, "c": channel, "t": ts, "s": "dm"})),
                st.builds(
                    lambda c, t: json.dumps({"f": followup, "c": c, "t": t, "s": "home"}),
                    st.one_of(st.none(), hostile_text),
                    st.one_of(st.none(), hostile_text),
                ),
                st.sampled_from(["", "{}", "[]", "null", '{"f": "x"}', '{"f": null}']),
                hostile_text,
            )
        )
    return {
        "type": "view_submission",
        "team": {"id": bot.sandbox.team_id, "domain": "sandbox"},
        "user": bot.user(user),
        "api_app_id": bot.sandbox.app_id,
        "token": "sandbox-verification-token",
        "trigger_id": bot.trigger(user),
        "view": {
            "id": f"V{uuid.uuid4().hex[:10].upper()}",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": meta,
            "blocks": modal_blocks(callback_id),
            "state": {"values": values},
        },
        "response_urls": [],
    }


@pytest.mark.parametrize("callback_id", VIEWS)
@FUZZ
@given(data=st.data())
def test_view_submissions_survive_any_values(slack: Bot, callback_id: str, data: Any) -> None:
    """Every modal the app opens, submitted by anyone with any values and metadata."""
    user = data.draw(st.sampled_from(USERS), label="user")
    payload = data.draw(submission(slack, callback_id, user), label="payload")
    watch = Watch(slack)
    status, answer = slack.interaction(payload)
    watch.check(status, answer)
    assert status == 200
    reply = json.loads(answer) if answer.strip().startswith("{") else {}
    if reply.get("response_action") == "errors":
        watch.unchanged()


# --- events -------------------------------------------------------------------------------------


@FUZZ
@given(
    user=st.one_of(st.sampled_from(USERS), hostile_text),
    tab=st.sampled_from(["home", "messages", "", "x"]),
)
def test_app_home_opened_survives_anyone(slack: Bot, user: str, tab: str) -> None:
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0X",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    watch = Watch(slack)
    status, answer = slack.event(event)
    watch.check(status, answer)
    assert status == 200
    watch.unchanged()


solved_text = st.builds(
    lambda word, case_id, by, subject: f"{word} #{case_id} solved by {by}: {subject}",
    st.sampled_from(["Ticket", "Case", "Conversation", "issue"]),
    st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), hostile_text),
    st.sampled_from(
        [
            "<@U0AGENT>",
            "<@U0OTHER|linus>",
            "<mailto:ada@example.com|ada>",
            "ada@example.com",
            "<@UEVIL0001>",
            "<!channel>",
            "nobody",
        ]
    ),
    hostile_text,
)


@FUZZ
@given(
    message=st.one_of(solved_text, hostile_text),
    subtype=st.sampled_from([None, None, "bot_message", "message_changed", "thread_broadcast"]),
    sender=st.sampled_from(["U0AGENT", "U0OTHER", None]),
)
@example(
    message="Ticket #77 solved by <@U0AGENT>: '; DROP TABLE cases; --",
    subtype=None,
    sender="U0AGENT",
)
def test_watched_channel_messages_are_stored_verbatim_or_ignored(
    slack: Bot, message: str, subtype: str | None, sender: str | None
) -> None:
    """A "ticket solved" message in a watched channel: a case whose subject is the text as sent."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": "C0WATCH",
        "channel_type": "channel",
        "text": message,
        "ts": f"{time.time():.6f}",
        "event_ts": f"{time.time():.6f}",
    }
    if subtype:
        event["subtype"] = subtype
    if sender:
        event["user"] = sender
    else:
        event["bot_id"] = "B0HELPDESK"
    watch = Watch(slack)
    status, answer = slack.event(event)
    watch.check(status, answer)
    assert status == 200
    from bot.intake.watched import IGNORED_SUBTYPES, parse_solved

    kept = message.replace("\x00", "")  # PostgreSQL cannot store NUL; the rest is kept
    closed = None if subtype in IGNORED_SUBTYPES else parse_solved(kept, "C0WATCH", event["ts"])
    if closed is None or sender:  # a person's "solved" message is never a case: only the app's
        watch.unchanged()
        return
    with slack.deps.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT subject FROM cases WHERE source = :s AND external_id = :e"),
            {"s": closed.source, "e": closed.external_id},
        ).scalar_one_or_none()
    assert stored is not None
    if slack.counts()["cases"] > watch.counts["cases"]:  # a new case, not a repeat of one
        assert stored == closed.subject


# --- signatures ---------------------------------------------------------------------------------


@FUZZ
@given(
    age=st.one_of(st.integers(301, 10**8), st.integers(-(10**8), -301)),
    kind=st.sampled_from(["command", "action", "event"]),
)
def test_stale_signatures_are_refused(slack: Bot, age: int, kind: str) -> None:
    """A correctly signed request whose timestamp is more than five minutes off: 401."""
    stamp = int(time.time()) - age
    watch = Watch(slack)
    if kind == "command":
        status, answer = slack.form(
            {"command": ids.COMMAND, "user_id": "U0AGENT", "text": "due"}, timestamp=stamp
        )
    elif kind == "action":
        status, answer = slack.interaction(
            {"type": "block_actions", "user": slack.user("U0AGENT"), "actions": []}, timestamp=stamp
        )
    else:
        status, answer = slack.event(
            {"type": "app_home_opened", "user": "U0AGENT", "tab": "home"}, timestamp=stamp
        )
    assert status == 401, answer
    watch.check(status, answer)
    watch.unchanged()
    assert slack.sandbox.calls[watch.calls :] == []


@pytest.mark.parametrize("kind", ["command", "action", "event"])
def test_replayed_requests_are_refused_after_five_minutes(slack: Bot, kind: str) -> None:
    """The same signed bytes, accepted when fresh, are refused once five minutes have passed."""
    from slack_bolt.middleware.request_verification import RequestVerification

    [verification] = [m for m in slack.app._middleware_list if isinstance(m, RequestVerification)]
    stamp = int(time.time())
    if kind == "command":
        body = urlencode(
            {
                "command": ids.COMMAND,
                "user_id": "U0AGENT",
                "text": "help",
                "response_url": slack.sandbox.new_response_url("U0AGENT", "DU0AGENT"),
            }
        )
        content_type = "application/x-www-form-urlencoded"
    elif kind == "action":
        payload = {
            "type": "block_actions",
            "user": slack.user("U0AGENT"),
            "actions": [
                {"action_id": ids.ACTION_SNOOZE, "block_id": "b", "value": str(slack.sent[0])}
            ],
            "trigger_id": slack.trigger("U0AGENT"),
            "container": {"type": "view"},
        }
        body = urlencode({"payload": json.dumps(payload)})
        content_type = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(
            {
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex}",
                "team_id": slack.sandbox.team_id,
                "event": {"type": "app_home_opened", "user": "U0AGENT", "tab": "home"},
            }
        )
        content_type = "application/json"
    status, _ = slack.raw(body.encode(), content_type, timestamp=stamp)
    assert status == 200
    watch = Watch(slack)
    original = verification.verifier.clock
    try:
        for late in (301, 3600, 86400 * 30):
            verification.verifier.clock = ShiftedClock(late)
            status, answer = slack.raw(body.encode(), content_type, timestamp=stamp)
            assert status == 401, (late, answer)
    finally:
        verification.verifier.clock = original
    watch.check(401, "")
    watch.unchanged()
    assert slack.sandbox.calls[watch.calls :] == []


@FUZZ
@given(
    signature=st.one_of(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80),
        st.just("v0=" + "0" * 64),
    )
)
def test_forged_signatures_are_refused(slack: Bot, signature: str) -> None:
    watch = Watch(slack)
    status, answer = slack.form(
        {"command": ids.COMMAND, "user_id": "U0AGENT", "text": "due"}, signature=signature
    )
    assert status == 401, answer
    watch.check(status, answer)
    watch.unchanged()


# --- what the fuzzer found ----------------------------------------------------------------------


def _click(bot: Bot, action_id: str, value: str, *, home: bool = False, user: str = "U0AGENT"):
    followup = bot.sent[0]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": bot.user(user),
        "trigger_id": bot.trigger(user),
        "team": {"id": bot.sandbox.team_id},
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
    }
    if home:  # Slack sends Home-tab clicks without a response_url
        payload["container"] = {"type": "view", "view_id": "V0HOME"}
    else:
        channel, ts = bot.dm[followup]
        payload["container"] = {"type": "message", "channel_id": channel, "message_ts": ts}
        payload["response_url"] = bot.sandbox.new_response_url(user, channel, ts)
    return bot.interaction(payload)


@pytest.mark.parametrize(
    "value",
    ["", "1e3", "'; DROP TABLE follow_ups; --", "99999999999999999999", "2147483648", "-1", "²"],
)
@pytest.mark.parametrize("action_id", [*BUTTONS, ids.ACTION_ESCALATION_HANDLED])
def test_a_button_value_that_is_not_ours_is_out_of_date(
    slack: Bot, action_id: str, value: str
) -> None:
    """int(value) raised (ValueError, OverflowError on SQLite, integer out of range on
    PostgreSQL): Bolt logged "listener failed"; now the clicker reads that it is out of date."""
    watch = Watch(slack)
    status, answer = _click(slack, action_id, value)
    watch.check(status, answer)
    assert [r.body.get("text") for r in slack.responses_since(watch.responses)] == [
        "That button is out of date: nothing was changed."
    ]
    watch.unchanged()


@pytest.mark.parametrize("action_id", BUTTONS)
def test_a_refusal_on_the_app_home_is_shown_in_a_modal(slack: Bot, action_id: str) -> None:
    """Home-tab clicks carry no response_url: `respond` raised ValueError for a non-owner."""
    watch = Watch(slack)
    status, answer = _click(slack, action_id, str(slack.sent[0]), home=True, user="U0OTHER")
    watch.check(status, answer)
    [opened] = [c for c in slack.sandbox.calls[watch.calls :] if c.method == "views.open"]
    assert "Only the person" in json.dumps(opened.args)
    assert opened.args.get("view") and ids.VIEW_OUTCOME not in json.dumps(opened.args)
    watch.unchanged()


@pytest.mark.parametrize(
    "meta", ["", "5", "[]", '{"f": "x"}', '{"f": 2147483648}', '{"f": 2147483647}', "{"]
)
@pytest.mark.parametrize("callback_id", [ids.VIEW_OUTCOME, ids.VIEW_SKIP, ids.VIEW_SNOOZE])
def test_a_modal_whose_metadata_is_not_ours_says_it_is_out_of_date(
    slack: Bot, callback_id: str, meta: str
) -> None:
    """meta["f"] raised KeyError, a missing follow-up raised Refused, json raised ValueError."""
    view = {
        "id": "V0STALE",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": meta,
        "blocks": modal_blocks(callback_id),
        "state": {"values": {}},
    }
    payload = {"type": "view_submission", "user": slack.user("U0AGENT"), "view": view}
    watch = Watch(slack)
    status, answer = slack.interaction(payload)
    watch.check(status, answer)
    reply = json.loads(answer)
    assert reply["response_action"] == "errors"
    assert list(reply["errors"]) == [modal_blocks(callback_id)[1]["block_id"]]
    watch.unchanged()


def test_a_snooze_date_that_is_not_a_date_is_an_inline_error(slack: Bot) -> None:
    """date.fromisoformat raised on a datepicker value that was not a date."""
    followup = slack.sent[-1]
    channel, ts = slack.dm[followup]
    view = {
        "id": "V0SNOOZE",
        "type": "modal",
        "callback_id": ids.VIEW_SNOOZE,
        "private_metadata": json.dumps({"f": followup, "c": channel, "t": ts, "s": "dm"}),
        "blocks": modal_blocks(ids.VIEW_SNOOZE),
        "state": {
            "values": {
                "snooze_when": {"when": {"selected_option": {"value": "pick_date"}}},
                "snooze_date": {"date": {"selected_date": "1; SELECT pg_sleep(10)--"}},
            }
        },
    }
    watch = Watch(slack)
    status, answer = slack.interaction(
        {"type": "view_submission", "user": slack.user("U0AGENT"), "view": view}
    )
    watch.check(status, answer)
    assert json.loads(answer)["response_action"] == "errors"
    watch.unchanged()


@pytest.mark.parametrize(
    "meta",
    ["5", "[]", '{"tz": "Mars/Olympus", "c": "<!channel>"}', json.dumps({"tz": "x" * 300})],
)
def test_log_case_metadata_that_is_not_ours_falls_back_to_utc(slack: Bot, meta: str) -> None:
    """`json.loads(metadata).get` raised AttributeError on metadata that was not an object."""
    view = {
        "id": f"V{uuid.uuid4().hex[:8].upper()}",
        "type": "modal",
        "callback_id": ids.VIEW_LOG_CASE,
        "private_metadata": meta,
        "blocks": modal_blocks(ids.VIEW_LOG_CASE),
        "state": {
            "values": {
                ids.LOG_SUBJECT: {ids.LOG_INPUT: {"value": "'; DROP TABLE cases; --"}},
                ids.LOG_CLOSED_DATE: {ids.LOG_INPUT: {"selected_date": "2026-11-23"}},
                ids.LOG_OWNER: {ids.LOG_INPUT: {"selected_user": "U0AGENT"}},
            }
        },
    }
    watch = Watch(slack)
    status, answer = slack.interaction(
        {"type": "view_submission", "user": slack.user("U0AGENT"), "view": view}
    )
    watch.check(status, answer)
    assert answer.strip() == ""
    assert slack.counts()["cases"] == watch.counts["cases"] + 1


@pytest.mark.parametrize(
    "message",
    [
        "Ticket #91 solved by <@U0AGENT>: \u2028",  # a blank subject: IndexError in parse_solved
        "Ticket #92 solved by <@U0AGENT>: refund \x00 done",  # NUL: DataError on PostgreSQL
    ],
)
def test_watched_channel_messages_found_by_the_fuzzer(slack: Bot, message: str) -> None:
    watch = Watch(slack)
    status, answer = slack.event(
        {
            "type": "message",
            "channel": "C0WATCH",
            "channel_type": "channel",
            "subtype": "bot_message",
            "bot_id": "B0HELPDESK",
            "text": message,
            "ts": f"{time.time():.6f}",
        }
    )
    watch.check(status, answer)
    added = slack.counts()["cases"] - watch.counts["cases"]
    assert added == (0 if "\u2028" in message else 1)


def test_triage_picks_that_are_not_ours_are_ignored(slack: Bot) -> None:
    """int() of a block id that was not `triage-assign-<id>` raised; a cleared pick too."""
    for block_id, user in [
        ("triage-assign-x", "U0AGENT"),
        (f"triage-assign-{slack.triaged[0]}", None),
    ]:
        action = {
            "action_id": ids.ACTION_TRIAGE_ASSIGN,
            "block_id": block_id,
            "type": "users_select",
            "selected_user": user,
        }
        payload = {
            "type": "block_actions",
            "user": slack.user("U0LEAD"),
            "actions": [action],
            "container": {"type": "message", "channel_id": "C0TRIAGE", "message_ts": "1.1"},
        }
        watch = Watch(slack)
        status, answer = slack.interaction(payload)
        watch.check(status, answer)
        watch.unchanged()
