"""Mailchimp Marketing API 3.0: create a regular campaign, set its content, then send or schedule it.

Auth is HTTP Basic with any user name and the API key as password; the data-centre prefix (``us21``...)
is part of the host. Each step is checkpointed (the campaign id as soon as it exists), and the campaign
title carries the item's key (``[splants <key>]``), so an interrupted attempt is found again — by id, or
by title among campaigns created since the first attempt — and resumed from the step it reached. A
campaign already ``sending``/``sent``/``schedule`` is never sent again: exactly once.

``schedule`` needs a quarter-hour time in the future (Mailchimp's rule); the publish time is rounded up.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from splants_dagster.publishing.base import (
    Checkpoint,
    Http,
    HttpPublisher,
    Permanent,
    PublishItem,
    PublishResult,
    Reconciled,
    Redactor,
    iso_z,
)
from splants_dagster.publishing.render import email_html

DONE = ("sent", "sending", "schedule")
ACTIONS = ("send", "schedule")
UNSUB = "*|UNSUB|*"


def quarter_hour_after(when: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The first quarter hour at or after ``when`` and at least 15 minutes after ``now`` (UTC)."""
    target = max(when.astimezone(dt.UTC), now.astimezone(dt.UTC) + dt.timedelta(minutes=15))
    minutes = math.ceil((target.minute * 60 + target.second + target.microsecond / 1e6) / 900) * 15
    base = target.replace(minute=0, second=0, microsecond=0)
    return base + dt.timedelta(minutes=minutes)


class MailchimpPublisher(HttpPublisher):
    name = "mailchimp"
    can_reconcile = True
    guarantee = "exactly once: campaigns are found by id or by their title key and resumed, never sent twice"

    def __init__(
        self,
        api_key: str,
        server_prefix: str,
        list_id: str,
        *,
        action: str = "send",
        from_name: str | None = None,
        reply_to: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
        clock=None,
    ):
        if action not in ACTIONS:
            raise ValueError(f"MAILCHIMP_ACTION {action!r}: expected send or schedule")
        self.list_id = list_id
        self.action = action
        self.from_name = from_name
        self.reply_to = reply_to
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        base = base_url or f"https://{server_prefix}.api.mailchimp.com"
        self.http = Http(
            "mailchimp",
            base.rstrip("/") + "/3.0",
            auth=("splants", api_key),
            timeout_s=timeout_s,
            redact=redact,
        )

    def _sender(self) -> tuple[str, str]:
        if not (self.from_name and self.reply_to):
            defaults = (
                self.http.request("GET", f"/lists/{self.list_id}").json().get("campaign_defaults") or {}
            )
            self.from_name = self.from_name or defaults.get("from_name")
            self.reply_to = self.reply_to or defaults.get("from_email")
        if not (self.from_name and self.reply_to):
            raise Permanent(
                "mailchimp: no sender: set MAILCHIMP_FROM_NAME and MAILCHIMP_REPLY_TO, or the audience's campaign defaults"
            )
        return self.from_name, self.reply_to

    def campaign_body(self, item: PublishItem, from_name: str, reply_to: str) -> dict[str, Any]:
        return {
            "type": "regular",
            "recipients": {"list_id": self.list_id},
            "settings": {
                "subject_line": (item.subject or item.title)[:150],
                "preview_text": (item.preheader or "")[:150],
                "title": f"{item.title[:80]} {item.tag_line}",
                "from_name": from_name,
                "reply_to": reply_to,
            },
        }

    def content_body(self, item: PublishItem) -> dict[str, Any]:
        text = item.rendered or item.body
        return {
            "html": email_html(item.subject or item.title, text, item.preheader, footer_merge_tag=UNSUB),
            "plain_text": f"{text}\n\nUnsubscribe: {UNSUB}\n",
        }

    def describe(self, item: PublishItem) -> dict[str, Any]:
        body = self.campaign_body(
            item, self.from_name or "<audience default>", self.reply_to or "<audience default>"
        )
        return {
            "steps": [
                {"method": "POST", "path": "/3.0/campaigns", "json": body},
                {
                    "method": "PUT",
                    "path": "/3.0/campaigns/{id}/content",
                    "html_chars": len(self.content_body(item)["html"]),
                },
                {"method": "POST", "path": f"/3.0/campaigns/{{id}}/actions/{self.action}"},
            ]
        }

    def _result(self, campaign: dict[str, Any], reconciled: bool = False) -> PublishResult:
        details = {"status": campaign.get("status"), "web_id": campaign.get("web_id")}
        if reconciled:
            details["reconciled"] = True
        return PublishResult(
            str(campaign["id"]), campaign.get("archive_url") or campaign.get("long_archive_url"), details
        )

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        campaign_id = progress.get("campaign_id")
        if not campaign_id:
            from_name, reply_to = self._sender()
            campaign_id = self.http.create(
                "/campaigns", json=self.campaign_body(item, from_name, reply_to), ok=(200,)
            )
            progress = {**progress, "campaign_id": campaign_id}
            checkpoint(progress)
        self.http.request("PUT", f"/campaigns/{campaign_id}/content", json=self.content_body(item), ok=(200,))
        if self.action == "schedule":
            when = quarter_hour_after(item.publish_at, self.clock())
            self.http.request(
                "POST",
                f"/campaigns/{campaign_id}/actions/schedule",
                json={"schedule_time": iso_z(when)},
                ok=(204, 200),
                creates=True,
            )
        else:
            self.http.request("POST", f"/campaigns/{campaign_id}/actions/send", ok=(204, 200), creates=True)
        campaign = self.http.request("GET", f"/campaigns/{campaign_id}").json()
        return self._result(campaign)

    def _find(self, item: PublishItem) -> dict[str, Any] | None:
        resp = self.http.request(
            "GET",
            "/campaigns",
            params={
                "since_create_time": iso_z(item.lookup_since),
                "count": 1000,
                "fields": "campaigns.id,campaigns.status,campaigns.settings.title,campaigns.archive_url,campaigns.web_id",
            },
        )
        for campaign in resp.json().get("campaigns", []):
            if item.tag_line in str((campaign.get("settings") or {}).get("title", "")):
                return campaign
        return None

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        campaign_id = progress.get("campaign_id")
        if campaign_id:
            campaign = self.http.request("GET", f"/campaigns/{campaign_id}").json()
        else:
            campaign = self._find(item)
        if campaign is None:
            return Reconciled("absent", note="no campaign with this item's key")
        if campaign.get("status") in DONE:
            return Reconciled(
                "found",
                self._result(campaign, reconciled=True),
                note=f"campaign {campaign['id']} is {campaign['status']}",
            )
        return Reconciled(
            "absent",
            progress={**progress, "campaign_id": str(campaign["id"])},
            note=f"campaign {campaign['id']} exists unsent ({campaign.get('status')}): resuming",
        )
