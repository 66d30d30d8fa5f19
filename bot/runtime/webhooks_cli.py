"""`followup webhooks recipe <source>` and `followup webhooks test <source>`.

`recipe` prints what a helpdesk admin sets up, with the URL built from `PUBLIC_URL`: the same
text as docs/helpdesks.md. `test` posts a signed sample of that vendor's close to the running
bot, exactly as the vendor would send it, and reports what the bot answered and stored; the
sample's follow-ups are then cancelled (`--keep` leaves them), so nobody is asked to follow up
a case that never was.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from bot.clock import Clock, SystemClock
from bot.config import Settings
from db import cases as case_store
from db.engine import make_engine, make_session_factory
from handlers.webhooks.recipes import RECIPES, SAMPLES

TIMEOUT_SECONDS = 15.0
EXAMPLES = """examples:
  followup webhooks recipe zendesk
  followup webhooks test zendesk
  followup webhooks test hubspot --url https://followup.example.com --keep"""


def add_parsers(sub: Any) -> None:
    """The `webhooks` command and its two actions, on the top-level subparsers `sub`."""
    sources = ", ".join(RECIPES)
    webhooks = sub.add_parser(
        "webhooks",
        help="set up a helpdesk's webhook: its recipe, and a signed test delivery",
        description="Set up a helpdesk's webhook: print its recipe, or send a signed sample.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    recipe = actions.add_parser(
        "recipe",
        help="print what to set up in the helpdesk: URL, trigger, body, secret",
        description="Print the setup recipe of one helpdesk, with the URL from PUBLIC_URL.",
        epilog="example:\n  followup webhooks recipe freshdesk",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    recipe.add_argument("source", choices=list(RECIPES), metavar="SOURCE", help=sources)
    test = actions.add_parser(
        "test",
        help="post a signed sample close to the running bot and report what it stored",
        description=(
            "Post a sample close, signed with WEBHOOK_SECRET_<SOURCE> as the vendor signs it, "
            "to the running bot; print its answer and what it stored, then cancel the "
            "sample's follow-ups."
        ),
        epilog="example:\n  followup webhooks test zendesk --url https://followup.example.com",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    test.add_argument("source", choices=list(RECIPES), metavar="SOURCE", help=sources)
    test.add_argument(
        "--url",
        help="where the bot listens (default: http://127.0.0.1:PORT); give PUBLIC_URL to test "
        "through your proxy as the helpdesk would",
    )
    test.add_argument(
        "--keep", action="store_true", help="keep the sample's follow-ups (they will be sent)"
    )


def run(settings: Settings, args: argparse.Namespace, clock: Clock | None = None) -> int:
    if args.webhooks_command == "recipe":
        print(RECIPES[args.source].text(settings.public_url), end="")
        if not settings.public_url:
            print("\n(PUBLIC_URL is not set: replace <your host> with the bot's public address)")
        return 0
    return _test(settings, args.source, args.url, keep=args.keep, clock=clock or SystemClock())


def _test(settings: Settings, source: str, target: str | None, *, keep: bool, clock: Clock) -> int:
    secret = settings.webhook_secrets.get(source)
    if secret is None and source not in settings.webhook_insecure:
        print(f"followup: WEBHOOK_SECRET_{source.upper()} is not set: the bot would refuse it")
        return 2
    recipe = RECIPES[source]
    path = f"/webhooks/{source}" + (f"?{recipe.query}" if recipe.query else "")
    # Signed for the URL the bot knows itself by (PUBLIC_URL), as the vendor signs it: HubSpot
    # signs the URL it calls.
    known_as = (settings.public_url or "").rstrip("/") + path
    posted = (target or _local(settings)).rstrip("/") + path
    now = clock.now()
    # An id no helpdesk gives, unique per run: the sample can never stand in for, or collide
    # with, a real ticket (a real close of that id would otherwise be answered "duplicate").
    sample_id = f"followup-test-{int(now.timestamp())}"
    body, headers = SAMPLES[source](secret or "", known_as, now, sample_id)
    status, reply = _post(posted, body, headers)
    print(f"POST {posted}: {status} {json.dumps(reply)}")
    if status >= 300:
        print(_hint(source, status))
        for variable, meaning in recipe.extra if status == 401 else ():
            print(f"  the recipe also relies on {variable} = {meaning}")
        return 1
    if reply.get("status") != "accepted" or reply.get("case_id") != sample_id:
        reason = reply.get("reason") or reply.get("status") or "no case in the answer"
        print(f"the bot did not store the sample as a new case: {reason}")
        return 1
    case_id = sample_id
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            stored = case_store.stored_case(session, source, str(case_id))
            for line in _stored_lines(stored):
                print(line)
            if stored is not None and not keep:
                cancelled = case_store.cancel_case(session, source, str(case_id), now)
                print(
                    f"cancelled its {cancelled} open follow-up(s): a test case is not followed up"
                )
    finally:
        engine.dispose()
    return 0


def _local(settings: Settings) -> str:
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{settings.port}"


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return 0, {"error": f"cannot reach the bot at {url}: {reason} (is `followup run` up?)"}


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {"error": raw.decode(errors="replace")[:200]}
    return value if isinstance(value, dict) else {"answer": value}


def _hint(source: str, status: int) -> str:
    if status == 401:
        return (
            f"refused: check that WEBHOOK_SECRET_{source.upper()} is the same in this "
            "environment and the running bot's, and that PUBLIC_URL is the address the bot is "
            "called at (restart the bot after changing either)"
        )
    if status == 0:
        return "nothing answered: start the bot, or give --url"
    return "the bot refused the sample: the reason above names the field"


def _stored_lines(stored: case_store.StoredCase | None) -> list[str]:
    if stored is None:
        return ["the bot answered, but this database has no such case: is DATABASE_URL the bot's?"]
    owner = stored.owner or "not matched to a Slack user: its follow-ups go to the triage channel"
    lines = [
        f"stored {stored.reference}: cycle {stored.cycle}, {stored.status}",
        f"  owner: {owner}",
        f"  resolution: {'yes' if stored.has_resolution else 'none (drafts will be vaguer)'}",
        f"  customer: {'yes' if stored.has_customer else 'none'}",
    ]
    if not stored.touches:
        lines.append("  follow-ups: none planned (the policy skips this case)")
    for touch in stored.touches:
        who = touch.assignee or "triage"
        due = _utc(touch.due_at)
        lines.append(
            f"  touch {touch.touch}: {touch.channel}, due {due} UTC, for {who}, {touch.state}"
        )
    return lines


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
