"""The vendors the helpdesk sandbox stands in for, by source."""

from __future__ import annotations

from bot.sandbox.helpdesks import (
    freshdesk,
    front,
    generic,
    helpscout,
    hubspot,
    jira,
    zammad,
    zendesk,
)
from bot.sandbox.helpdesks.core import VendorModule

VENDORS: dict[str, VendorModule] = {
    "freshdesk": freshdesk,
    "front": front,
    "generic": generic,
    "helpscout": helpscout,
    "hubspot": hubspot,
    "jira": jira,
    "zammad": zammad,
    "zendesk": zendesk,
}
