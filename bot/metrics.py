"""Prometheus metrics: every series the bot exports, defined once for the whole process.

The objects live at module level in one registry of our own (`REGISTRY`), so they are created
once per process however many bots a process starts (the tests start many; a second
registration of a name would raise). `GET /metrics` serves `REGISTRY` when `METRICS=1`
(bot/runtime/server.py); docs/deploy.md lists the series and example alerts.

Names and labels follow Prometheus's "Metric and label naming" page
(prometheus.io/docs/practices/naming): a `followup_` prefix, `_total` on counters, base units
(`_seconds`), snake_case, and only bounded label values: a webhook source, an outcome, a Slack
method name. Never a case, a person or any text from outside.

Incrementing one of these is a lock and an addition (prometheus_client's `Value`), cheap enough
for every hot path; nothing here reads the database.
"""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

REGISTRY = CollectorRegistry(auto_describe=True)
"""Every series below, plus the process, platform and garbage-collector ones that
prometheus_client collects for its default registry."""
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

WEBHOOKS = Counter(
    "followup_webhooks_total",
    "Webhook requests by source (`unknown` for a path naming none) and outcome: accepted, "
    "duplicate, ignored (a vendor's save-time handshake included), refused.",
    ["source", "outcome"],
    registry=REGISTRY,
)
CASES_ACCEPTED = Counter(
    "followup_cases_accepted_total",
    "Closed cases stored: a new case, or a known case closed again after a reopen.",
    ["source"],
    registry=REGISTRY,
)
FOLLOWUPS_PLANNED = Counter(
    "followup_followups_planned_total",
    "Follow-up touches planned for accepted cases.",
    registry=REGISTRY,
)
FOLLOWUPS_DUE = Counter(
    "followup_followups_due_total",
    "Due follow-ups claimed by a dispatch pass (claimed again, and counted again, when "
    "deferred to working hours or retried after a failure).",
    registry=REGISTRY,
)
FOLLOWUPS_SENT = Counter(
    "followup_followups_sent_total",
    "Follow-ups DMed to their assignee and recorded.",
    registry=REGISTRY,
)
FOLLOWUPS_DONE = Counter(
    "followup_followups_done_total",
    "Follow-ups closed by a recorded outcome, by outcome (resolved, not_resolved, no_reply, "
    "unreachable, no_response, skipped).",
    ["outcome"],
    registry=REGISTRY,
)
FOLLOWUPS_MISSED = Gauge(
    "followup_followups_missed_past_week",
    "Follow-ups whose missed cut-off passed in the last 7 days with no outcome by then "
    "(set by each overdue pass; the same in every instance).",
    registry=REGISTRY,
)
DM_LATENESS = Histogram(
    "followup_dm_lateness_seconds",
    "Working time (the assignee's working hours only) from a follow-up's due time to its DM.",
    buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 57600, 144000),
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "followup_slack_api_calls_total",
    "Web API HTTP attempts (retries included) by method and result: ok, error (Slack's "
    '"ok": false, an HTTP error or no answer) or ratelimited (HTTP 429).',
    ["method", "result"],
    registry=REGISTRY,
)
RETRY_AFTER = Histogram(
    "followup_slack_retry_after_seconds",
    "Retry-After waits Slack asked for with a 429, by method (_count: waits, _sum: seconds).",
    ["method"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
DISPATCH_PASS = Histogram(
    "followup_dispatch_pass_duration_seconds",
    "How long one dispatch pass took, from its first claim to its last DM recorded.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
LISTENER_QUEUE = Gauge(
    "followup_listener_queue_depth",
    "Slack listener work acknowledged and waiting for a listener thread.",
    registry=REGISTRY,
)
DIGEST_POSTS = Counter(
    "followup_digest_posts_total",
    "Weekly digest posts by outcome: posted, or failed (Slack refused the post).",
    ["outcome"],
    registry=REGISTRY,
)
WRITEBACKS = Counter(
    "followup_writebacks_total",
    "Helpdesk write-back attempts by source and result: delivered, retrying, rate_limited, "
    "failed (given up until an operator retries).",
    ["source", "result"],
    registry=REGISTRY,
)
