"""Each helpdesk's write-back class, by source (the sources of bot/cases.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.writeback.transport import Http
from bot.writeback.vendors.base import Vendor
from bot.writeback.vendors.chatwoot import Chatwoot
from bot.writeback.vendors.freshdesk import Freshdesk
from bot.writeback.vendors.front import Front
from bot.writeback.vendors.generic import Generic
from bot.writeback.vendors.helpscout import HelpScout
from bot.writeback.vendors.hubspot import HubSpot
from bot.writeback.vendors.intercom import Intercom
from bot.writeback.vendors.jira import Jira
from bot.writeback.vendors.zammad import Zammad
from bot.writeback.vendors.zendesk import Zendesk

WRITERS: dict[str, Callable[[Mapping[str, str], Http], Vendor]] = {
    "chatwoot": Chatwoot,
    "freshdesk": Freshdesk,
    "front": Front,
    "generic": Generic,
    "helpscout": HelpScout,
    "hubspot": HubSpot,
    "intercom": Intercom,
    "jira": Jira,
    "zammad": Zammad,
    "zendesk": Zendesk,
}


def writer(source: str, settings: Mapping[str, str], http: Http) -> Vendor:
    """The write-back of `source` with its WRITEBACK_<SOURCE>_* settings (by field)."""
    return WRITERS[source](settings, http)
