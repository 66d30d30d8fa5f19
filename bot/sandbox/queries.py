"""Read-only views of the sandbox's state for tests, benchmarks and the demo."""

from __future__ import annotations

import copy
import threading
from typing import Any

from bot.sandbox.workspace import ApiError, RecordedCall, RecordedResponse, Workspace


class SandboxQueries:
    """Snapshots of recorded calls, messages, views and files; each a deep copy."""

    _lock: threading.RLock
    _ws: Workspace
    _calls: list[RecordedCall]

    @property
    def calls(self) -> list[RecordedCall]:
        """Every Web API call so far, in order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The calls of one method, in order."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls (state stays)."""
        with self._lock:
            self._calls.clear()

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a conversation (id, user id for their IM, or name), oldest first."""
        with self._lock:
            try:
                channel_id = self._ws.resolve_channel(channel)
            except ApiError:
                return []
            return copy.deepcopy(self._ws.history.get(channel_id, []))

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Messages in the bot's IM with `user_id`, oldest first."""
        with self._lock:
            return copy.deepcopy(self._ws.history.get("D" + user_id, []))

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """One stored message; KeyError when there is none."""
        with self._lock:
            try:
                channel_id = self._ws.resolve_channel(channel)
                return copy.deepcopy(self._ws.find_message(channel_id, ts))
            except ApiError:
                raise KeyError(f"no message {ts} in {channel}") from None

    def ephemeral(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral and ephemeral responses), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ws.ephemerals
                if user_id is None or e["user"] == user_id
            ]

    def view(self, view_id: str) -> dict[str, Any]:
        """A view as last opened, pushed, updated or published."""
        with self._lock:
            return copy.deepcopy(self._ws.views[view_id].view)

    def views(self, user_id: str | None = None, *, open_only: bool = False) -> list[dict[str, Any]]:
        """Views in creation order, optionally one user's and only the open ones."""
        with self._lock:
            return [
                copy.deepcopy(record.view)
                for record in self._ws.views.values()
                if (user_id is None or record.user_id == user_id)
                and not (open_only and record.closed)
            ]

    def view_user(self, view_id: str) -> str:
        """The user a view was opened or published for."""
        with self._lock:
            return self._ws.views[view_id].user_id

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for `user_id`."""
        with self._lock:
            view_id = self._ws.home_views.get(user_id)
            return copy.deepcopy(self._ws.views[view_id].view) if view_id else None

    @property
    def responses(self) -> list[RecordedResponse]:
        """Every POST to an issued response_url, in order."""
        with self._lock:
            return copy.deepcopy(self._ws.responses)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Uploaded files by id, with their bytes under `content`."""
        with self._lock:
            return copy.deepcopy(self._ws.files)
