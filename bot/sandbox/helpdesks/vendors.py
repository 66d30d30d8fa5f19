"""The vendors the helpdesk sandbox stands in for, by source."""

from __future__ import annotations

from bot.sandbox.helpdesks import (
    chatwoot,
    freshdesk,
    front,
    generic,
    helpscout,
    hubspot,
    intercom,
    jira,
    zammad,
    zendesk,
)
from bot.sandbox.helpdesks.core import VendorModule

VENDORS: dict[str, VendorModule] = {
    "chatwoot": chatwoot,
    "freshdesk": freshdesk,
    "front": front,
    "generic": generic,
    "helpscout": helpscout,
    "hubspot": hubspot,
    "intercom": intercom,
    "jira": jira,
    "zammad": zammad,
    "zendesk": zendesk,
}
