"""The sandbox's HTTP plumbing: a threaded keep-alive server and request body parsing."""

from __future__ import annotations

import json
import logging
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)


class Answer:
    """An HTTP answer: status, extra headers and a JSON or text body."""

    def __init__(
        self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


class Router(Protocol):
    """What the HTTP layer hands requests to."""

    def route(self, verb: str, path: str, headers: Message, body: bytes) -> Answer:
        """Answer one request."""
        ...

    def upgrade(self, handler: BaseHTTPRequestHandler) -> None:
        """Take over a request asking for a WebSocket; return when that connection has ended."""
        ...


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threaded server whose handler threads never keep the process alive."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, router: Router) -> None:
        self.router = router
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive lets a client reuse one connection for many calls.
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_GET(self) -> None:
        if (self.headers.get("Upgrade") or "").lower() == "websocket":
            self.server.router.upgrade(self)
            self.close_connection = True
            return
        self._serve("GET")

    def _serve(self, verb: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            answer = self.server.router.route(verb, self.path, self.headers, body)
        except Exception:
            logger.exception("sandbox failed on %s %s", verb, self.path)
            answer = Answer(500, {"ok": False, "error": "fatal_error"})
        if isinstance(answer.body, str):
            payload = answer.body.encode()
            content_type = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(answer.body).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def address_string(self) -> str:
        # The default does a reverse DNS lookup per request, which costs milliseconds.
        return str(self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        return


def parse_api_args(path: str, headers: Message, body: bytes) -> dict[str, Any]:
    """Web API arguments from the query string and a form, JSON or multipart body."""
    args: dict[str, Any] = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
    content_type = (headers.get("Content-Type") or "").lower()
    if not body:
        return args
    if content_type.startswith("application/json"):
        decoded = json.loads(body.decode("utf-8"))
        if isinstance(decoded, dict):
            args.update(decoded)
    elif content_type.startswith("multipart/form-data"):
        for name, _, value in multipart_parts(headers.get("Content-Type", ""), body):
            args[name] = value.decode("utf-8", "replace")
    else:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return args


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """The (field name, file name, bytes) of each part of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts.append((str(name), part.get_filename(), data))
    return parts


def upload_bytes(headers: Message, body: bytes) -> bytes:
    """The file bytes of an upload: the first file part of a multipart body, or the raw body."""
    content_type = headers.get("Content-Type") or ""
    if content_type.lower().startswith("multipart/form-data"):
        parts = multipart_parts(content_type, body)
        for _, filename, payload in parts:
            if filename is not None:
                return payload
        return parts[0][2] if parts else b""
    return body
