"""Realistic vendor payloads (shapes from each vendor's documentation and public fixtures)."""

from __future__ import annotations

import copy
from typing import Any

SUBJECT = "Facture erronée — 请帮忙 🙏"
AGENT = "zoë.agent@example.com"
CUSTOMER = "Łukasz Żółć"


def generic(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case_id": "CASE-1001",
        "subject": SUBJECT,
        "closed_at": "2025-03-04T11:58:00+01:00",
        "owner_email": AGENT,
        "resolution": "Credited the duplicate charge",
        "customer_name": CUSTOMER,
        "customer_email": "lukasz@example.pl",
        "company": "Żółć Sp. z o.o.",
        "channel": "chat",
        "severity": "high",
        "kind": "complaint",
        "b2b": True,
        "senior_involved": False,
        "account_manager_email": "am@example.com",
        "team": "Billing",
        "tags": ["billing", "refund"],
        "url": "https://help.example.com/cases/1001",
    }
    body.update(changes)
    return body


def zendesk_trigger(**changes: Any) -> dict[str, Any]:
    body = {
        "event": "closed",
        "ticket_id": "35436",
        "subject": SUBJECT,
        "status": "Solved",
        "updated_at": "2025-03-04T11:55Z",
        "assignee_email": AGENT,
        "assignee_name": "Zoë Agent",
        "requester_name": CUSTOMER,
        "requester_email": "lukasz@example.pl",
        "organization": "Żółć Sp. z o.o.",
        "group": "Billing",
        "via": "Web Form",
        "priority": "Urgent",
        "ticket_type": "Incident",
        "tags": "billing vip",
        "url": "acme.zendesk.com/agent/tickets/35436",
    }
    body.update(changes)
    return body


def zendesk_event(current: str = "SOLVED", previous: str = "OPEN", **changes: Any) -> dict:
    body: dict[str, Any] = {
        "account_id": 22129848,
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": "8447388090494",
            "brand_id": "8447346621310",
            "created_at": "2025-03-01T09:12:01Z",
            "custom_status": "8447320465790",
            "description": "Bonjour, la facture est fausse",
            "external_id": None,
            "form_id": "8646151517822",
            "group_id": "8447320466430",
            "id": "5158",
            "is_public": True,
            "organization_id": "8447346622462",
            "priority": "HIGH",
            "requester_id": "8447388090494",
            "status": current,
            "subject": SUBJECT,
            "submitter_id": "8447388090494",
            "tags": ["billing", "vip"],
            "type": "QUESTION",
            "updated_at": "2025-03-04T11:59:00Z",
            "via": {"channel": "web_service"},
        },
        "event": {"current": current, "previous": previous},
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "subject": "zen:ticket:5158",
        "time": "2025-03-04T11:59:01.371Z",
        "type": "zen:event-type:ticket.status_changed",
        "zendesk_event_version": "2022-11-06",
    }
    body.update(changes)
    return body


def intercom_v1(topic: str = "conversation.admin.closed") -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "i6wc9ipe",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "21322009097",
                "created_at": 1741084000,
                "updated_at": 1741089400,
                "user": {
                    "type": "lead",
                    "id": "5c9553cb27e377f24eed49f7",
                    "name": CUSTOMER,
                    "email": "lukasz@example.pl",
                },
                "assignee": {"type": "admin", "id": "1957471", "name": "Zoë", "email": AGENT},
                "conversation_message": {
                    "type": "conversation_message",
                    "id": "331499307",
                    "subject": "",
                    "body": "<p>Ma facture est erronée, 请帮忙</p>",
                    "author": {"type": "user", "id": "5c9553cb27e377f24eed49f7"},
                    "attachments": [],
                },
                "conversation_parts": {
                    "type": "conversation_part.list",
                    "conversation_parts": [
                        {
                            "type": "conversation_part",
                            "id": "2824395628",
                            "part_type": "close",
                            "body": "<p>Refunded &amp; closed</p>",
                            "created_at": 1741089389,
                            "author": {"type": "admin", "id": "1957471", "name": "Zoë"},
                            "attachments": [],
                        }
                    ],
                    "total_count": 1,
                },
                "open": False,
                "state": "closed",
                "read": True,
                "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "1", "name": "vip"}]},
                "links": {
                    "conversation_web": "https://app.intercom.io/a/apps/i6wc9ipe/conversations/21322009097"
                },
            },
        },
        "links": {},
        "id": "notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1741089390,
        "created_at": 1741089390,
        "self": None,
    }


def intercom_v2(topic: str = "conversation.admin.closed") -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "abc123",
        "id": "notif_9f1c7a40-2f5e-4d3e-8d8a-1e2f3a4b5c6d",
        "topic": topic,
        "created_at": 1741089390,
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "147",
                "created_at": 1741084000,
                "updated_at": 1741089389,
                "title": None,
                "admin_assignee_id": 991267242,
                "team_assignee_id": None,
                "open": topic != "conversation.admin.closed",
                "state": "closed",
                "priority": "priority",
                "source": {
                    "type": "email",
                    "id": "403918320",
                    "delivered_as": "customer_initiated",
                    "subject": SUBJECT,
                    "body": "<p>Hello</p>",
                    "author": {
                        "type": "user",
                        "id": "6762f0dc1bb69f9f2193bb83",
                        "name": CUSTOMER,
                        "email": "lukasz@example.pl",
                    },
                },
                "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "1"}]},
                "statistics": {"type": "conversation_statistics", "last_close_at": 1741089389},
                "custom_attributes": {},
                "tags": {"type": "tag.list", "tags": []},
                "conversation_parts": {
                    "type": "conversation_part.list",
                    "conversation_parts": [
                        {
                            "type": "conversation_part",
                            "id": "99",
                            "part_type": "close",
                            "body": None,
                            "created_at": 1741089389,
                            "author": {
                                "type": "admin",
                                "id": "991267242",
                                "name": "Zoë",
                                "email": AGENT,
                            },
                        }
                    ],
                    "total_count": 1,
                },
            },
        },
    }


def freshdesk(**changes: Any) -> dict[str, Any]:
    body = {
        "ticket_id": "1234",
        "subject": SUBJECT,
        "status": "Resolved",
        "priority": "High",
        "source": "Email",
        "ticket_type": "Problem",
        "tags": "billing,vip",
        "url": "https://acme.freshdesk.com/helpdesk/tickets/1234",
        "agent_email": AGENT,
        "agent_name": "Zoë Agent",
        "requester_name": CUSTOMER,
        "requester_email": "lukasz@example.pl",
        "company": "Żółć Sp. z o.o.",
        "group": "Billing",
    }
    body.update(changes)
    return body


def freshdesk_simple(**changes: Any) -> dict[str, Any]:
    """Freshdesk's "Simple" content with every field ticked: keys as in OpsGenie's Freshdesk
    integration sample and Zulip's zerver/webhooks/freshdesk fixtures (`requester_name` has
    no `ticket_` prefix there)."""
    fields: dict[str, Any] = {
        "ticket_id": 1234,
        "ticket_subject": SUBJECT,
        "ticket_description": "<div>Ma facture…</div>",
        "ticket_url": "https://acme.freshdesk.com/helpdesk/tickets/1234",
        "ticket_portal_url": "https://acme.freshdesk.com/support/tickets/1234",
        "ticket_tags": "billing, vip",
        "ticket_latest_public_comment": "Zoë Agent : <div>Corrected the VAT number.</div>",
        "ticket_group_name": "Billing",
        "ticket_agent_name": "Zoë Agent",
        "ticket_agent_email": AGENT,
        "ticket_status": "Resolved",
        "ticket_priority": "High",
        "ticket_source": "Email",
        "ticket_type": "Problem",
        "requester_name": CUSTOMER,
        "ticket_requester_email": "lukasz@example.pl",
        "ticket_company_name": "Żółć Sp. z o.o.",
        "helpdesk_name": "Acme",
        "triggered_event": "{status:{from:2,to:4}}",
    }
    fields.update(changes)
    return {"freshdesk_webhook": fields}


def hubspot_event(value: str = "4", **changes: Any) -> dict[str, Any]:
    event = {
        "eventId": 1734215791,
        "subscriptionId": 2431879,
        "portalId": 62515,
        "appId": 1160452,
        "occurredAt": 1741089500000,
        "subscriptionType": "ticket.propertyChange",
        "attemptNumber": 0,
        "objectId": 1246965,
        "propertyName": "hs_pipeline_stage",
        "propertyValue": value,
        "changeSource": "CRM_UI",
        "sourceId": "userId:4817423",
    }
    event.update(changes)
    return event


def hubspot_workflow(**props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "hs_object_id": {"value": "1246965"},
        "subject": {"value": SUBJECT},
        "hs_pipeline_stage": {"value": "4"},
        "hubspot_owner_id": {"value": "52550153"},
        "hs_ticket_priority": {"value": "HIGH"},
        "hs_ticket_category": {"value": "BILLING_ISSUE"},
        "source_type": {"value": "EMAIL"},
        "closed_date": {"value": "1741089500000"},
        "hs_lastmodifieddate": {"value": "1741089500000"},
    }
    properties.update({k: {"value": v} for k, v in props.items()})
    return {"objectId": 1246965, "objectType": "TICKET", "properties": properties}


def jira(to_category: str = "done", event: str = "jira:issue_updated") -> dict[str, Any]:
    names = {"done": ("Done", "Resolved"), "indeterminate": ("In Progress", None)}
    status_name, resolution = names.get(to_category, ("To Do", None))
    return {
        "timestamp": 1741089500123,
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {
            "accountId": "5b10ac8d82e05b22cc7d4ef5",
            "displayName": "Zoë Agent",
            "emailAddress": AGENT,
        },
        "issue": {
            "id": "10002",
            "self": "https://acme.atlassian.net/rest/api/2/issue/10002",
            "key": "SUP-17",
            "fields": {
                "summary": SUBJECT,
                "issuetype": {"name": "Incident"},
                "priority": {"name": "Highest"},
                "labels": ["billing", "vip"],
                "resolution": {"name": resolution} if resolution else None,
                "resolutiondate": "2025-03-04T11:58:20.000+0100" if resolution else None,
                "status": {
                    "name": status_name,
                    "statusCategory": {"id": 3, "key": to_category, "name": status_name},
                },
                "assignee": {
                    "accountId": "5b10ac8d82e05b22cc7d4ef5",
                    "displayName": "Zoë Agent",
                    "emailAddress": AGENT,
                },
                "reporter": {
                    "accountId": "qm:1234",
                    "displayName": CUSTOMER,
                    "emailAddress": "lukasz@example.pl",
                },
            },
        },
        "changelog": {
            "id": "10101",
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": "3",
                    "fromString": "In Progress",
                    "to": "10001",
                    "toString": status_name,
                }
            ],
        },
    }


def jira_automation(to_category: str = "done", *, jira_format: bool = True) -> dict[str, Any]:
    """Automation's "Send web request" body: "Issue data (Jira format)" wraps the issue in
    `{"issue": ...}`, "Issue data (Automation format)" is the issue itself (Atlassian support
    pages "Issue data (Jira format) payload" / "(Automation format) payload for Send web
    request"). Neither has `webhookEvent` nor a changelog of items; ids are numbers."""
    issue = jira(to_category)["issue"]
    issue = {**issue, "id": int(issue["id"])}
    issue["changelog"] = {"startAt": 0, "maxResults": 0, "total": 0, "histories": None}
    return {"issue": issue} if jira_format else issue


def helpscout(status: str = "closed") -> dict[str, Any]:
    return {
        "id": 2391938111,
        "number": 349,
        "type": "email",
        "folderId": 1234567,
        "status": status,
        "state": "published",
        "subject": SUBJECT,
        "preview": "Ma facture…",
        "mailboxId": 85,
        "assignee": {"id": 256809, "first": "Zoë", "last": "Agent", "email": AGENT, "type": "user"},
        "createdBy": {"id": 12, "type": "customer", "email": "lukasz@example.pl"},
        "createdAt": "2025-03-01T10:00:00Z",
        "closedBy": 256809,
        "closedAt": "2025-03-04T11:58:00Z",
        "userUpdatedAt": "2025-03-04T11:58:00Z",
        "source": {"type": "email", "via": "customer"},
        "tags": [{"id": 9150, "color": "#929499", "tag": "billing"}],
        "primaryCustomer": {
            "id": 238123,
            "first": "Łukasz",
            "last": "Żółć",
            "email": "lukasz@example.pl",
            "type": "customer",
        },
        "_links": {"web": {"href": "https://secure.helpscout.net/conversation/2391938111/349/"}},
    }


def front(kind: str = "archive") -> dict[str, Any]:
    teammate = {
        "_links": {"self": "https://api2.frontapp.com/teammates/tea_40yq"},
        "id": "tea_40yq",
        "email": AGENT,
        "username": "zoe",
        "first_name": "Zoë",
        "last_name": "Agent",
        "is_admin": True,
    }
    return {
        "_links": {"self": "https://api2.frontapp.com/events/evt_28du7y2"},
        "id": "evt_28du7y2",
        "type": kind,
        "emitted_at": 1741089480.678,
        "conversation": {
            "_links": {"self": "https://api2.frontapp.com/conversations/cnv_keo696"},
            "id": "cnv_keo696",
            "subject": SUBJECT,
            "status": "archived" if kind == "archive" else "assigned",
            "assignee": teammate,
            "recipient": {"handle": "lukasz@example.pl", "role": "to"},
            "tags": [{"id": "tag_1", "name": "billing"}],
            "last_message": {"id": "msg_1176ie2", "type": "email", "is_inbound": False},
            "created_at": 1741084000.673,
        },
        "source": {"_meta": {"type": "teammate"}, "data": teammate},
        "target": None,
    }


CHATWOOT_LAST_REPLY = "Your exchange is on its way, anything else?"


def chatwoot(event: str = "conversation_status_changed", status: str = "resolved") -> dict:
    """Chatwoot's `Conversations::EventDataPresenter#webhook_data` (chatwoot/chatwoot,
    app/presenters/conversations/event_data_presenter.rb): `messages` is the last chat message
    only (`messages.chat.last`), here the agent's closing reply; `meta.assignee` is
    `User#push_event_data` (app/models/user.rb), which has no email."""
    return {
        "additional_attributes": {"referer": "https://acme.example/pricing"},
        "can_reply": True,
        "channel": "Channel::WebWidget",
        "id": 10,
        "inbox_id": 1,
        "contact_inbox": {"id": 12, "contact_id": 12, "inbox_id": 1, "source_id": "405f1d30"},
        "messages": [
            {
                "id": 131,
                "content": CHATWOOT_LAST_REPLY,
                "account_id": 1,
                "conversation_id": 10,
                "message_type": 1,
                "created_at": 1741089470,
                "private": False,
                "content_type": "text",
            }
        ],
        "labels": ["billing"],
        "meta": {
            "sender": {"email": "lukasz@example.pl", "id": 12, "name": CUSTOMER, "type": "contact"},
            "assignee": {
                "id": 1,
                "name": "Zoë",
                "available_name": "Zoë",
                "avatar_url": "",
                "type": "user",
                "availability_status": "online",
                "thumbnail": "",
            },
            "team": None,
            "hmac_verified": False,
        },
        "custom_attributes": {},
        "priority": "urgent",
        "status": status,
        "unread_count": 0,
        "first_reply_created_at": 1741084100,
        "waiting_since": 0,
        "agent_last_seen_at": 1741089470,
        "contact_last_seen_at": 1741089000,
        "last_activity_at": 1741089480,
        "timestamp": 1741089480,
        "created_at": 1741084000,
        "updated_at": 1741089480.123,
        "event": event,
    }


def zammad(state: str = "closed") -> dict[str, Any]:
    owner = {
        "active": True,
        "email": AGENT,
        "firstname": "Zoë",
        "lastname": "Agent",
        "id": 5,
        "login": AGENT,
        "roles": ["Agent"],
    }
    return {
        "ticket": {
            "article_count": 2,
            "create_article_type": "email",
            "created_at": "2025-03-01T10:00:00.282Z",
            "customer": {
                "email": "lukasz@example.pl",
                "firstname": "Łukasz",
                "lastname": "Żółć",
                "id": 8,
                "login": "lukasz@example.pl",
            },
            "group": {"id": 3, "name": "Service Desk"},
            "id": 81,
            "number": "10081",
            "organization": {"id": 3, "name": "Żółć Sp. z o.o."},
            "owner": owner,
            "owner_id": 5,
            "priority": {"id": 3, "name": "3 high"},
            "state": state,
            "state_id": 4 if state == "closed" else 2,
            "tags": ["billing"],
            "title": SUBJECT,
            "close_at": "2025-03-04T11:58:00.000Z" if state == "closed" else None,
            "updated_at": "2025-03-04T11:58:01.333Z",
            "updated_by": copy.deepcopy(owner),
        },
        "article": {
            "body": "<p>Remboursé, merci&nbsp;!</p>",
            "content_type": "text/html",
            "from": "Zoë Agent",
            "id": 104,
            "internal": False,
            "sender": "Agent",
            "ticket_id": 81,
            "type": "email",
        },
    }


CLOSED: dict[str, Any] = {
    "generic": generic,
    "zendesk": zendesk_trigger,
    "intercom": intercom_v1,
    "freshdesk": freshdesk,
    "hubspot": lambda: [hubspot_event()],
    "jira": jira,
    "helpscout": helpscout,
    "front": front,
    "chatwoot": chatwoot,
    "zammad": zammad,
}
EXTRA_HEADERS = {"helpscout": {"X-HelpScout-Event": "convo.status"}}
