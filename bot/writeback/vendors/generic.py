"""The generic write-back: a signed JSON event to any system that wants Followup's outcomes.

`POST WRITEBACK_GENERIC_URL` with one JSON object per event, signed as our inbound generic
webhook is (docs/helpdesks.md), with its own secret, `WRITEBACK_GENERIC_SECRET`:

- `X-Followup-Timestamp: <unix seconds>` and `X-Followup-Signature: sha256=<hex HMAC-SHA256 of
  "<timestamp>.<raw body>">`; a receiver refuses a timestamp more than 5 minutes off.
- `X-Followup-Delivery: <marker>`: the same on every retry of one event. A receiver that
  keeps the ids it has seen drops a retry of something it already took (a timeout can hide a
  delivery that landed; this API has nothing to read back).
- The body: `event` (`outcome_recorded` or `escalation_handled`), `case` (`source`, `id`,
  `subject`), `follow_up_id`, `reopen` (the receiver's ticket should go back to open), the
  event's fields, `note` (the same plain-text note the helpdesks get) and `marker`.

Answers: 2xx is delivered; 429 waits for `Retry-After`; 408, 409, 423, 425 and 5xx retry with
backoff; any other 4xx fails the row for an operator (the receiver refused this event).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from bot.writeback.transport import Http, Permanent, host_of
from bot.writeback.vendors.base import Delivered, Job, ok

TIMESTAMP_HEADER = "X-Followup-Timestamp"
SIGNATURE_HEADER = "X-Followup-Signature"
DELIVERY_HEADER = "X-Followup-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class Generic:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.url = settings["URL"]
        self.secret = settings["SECRET"]
        self.http = http

    def deliver(self, job: Job) -> Delivered:
        if job.sent_at is None:
            raise Permanent("generic: no signing time")
        event = {**job.detail, "note": job.body, "marker": job.marker, "reopen": job.reopen}
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(job.sent_at.timestamp())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(self.secret, timestamp, body),
            DELIVERY_HEADER: job.marker,
        }
        ok(self.http.request("POST", self.url, headers=headers, data=body), "post event")
        return Delivered(
            f"event {event.get('event')} accepted" + ("; reopen asked" if job.reopen else "")
        )

    def check(self) -> str:
        """Nothing to read: the receiver is any system. The settings parse, so say where."""
        return f"events go to {host_of(self.url)} (not called by this check)"
