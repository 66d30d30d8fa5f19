"""The one HTTP client of write-back: a request, its answer, and the failures that decide
what the outbox does next (retry soon, wait as told, or give up).

The standard library's client is enough: one JSON request per call, a timeout, no session
state. A connection error or timeout is `Unreachable`; every HTTP answer, whatever its status,
comes back as a `Response` for the vendor module to judge with `fail_for`.
"""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10.0
"""Per call: a helpdesk slower than this is treated as down, and the row retried later."""
USER_AGENT = "Followup-Writeback/1.0"


class WritebackError(Exception):
    """A delivery that did not complete. `reason` is safe to log and to show an operator: the
    vendor's status and error code, never the note, never a credential."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]


class Transient(WritebackError):
    """Worth retrying with backoff: a 5xx, a timeout, a dropped connection."""


class Unreachable(Transient):
    """No answer at all (connection refused, timed out). The call may still have landed."""


class RateLimited(Transient):
    """The vendor said 429: wait as its Retry-After says (`wait_seconds`) before any call."""

    def __init__(self, reason: str, retry_after: str | None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Permanent(WritebackError):
    """The same call would fail again (bad credentials, no such ticket, a body refused): the
    row is failed at once for an operator to fix and retry."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON; a body that is not is a Transient failure (a proxy's error page)."""
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, ValueError):
            raise Transient(f"HTTP {self.status}: the answer was not JSON") from None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect comes back as its own 3xx answer, never followed: urllib would resend our
    `Authorization` header to whatever host `Location` names, and would turn a redirected POST
    into a GET (Front answers 301 for a merged conversation). The vendor module decides."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Http:
    """JSON over HTTP with one timeout; tests point vendors at the helpdesk sandbox."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self.deadline: float | None = None
        """`time.monotonic()` after which no call starts (the worker sets one per delivery,
        so a vendor's read-back pages cannot outlast the row's lease)."""
        self._opener = urllib.request.build_opener(_NoRedirects)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
    ) -> Response:
        sent = dict(headers or {})
        sent.setdefault("User-Agent", USER_AGENT)
        sent.setdefault("Accept", "application/json")
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(url, data=data, headers=sent, method=method)
        timeout = self.timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Transient(f"{method} {host_of(url)}: out of time for this delivery")
            timeout = min(timeout, left)
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, dict(error.headers.items()), error.read())
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise Unreachable(f"{method} {host_of(url)}: no answer ({reason})") from None


def host_of(url: str) -> str:
    """Only the host of a URL, for messages: its path or query may carry a secret (a Zapier
    or Make hook's URL does)."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1] or "?"


def wait_seconds(retry_after: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: a number, or an HTTP date (RFC 9110 10.2.3); None
    when absent or unreadable."""
    if retry_after is None:
        return None
    try:
        seconds = float(retry_after)
    except ValueError:
        pass
    else:  # "inf" waits for ever (the worker caps it); "nan" says nothing
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def fail_for(response: Response, call: str, code: str | None = None) -> WritebackError:
    """The failure a non-2xx answer means: 429 waits, 408/409/425/5xx retry, others give up.
    `call` names the call (like "add note"); `code` is the vendor's error code if it gave one."""
    what = f"{call}: HTTP {response.status}" + (f" {code}" if code else "")
    if response.status == 429:
        return RateLimited(what, response.header("Retry-After"))
    if response.status in (408, 409, 423, 425) or response.status >= 500:
        return Transient(what)
    return Permanent(what)
