"""A real Bolt app served over HTTP, driven by SlackDriver and talking to the sandbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.sandbox import SlackDriver, SlackSandbox
from tests.sandbox.receiver import SIGNING_SECRET

NOTE_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "note",
    "title": {"type": "plain_text", "text": "Add a note"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}
DM_BLOCKS: list[dict[str, Any]] = [
    {
        "type": "actions",
        "block_id": "outcome",
        "elements": [
            {
                "type": "button",
                "action_id": "held",
                "text": {"type": "plain_text", "text": "It held"},
                "value": "fu-1",
            }
        ],
    }
]


def build_app(sandbox: SlackSandbox) -> App:
    client = WebClient(
        base_url=sandbox.api_url,
        token=sandbox.bot_token,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    # process_before_response keeps listeners inside the request, so tests need no waiting.
    app = App(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @app.command("/followup")
    def open_note(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=NOTE_MODAL)

    @app.view("note")
    def save_note(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        ack()
        note = view["state"]["values"]["note"]["text"]["value"]
        client.chat_postMessage(channel=body["user"]["id"], text=f"Noted: {note}", blocks=DM_BLOCKS)

    @app.action("held")
    def held(ack: Any, respond: Any, action: dict[str, Any]) -> None:
        ack()
        respond(replace_original=True, text=f"Recorded {action['value']}")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    return app


@pytest.fixture
def bolt_url(sandbox: SlackSandbox) -> Iterator[str]:
    app = build_app(sandbox)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            headers = {key.lower(): [value] for key, value in self.headers.items()}
            response = app.dispatch(BoltRequest(body=raw, headers=headers))
            payload = (response.body or "").encode()
            self.send_response(response.status)
            for name, values in response.headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, values[0])
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def test_command_modal_dm_and_button_round_trip(sandbox: SlackSandbox, bolt_url: str) -> None:
    driver = SlackDriver(bolt_url, SIGNING_SECRET, sandbox)
    assert driver.command("U0AGENT1", "note").status == 200
    [modal] = sandbox.views("U0AGENT1", open_only=True)
    assert modal["callback_id"] == "note"

    assert driver.submit_view("U0AGENT1", modal["id"], {"text": "refund sent"}).status == 200
    assert sandbox.views("U0AGENT1", open_only=True) == []
    [dm] = sandbox.dm_messages("U0AGENT1")
    assert dm["text"] == "Noted: refund sent"

    channel = sandbox.im_channel("U0AGENT1")
    assert driver.block_action_from_message("U0AGENT1", channel, dm["ts"], "held").status == 200
    assert [m["text"] for m in sandbox.dm_messages("U0AGENT1")] == ["Recorded fu-1"]
    assert sandbox.responses[0].body["replace_original"] is True


def test_events_and_signature_checks_through_bolt(sandbox: SlackSandbox, bolt_url: str) -> None:
    driver = SlackDriver(bolt_url, SIGNING_SECRET, sandbox)
    assert driver.app_home_opened("U0AGENT2").status == 200
    assert sandbox.home_view("U0AGENT2") is not None
    assert driver.command("U0AGENT1", unsigned=True).status == 401
    assert driver.event({"type": "reaction_added", "user": "U0AGENT1"}).status == 404
