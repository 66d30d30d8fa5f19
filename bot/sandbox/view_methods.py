"""Sandbox answers for views.open, views.update, views.push and views.publish."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from bot.sandbox.apiargs import optional_text
from bot.sandbox.blockkit import check_view, slack_error_messages
from bot.sandbox.workspace import ApiError, ViewRecord, Workspace

MAX_VIEW_STACK = 3


def views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.open: a new root modal for the user the trigger belongs to."""
    view = _valid_view(ws, args)
    user_id = ws.exchange_trigger(args.get("trigger_id"))
    full = _new_view(ws, view, root_view_id=None, previous_view_id=None)
    ws.views[full["id"]] = ViewRecord(full, user_id)
    return {"ok": True, "view": copy.deepcopy(full)}


def views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.push: stack a modal on the user's open one (at most three deep)."""
    view = _valid_view(ws, args)
    user_id = ws.exchange_trigger(args.get("trigger_id"))
    open_modals = [
        record.view
        for record in ws.views.values()
        if record.user_id == user_id and not record.closed and record.view["type"] == "modal"
    ]
    if not open_modals:
        raise ApiError("not_found")
    top = open_modals[-1]
    if sum(v["root_view_id"] == top["root_view_id"] for v in open_modals) >= MAX_VIEW_STACK:
        raise ApiError("push_limit_reached")
    full = _new_view(ws, view, root_view_id=top["root_view_id"], previous_view_id=top["id"])
    ws.views[full["id"]] = ViewRecord(full, user_id)
    return {"ok": True, "view": copy.deepcopy(full)}


def views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.update: replace a view found by view_id or external_id, with optional hash check."""
    view_id = optional_text(args, "view_id")
    external_id = optional_text(args, "external_id")
    if view_id is None and external_id is None:
        raise ApiError("invalid_arguments")
    record = ws.views.get(view_id) if view_id else _by_external_id(ws, external_id)
    if record is None:
        raise ApiError("not_found")
    view = _valid_view(ws, args, replacing=record)
    expected = optional_text(args, "hash")
    if expected is not None and expected != record.view["hash"]:
        raise ApiError("hash_conflict")
    old = record.view
    full = _new_view(ws, view, root_view_id=old["root_view_id"], view_id=old["id"])
    full["previous_view_id"] = old["previous_view_id"]
    # Slack keeps what the user typed in inputs whose block_id/action_id survive the update.
    full["state"] = copy.deepcopy(old["state"])
    record.view = full
    return {"ok": True, "view": copy.deepcopy(full)}


def views_publish(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.publish: set a user's App Home view (same view id on every publish)."""
    user_id = optional_text(args, "user_id")
    if user_id is None or user_id not in ws.users:
        raise ApiError("user_not_found")
    existing = ws.views.get(ws.home_views.get(user_id, ""))
    view = _valid_view(ws, args, replacing=existing)
    if view.get("type") != "home":
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] must be home [json-pointer:/view/type]"]},
        )
    expected = optional_text(args, "hash")
    if existing is not None and expected is not None and expected != existing.view["hash"]:
        raise ApiError("hash_conflict")
    view_id = existing.view["id"] if existing else None
    full = _new_view(ws, view, root_view_id=None, view_id=view_id)
    ws.views[full["id"]] = ViewRecord(full, user_id)
    ws.home_views[user_id] = full["id"]
    return {"ok": True, "view": copy.deepcopy(full)}


def _valid_view(
    ws: Workspace, args: dict[str, Any], replacing: ViewRecord | None = None
) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] missing required field: view"]},
        )
    problems = check_view(view)
    holder = _by_external_id(ws, view.get("external_id"))
    if holder is not None and holder is not replacing:
        raise ApiError("duplicate_external_id")
    if problems:
        raise ApiError(
            "invalid_arguments", response_metadata={"messages": slack_error_messages(problems)}
        )
    return view


def _by_external_id(ws: Workspace, external_id: str | None) -> ViewRecord | None:
    for record in ws.views.values():
        if external_id and record.view.get("external_id") == external_id and not record.closed:
            return record
    return None


def _new_view(
    ws: Workspace,
    view: dict[str, Any],
    *,
    root_view_id: str | None,
    previous_view_id: str | None = None,
    view_id: str | None = None,
) -> dict[str, Any]:
    view_id = view_id or ws.new_id("V")
    return {
        "id": view_id,
        "team_id": ws.team_id,
        "type": view["type"],
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": copy.deepcopy(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(ws.clock())}.{secrets.token_hex(4)}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_view_id or view_id,
        "previous_view_id": previous_view_id,
        "app_id": ws.app_id,
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }


VIEW_METHODS = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}


def apply_response_action(ws: Workspace, view_id: str, answer: dict[str, Any] | None) -> None:
    """Apply the app's answer to a view_submission, as Slack does to the modal stack."""
    record = ws.views.get(view_id)
    if record is None:
        return
    action = (answer or {}).get("response_action")
    if action == "errors":
        return
    if action == "clear":
        for other in ws.views.values():
            if other.user_id == record.user_id and other.view["type"] == "modal":
                other.closed = True
        return
    new_view = (answer or {}).get("view")
    if action in ("update", "push") and (not isinstance(new_view, dict) or check_view(new_view)):
        # Slack refuses a view over its limits: the modal stays as it was, showing an error.
        return
    if action == "update" and isinstance(new_view, dict):
        old = record.view
        record.view = _new_view(ws, new_view, root_view_id=old["root_view_id"], view_id=old["id"])
        record.view["previous_view_id"] = old["previous_view_id"]
        return
    if action == "push" and isinstance(new_view, dict):
        top = record.view
        full = _new_view(ws, new_view, root_view_id=top["root_view_id"], previous_view_id=top["id"])
        ws.views[full["id"]] = ViewRecord(full, record.user_id)
        return
    record.closed = True
