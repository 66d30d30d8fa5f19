"""The helpdesk sandbox: its tickets, recorded calls, faults and HTTP routing."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.helpdesks.core import Call, Request, Ticket, VendorModule
from bot.sandbox.helpdesks.vendors import VENDORS
from bot.sandbox.server import Answer, SandboxHTTPServer


@dataclass
class _Fault:
    status: int | None
    """Answer this instead (None: a hang)."""
    times: int
    retry_after: str | None = None
    hang_seconds: float = 0.0
    apply: bool = False
    """A hang that lets the call land first: the client times out on a change that happened."""
    method: str | None = None
    path_contains: str | None = None
    """Only calls with this method and path part meet the fault (others pass it by)."""

    def meets(self, request: Request) -> bool:
        return self.method in (None, request.method) and (
            self.path_contains is None or self.path_contains in request.path
        )


class HelpdeskSandbox:
    """The helpdesk stand-in; use as a context manager or `start()` / `close()`."""

    def __init__(self) -> None:
        self._vendors: dict[str, VendorModule] = dict(VENDORS)
        self._lock = threading.RLock()
        self._tickets: dict[tuple[str, str], Ticket] = {}
        self._calls: list[Call] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._down_until: dict[str, float] = {}
        self._ids = itertools.count(9000)
        self.state: dict[str, Any] = {}
        """Vendor modules keep their own extra state here (tokens issued, events received)."""
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> HelpdeskSandbox:
        self._server = SandboxHTTPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="helpdesk-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Forget every ticket, call, fault and vendor state (the server keeps running)."""
        with self._lock:
            self._tickets.clear()
            self._calls.clear()
            self._faults.clear()
            self._down_until.clear()
            self.state.clear()

    def __enter__(self) -> HelpdeskSandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the sandbox first"
        return int(self._server.server_address[1])

    def url(self, source: str) -> str:
        """The base URL the bot's write-back for `source` points at."""
        return f"http://127.0.0.1:{self.port}/{source}"

    def env(self, *sources: str) -> dict[str, str]:
        """WRITEBACK_<SOURCE>_<FIELD> variables that point the bot at this sandbox with the
        credentials it accepts (every vendor when none is named)."""
        env: dict[str, str] = {}
        for source in sources or tuple(self._vendors):
            module = self._vendors[source]
            for name, value in module.settings(self).items():
                env[f"WRITEBACK_{source.upper()}_{name}"] = value
        return env

    # --- tickets --------------------------------------------------------------------------

    def add_ticket(self, source: str, ticket_id: str, status: str | None = None) -> Ticket:
        """A ticket in the vendor's closed state (or `status`), as after the case closed."""
        module = self._vendors[source]
        ticket = Ticket(source, str(ticket_id), status or module.CLOSED_STATUS)
        ticket.history.append(ticket.status)
        with self._lock:
            self._tickets[(source, ticket.id)] = ticket
        return ticket

    def ticket(self, source: str, ticket_id: str) -> Ticket:
        with self._lock:
            return self._tickets[(source, str(ticket_id))]

    def find(self, source: str, ticket_id: str) -> Ticket | None:
        with self._lock:
            return self._tickets.get((source, str(ticket_id)))

    def tickets(self, source: str | None = None) -> list[Ticket]:
        with self._lock:
            return [t for (s, _), t in self._tickets.items() if source in (None, s)]

    def new_id(self) -> str:
        return str(next(self._ids))

    # --- calls and faults -----------------------------------------------------------------

    def calls(self, source: str | None = None, method: str | None = None) -> list[Call]:
        with self._lock:
            return [
                c for c in self._calls if source in (None, c.source) and method in (None, c.method)
            ]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def fail(
        self, source: str, status: int, times: int = 1, retry_after: str | None = None
    ) -> None:
        """Answer the next `times` calls to `source` with `status` (and Retry-After)."""
        with self._lock:
            self._faults.setdefault(source, []).append(_Fault(status, times, retry_after))

    def hang(
        self,
        source: str,
        seconds: float,
        times: int = 1,
        apply: bool = False,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Hold the next `times` calls `seconds` before answering; `apply`: let the call land
        first, so a client that times out missed a change that happened. `method` and
        `path_contains` narrow it to the calls that match (the one that adds a note, say)."""
        with self._lock:
            self._faults.setdefault(source, []).append(
                _Fault(
                    None,
                    times,
                    hang_seconds=seconds,
                    apply=apply,
                    method=method,
                    path_contains=path_contains,
                )
            )

    def down(self, source: str, seconds: float) -> None:
        """An outage: every call to `source` answers 503 for `seconds` of real time."""
        with self._lock:
            self._down_until[source] = time.monotonic() + seconds

    def up(self, source: str) -> None:
        """The outage is over, and any faults still queued for `source` are dropped."""
        with self._lock:
            self._down_until.pop(source, None)
            self._faults.pop(source, None)

    # --- HTTP -----------------------------------------------------------------------------

    def route(self, verb: str, path: str, headers: Message, body: bytes) -> Answer:
        parts = urlsplit(path)
        source, _, rest = parts.path.lstrip("/").partition("/")
        module = self._vendors.get(source)
        if module is None:
            return Answer(404, "Not Found")
        request = Request(
            verb, "/" + rest, dict(parse_qsl(parts.query, keep_blank_values=True)), headers, body
        )
        fault = self._take_fault(source, request)
        if fault is not None and fault.status is not None:
            answer = Answer(
                fault.status,
                module.error_body(fault.status),
                {"Retry-After": fault.retry_after} if fault.retry_after else {},
            )
        elif fault is not None:
            answer = module.handle(self, request) if fault.apply else Answer(504, "timeout")
            self._record(source, request, answer)  # when it happened, not when it answers
            time.sleep(fault.hang_seconds)
            return answer
        else:
            answer = module.handle(self, request)
        self._record(source, request, answer)
        return answer

    def upgrade(self, handler: Any) -> None:
        """No helpdesk API here takes a WebSocket: refused, as an unknown path is."""
        handler.send_error(404, "Not Found")

    def _take_fault(self, source: str, request: Request) -> _Fault | None:
        with self._lock:
            if self._down_until.get(source, 0.0) > time.monotonic():
                return _Fault(503, 1)
            queue = self._faults.get(source) or []
            if not queue or not queue[0].meets(request):
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def _record(self, source: str, request: Request, answer: Answer) -> None:
        try:
            body: Any = request.json() if request.body else None
        except (ValueError, UnicodeDecodeError):
            body = request.body.decode("utf-8", "replace")
        call = Call(
            source,
            request.method,
            request.path,
            request.query,
            {k: v for k, v in request.headers.items()},
            body,
            answer.status,
        )
        with self._lock:
            self._calls.append(call)
