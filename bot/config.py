"""Settings: the only reader of the environment. Fails fast, naming the variable at fault."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cases import SOURCES
from db.engine import url_parses

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///followup.db"

_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,})$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_SENDER_ID = re.compile(r"^[BA][A-Z0-9]{2,}$")
MIN_WEBHOOK_SECRET = 16
"""A webhook secret shorter than this is refused at start-up: a short HMAC key is guessable."""
DEFAULT_TOKEN_HEADER = "X-Followup-Token"
_STAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
GENERATE_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(24))"'


class SettingsError(Exception):
    """A missing or malformed variable; the message names it and what is expected."""


def _characters(count: int) -> str:
    return f"{count} character" + ("" if count == 1 else "s")


def _secret_mask(value: str) -> str:
    return f"<{_characters(len(value))}, hidden>"


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment, validated."""

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    host: str = "0.0.0.0"
    policy_path: Path | None = None
    templates_dir: Path | None = None
    digest_channel: str | None = None
    escalation_channel: str | None = None
    triage_channel: str | None = None
    public_url: str | None = None
    timezone: str = "UTC"
    dispatch_interval_seconds: int = 30
    http_threads: int = 16
    metrics: bool = False
    """`GET /metrics` serves Prometheus metrics (METRICS=1); otherwise it is a 404."""
    log_level: str = "INFO"
    log_format: str = "text"
    """`text` (one readable line per record) or `json` (one JSON object per line)."""
    webhook_secrets: Mapping[str, str] = field(default_factory=dict)
    webhook_insecure: frozenset[str] = frozenset()
    webhook_token_sources: Mapping[str, str] = field(default_factory=dict)
    """Source -> "header" or "query": where it may send WEBHOOK_SECRET_<SOURCE> as a token."""
    hubspot_closed_stages: frozenset[str] = frozenset({"4"})
    hubspot_open_stages: frozenset[str] = frozenset({"1", "2", "3"})
    hubspot_accept_v2: bool = False
    freshdesk_token_header: str = DEFAULT_TOKEN_HEADER
    watched_channels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Channel id -> the bot and app ids whose "ticket solved" messages count there."""
    writeback: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Source -> its write-back credentials by field (WRITEBACK_<SOURCE>_<FIELD>): the
    helpdesks outcomes are noted on. A source absent here gets no write-back."""

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def __repr__(self) -> str:  # secrets never reach a log line through repr()
        return (
            f"Settings(database_url={_redact_url(self.database_url)!r}, "
            f"slack_api_url={self.slack_api_url!r}, port={self.port}, "
            f"socket_mode={self.socket_mode}, webhook_sources={sorted(self.webhook_secrets)}, "
            f"writeback={sorted(self.writeback)})"
        )

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Every secret value, so log filters and tests can make sure none leaks."""
        values = [self.slack_bot_token, self.slack_signing_secret, self.slack_app_token]
        values += list(self.webhook_secrets.values())
        values += [
            fields[spec.name]
            for source, fields in self.writeback.items()
            for spec in WRITEBACK_FIELDS[source]
            if spec.secret and spec.name in fields
        ]
        password = urlparse(self.database_url).password
        return [v for v in [*values, password] if v]

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, require_slack: bool = True
    ) -> Settings:
        """Build settings from `env` (default: the process environment).

        `require_slack=False` is for commands that never talk to Slack (`db upgrade`, checks).
        """
        env = os.environ if env is None else env
        try:
            return _parse(env, require_slack)
        except SettingsError as error:
            # A secret pasted into the wrong variable is echoed by that variable's message.
            raise SettingsError(_hide(str(error), _secret_values(env))) from None


def without_unknown_webhook_secrets(
    env: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """`env` (default: the process environment) without its WEBHOOK_SECRET_<SOURCE> variables
    for unknown sources, and their names: start-up refuses them; `followup doctor` reports each
    one and checks the rest of the setup."""
    env = os.environ if env is None else env
    unknown = sorted(
        name
        for name, value in env.items()
        if name.startswith("WEBHOOK_SECRET_")
        and value.strip()
        and name.removeprefix("WEBHOOK_SECRET_").lower() not in SOURCES
    )
    return {k: v for k, v in env.items() if k not in unknown}, unknown


def _secret_values(env: Mapping[str, str]) -> list[str]:
    """Every value in `env` that is a secret (as `Settings.secrets` would list it)."""
    names = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
    values = [env.get(name) or "" for name in names]
    values += [v for k, v in env.items() if k.startswith("WEBHOOK_SECRET_")]
    values += [env.get(name) or "" for name in WRITEBACK_SECRET_NAMES]
    with contextlib.suppress(ValueError):  # an unparsable URL is redacted where it is shown
        values.append(urlparse(env.get("DATABASE_URL") or "").password or "")
    return [v.strip() for v in values if v.strip()]


def hide_secrets(message: str, secrets: list[str], mask: Callable[[str], str]) -> str:
    """`message` with every secret replaced by `mask(secret)`, however short: a long one
    wherever it appears, a short one (under 6 characters) where it stands as a word of its own,
    so that masking it does not mangle the words around it."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 6:
            message = message.replace(secret, mask(secret))
        else:
            pattern = rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])"
            message = re.sub(pattern, mask(secret).replace("\\", "\\\\"), message)
    return message


def _hide(message: str, secrets: list[str]) -> str:
    return hide_secrets(message, secrets, _secret_mask)


def _redact_url(url: str) -> str:
    try:
        password = urlparse(url).password
    except ValueError:  # unparsable: hide everything between "user:" and the last "@"
        return re.sub(r"(://[^:/@]*:).*@", r"\1***@", url)
    if password:
        return url.replace(f":{password}@", ":***@")
    return url


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _require(env: Mapping[str, str], name: str, expected: str) -> str:
    value = _get(env, name)
    if value is None:
        raise SettingsError(f"{name} is missing: expected {expected}")
    return value


def _token(env: Mapping[str, str], name: str, prefix: str, required: bool) -> str | None:
    value = _get(env, name) if not required else _require(env, name, f"a token starting {prefix}")
    if value is not None and not value.startswith(prefix):
        raise SettingsError(
            f"{name} is malformed: expected a token starting {prefix} (got {_secret_mask(value)})"
        )
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} is malformed: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} is out of range: expected {low} to {high}, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = _get(env, name)
    if raw is None:
        return default
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{name} is malformed: expected an http(s) URL, got {raw!r}")
    return raw


def _channel(env: Mapping[str, str], name: str) -> str | None:
    raw = _get(env, name)
    if raw is not None and not _CHANNEL.match(raw):
        raise SettingsError(
            f"{name} is malformed: expected a channel id like C0123ABCD or a name like "
            f"#support-escalations, got {raw!r}"
        )
    return raw


def _path(env: Mapping[str, str], name: str, want_dir: bool) -> Path | None:
    raw = _get(env, name)
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if want_dir and not path.is_dir():
        raise SettingsError(f"{name} is malformed: expected an existing folder, got {raw!r}")
    if not want_dir and not path.is_file():
        raise SettingsError(f"{name} is malformed: expected an existing file, got {raw!r}")
    return path


def _database_url(env: Mapping[str, str]) -> str:
    raw = _get(env, "DATABASE_URL") or DEFAULT_DATABASE_URL
    if raw.startswith("postgres://") or raw.startswith("postgresql://"):
        # SQLAlchemy would pick psycopg2, which we do not ship; psycopg 3 is the driver.
        raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
    # As SQLAlchemy will read it (its own error would show the password).
    malformed = not raw.startswith(("sqlite://", "postgresql+psycopg://")) or not url_parses(raw)
    if malformed:
        raise SettingsError(
            "DATABASE_URL is malformed: expected sqlite:///path/to/file.db or "
            f"postgresql+psycopg://user:password@host:5432/dbname, got {_redact_url(raw)!r}"
        )
    return raw


def _parse(env: Mapping[str, str], require_slack: bool) -> Settings:
    app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", required=False)
    bot_token = _token(env, "SLACK_BOT_TOKEN", "xoxb-", required=require_slack)
    # Socket Mode authenticates the connection instead of signing each request.
    signing_secret = _get(env, "SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None and require_slack:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is missing: expected the app's signing secret "
            "(Basic Information page), required in HTTP mode"
        )
    api_url = _url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    tz = _get(env, "FOLLOWUP_TIMEZONE") or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"FOLLOWUP_TIMEZONE is malformed: expected an IANA time zone like Europe/London, "
            f"got {tz!r}"
        ) from None
    level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("LOG_LEVEL is malformed: expected DEBUG, INFO, WARNING or ERROR")
    log_format = (_get(env, "LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        raise SettingsError(f"LOG_FORMAT is malformed: expected text or json, got {log_format!r}")
    metrics = _get(env, "METRICS") or "0"
    if metrics not in ("0", "1"):
        raise SettingsError(
            f"METRICS is malformed: expected 1 (serve /metrics) or 0, got {metrics!r}"
        )
    secrets: dict[str, str] = {}
    for name, value in env.items():
        if name.startswith("WEBHOOK_SECRET_") and value.strip():
            source = name.removeprefix("WEBHOOK_SECRET_").lower()
            if source not in SOURCES:
                raise SettingsError(
                    f"{name} names an unknown webhook source: expected one of "
                    + ", ".join(s.upper() for s in SOURCES)
                )
            secrets[source] = value.strip()
            if len(secrets[source]) < MIN_WEBHOOK_SECRET:
                raise SettingsError(
                    f"{name} is too short ({_characters(len(secrets[source]))}): use at least "
                    f"{MIN_WEBHOOK_SECRET}, e.g. 32 from `{GENERATE_SECRET}`, and set the same "
                    "in the helpdesk"
                )
    insecure_raw = _get(env, "WEBHOOK_INSECURE_SOURCES") or ""
    insecure = frozenset(s.strip().lower() for s in insecure_raw.split(",") if s.strip())
    unknown = insecure - set(SOURCES)
    if unknown:
        raise SettingsError(
            "WEBHOOK_INSECURE_SOURCES is malformed: unknown source(s) " + ", ".join(sorted(unknown))
        )
    return Settings(
        slack_bot_token=bot_token or "",
        slack_signing_secret=signing_secret or "",
        slack_app_token=app_token,
        database_url=_database_url(env),
        slack_api_url=api_url,
        port=_int(env, "PORT", 3000, 0, 65535),
        host=_get(env, "HOST") or "0.0.0.0",
        policy_path=_path(env, "FOLLOWUP_POLICY", want_dir=False),
        templates_dir=_path(env, "FOLLOWUP_TEMPLATES", want_dir=True),
        digest_channel=_channel(env, "DIGEST_CHANNEL"),
        escalation_channel=_channel(env, "ESCALATION_CHANNEL"),
        triage_channel=_channel(env, "TRIAGE_CHANNEL"),
        public_url=_url(env, "PUBLIC_URL", None),
        timezone=tz,
        dispatch_interval_seconds=_int(env, "FOLLOWUP_DISPATCH_SECONDS", 30, 1, 3600),
        http_threads=_int(env, "HTTP_THREADS", 16, 1, 256),
        metrics=metrics == "1",
        log_level=level,
        log_format=log_format,
        webhook_secrets=secrets,
        webhook_insecure=insecure,
        webhook_token_sources=_token_sources(env),
        hubspot_closed_stages=_stages(env, "HUBSPOT_CLOSED_STAGES", frozenset({"4"})),
        hubspot_open_stages=_stages(env, "HUBSPOT_OPEN_STAGES", frozenset({"1", "2", "3"})),
        hubspot_accept_v2=_bool(env, "HUBSPOT_ACCEPT_V2"),
        freshdesk_token_header=_header_name(env, "FRESHDESK_TOKEN_HEADER"),
        watched_channels=_watched_channels(env),
        writeback=_writeback(env),
    )


TOKEN_SOURCES = ("chatwoot", "freshdesk", "hubspot", "jira")
"""The sources whose adapters can take WEBHOOK_SECRET_<SOURCE> as a token (senders that cannot
sign: older Chatwoot, Freshdesk, a HubSpot workflow's API key, Jira Automation)."""


def _token_sources(env: Mapping[str, str]) -> dict[str, str]:
    """WEBHOOK_TOKEN_SOURCES: "jira,chatwoot:query"; each source that cannot sign, with where
    its token comes: a header (default, X-Followup-Token) or the URL's `?token=`."""
    places: dict[str, str] = {}
    for entry in (_get(env, "WEBHOOK_TOKEN_SOURCES") or "").split(","):
        source, _, place = entry.strip().lower().partition(":")
        if not source:
            continue
        place = place.strip() or "header"
        if source not in TOKEN_SOURCES or place not in ("header", "query"):
            raise SettingsError(
                "WEBHOOK_TOKEN_SOURCES is malformed: expected SOURCE or SOURCE:header or "
                "SOURCE:query, separated by commas, with sources among "
                + ", ".join(TOKEN_SOURCES)
                + " (the others sign every request, so a token would never be read)"
                + f"; got {entry.strip()[:40]!r}"
            )
        places[source] = place
    return places


def _stages(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    raw = _get(env, name)
    if raw is None:
        return default
    stages = frozenset(s.strip() for s in raw.split(",") if s.strip())
    if not stages or not all(_STAGE_ID.match(s) for s in stages):
        raise SettingsError(
            f"{name} is malformed: expected HubSpot pipeline stage ids separated by commas "
            f"(like 4,88123456), got {raw[:80]!r}"
        )
    return stages


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = (_get(env, name) or "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise SettingsError(f"{name} is malformed: expected true or false, got {raw[:20]!r}")
    return raw in ("true", "1", "yes")


def _header_name(env: Mapping[str, str], name: str) -> str:
    raw = _get(env, name) or DEFAULT_TOKEN_HEADER
    if not _HEADER_NAME.match(raw):
        raise SettingsError(
            f"{name} is malformed: expected an HTTP header name like {DEFAULT_TOKEN_HEADER}, "
            f"got {raw[:80]!r}"
        )
    return raw


def _watched_channels(env: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """WATCHED_CHANNELS: "C0123ABC:B0ZENDESK|A0APPID,C0456DEF:B0FRESHDESK"; each channel with
    the helpdesk app's bot or app ids whose "ticket solved" posts count as closed cases."""
    raw = _get(env, "WATCHED_CHANNELS")
    watched: dict[str, frozenset[str]] = {}
    for entry in (raw or "").split(","):
        if not entry.strip():
            continue
        channel, _, senders = entry.strip().partition(":")
        ids = frozenset(s.strip() for s in senders.split("|") if s.strip())
        if (
            not _CHANNEL_ID.match(channel.strip())
            or not ids
            or not all(_SENDER_ID.match(i) for i in ids)
        ):
            raise SettingsError(
                "WATCHED_CHANNELS is malformed: expected CHANNEL_ID:SENDER|SENDER,... with "
                "channel ids like C0123ABCD and the helpdesk app's bot ids (B…) or app ids "
                f"(A…), got {entry.strip()[:80]!r}"
            )
        watched[channel.strip()] = ids
    return watched


@dataclass(frozen=True)
class WritebackField:
    """One credential of a helpdesk's write-back: WRITEBACK_<SOURCE>_<NAME>."""

    name: str
    expected: str
    """What the value is, for the error naming it (and `.env.example`)."""
    kind: str = "text"
    """`url` (http or https), `secret` (hidden everywhere), `id` (letters, digits, - _ .) or
    `text`."""
    default: str | None = None
    """Used when the variable is unset; None: required once the source's write-back is on."""

    @property
    def secret(self) -> bool:
        return self.kind == "secret"


WRITEBACK_FIELDS: dict[str, tuple[WritebackField, ...]] = {
    "zendesk": (
        WritebackField("URL", "your Zendesk address, like https://acme.zendesk.com", "url"),
        WritebackField("EMAIL", "the email of the agent the API token acts as"),
        WritebackField(
            "TOKEN", "an API token (Admin Center > Apps and integrations > Zendesk API)", "secret"
        ),
    ),
    "freshdesk": (
        WritebackField("URL", "your Freshdesk address, like https://acme.freshdesk.com", "url"),
        WritebackField("API_KEY", "an agent's API key (Profile settings > View API key)", "secret"),
    ),
    "jira": (
        WritebackField("URL", "your Atlassian site, like https://acme.atlassian.net", "url"),
        WritebackField("EMAIL", "the email of the Atlassian account the API token belongs to"),
        WritebackField("TOKEN", "an Atlassian API token (id.atlassian.com > Security)", "secret"),
        WritebackField(
            "REOPEN_TRANSITION",
            "the id of the workflow transition that reopens a resolved request "
            "(empty: the first transition to a 'To Do' or 'In Progress' status)",
            "id",
            "",
        ),
    ),
    "hubspot": (
        WritebackField(
            "TOKEN",
            "a private app's access token (scopes: tickets, crm.objects.contacts.read, "
            "crm.objects.contacts.write)",
            "secret",
        ),
        WritebackField(
            "REOPEN_STAGE",
            "the pipeline stage id a reopened ticket moves to (default 3, the default "
            "pipeline's Waiting on us)",
            "id",
            "3",
        ),
        WritebackField("URL", "HubSpot's API address", "url", "https://api.hubapi.com"),
    ),
    "helpscout": (
        WritebackField("APP_ID", "a Help Scout custom app's App ID (Your Profile > My Apps)", "id"),
        WritebackField("APP_SECRET", "that app's App Secret", "secret"),
        WritebackField("URL", "Help Scout's API address", "url", "https://api.helpscout.net"),
    ),
    "front": (
        WritebackField("TOKEN", "a Front API token (Settings > Developers > API tokens)", "secret"),
        WritebackField("URL", "Front's API address", "url", "https://api2.frontapp.com"),
    ),
    "chatwoot": (
        WritebackField("URL", "your Chatwoot address, like https://app.chatwoot.com", "url"),
        WritebackField(
            "ACCOUNT_ID", "the account id (in the dashboard's URL, /app/accounts/<id>)", "id"
        ),
        WritebackField(
            "TOKEN", "an administrator's access token (Profile settings > Access Token)", "secret"
        ),
    ),
    "zammad": (
        WritebackField("URL", "your Zammad address, like https://support.acme.com", "url"),
        WritebackField("TOKEN", "a personal access token with ticket.agent", "secret"),
    ),
    "intercom": (
        WritebackField("TOKEN", "an Intercom app's access token (Developer Hub)", "secret"),
        WritebackField("ADMIN_ID", "the id of the admin that notes and reopens", "id"),
        WritebackField(
            "URL",
            "Intercom's API address (EU: https://api.eu.intercom.io, Australia: https://api.au.intercom.io)",
            "url",
            "https://api.intercom.io",
        ),
    ),
    "generic": (
        WritebackField("URL", "the address that receives Followup's signed events", "url"),
        WritebackField(
            "SECRET", f"a signing secret, at least {MIN_WEBHOOK_SECRET} characters", "secret"
        ),
    ),
}
"""Every helpdesk Followup writes back to, with the variables its write-back reads. Setting
any of a source's variables turns its write-back on; then every field without a default must
be set."""

WRITEBACK_SECRET_NAMES = tuple(
    f"WRITEBACK_{source.upper()}_{spec.name}"
    for source, specs in WRITEBACK_FIELDS.items()
    for spec in specs
    if spec.secret
)
_WRITEBACK_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _writeback(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """WRITEBACK_<SOURCE>_<FIELD>: each source with any of its variables set, validated."""
    known = {
        f"WRITEBACK_{source.upper()}_{spec.name}"
        for source, specs in WRITEBACK_FIELDS.items()
        for spec in specs
    }
    for name in sorted(env):
        if name.startswith("WRITEBACK_") and name not in known and (env[name] or "").strip():
            raise SettingsError(
                f"{name} is not a write-back variable: expected WRITEBACK_<SOURCE>_<FIELD> "
                "with the fields listed in docs/writeback.md"
            )
    found: dict[str, dict[str, str]] = {}
    for source, specs in WRITEBACK_FIELDS.items():
        prefix = f"WRITEBACK_{source.upper()}_"
        if not any(_get(env, prefix + spec.name) for spec in specs):
            continue
        fields: dict[str, str] = {}
        for spec in specs:
            name = prefix + spec.name
            value = _get(env, name)
            if value is None and spec.default is None:
                raise SettingsError(
                    f"{name} is missing: expected {spec.expected} (the {source} write-back is "
                    "on because another of its variables is set)"
                )
            fields[spec.name] = _writeback_value(name, spec, value or spec.default or "", source)
        found[source] = fields
    return found


def _writeback_value(name: str, spec: WritebackField, value: str, source: str) -> str:
    if spec.kind == "url" and value:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError(f"{name} is malformed: expected {spec.expected}, got {value!r}")
        if parsed.scheme == "http" and parsed.hostname not in _LOOPBACK:
            # The calls carry the helpdesk's credentials (or a signed customer note).
            raise SettingsError(
                f"{name} must be https (credentials and notes would cross the network in "
                f"clear); plain http is only for this machine (localhost), got {value!r}"
            )
        return value.rstrip("/")
    if spec.kind == "id" and value and not _WRITEBACK_ID.match(value):
        raise SettingsError(
            f"{name} is malformed: expected {spec.expected} (letters, digits, - _ .), "
            f"got {value[:40]!r}"
        )
    if spec.kind == "secret" and source == "generic" and len(value) < MIN_WEBHOOK_SECRET:
        raise SettingsError(
            f"{name} is too short ({_characters(len(value))}): use at least "
            f"{MIN_WEBHOOK_SECRET}, e.g. 32 from `{GENERATE_SECRET}`"
        )
    if spec.name == "EMAIL" and "@" not in value:
        raise SettingsError(f"{name} is malformed: expected {spec.expected}, got {value[:80]!r}")
    return value
