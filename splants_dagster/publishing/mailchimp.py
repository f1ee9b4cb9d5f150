"""Mailchimp Marketing API 3.0: create a regular campaign, set its content, then send or schedule it.

Auth is HTTP Basic with any user name and the API key as password; the data-centre prefix (``us21``...)
is part of the host. Each step is checkpointed (the campaign id as soon as it exists), and the campaign
title carries the item's key (``[splants <key>]``), so an interrupted attempt is found again — by id, or
by title among campaigns created since the first attempt — and resumed from the step it reached. A
campaign already ``sending``/``sent``/``schedule`` is never sent again: exactly once.

``schedule`` needs a quarter-hour time in the future (Mailchimp's rule); the publish time is rounded up.

Audience: a send goes to a saved segment (``recipients.segment_opts.saved_segment_id``) or to the
members with a tag (a ``StaticSegment`` condition on the tag's id, found with ``GET
/lists/{id}/tag-search``), from the brief (``email_segment`` / ``email_tag``) or the publishing config.
A send to the whole audience needs an explicit setting; without one the review gate holds the item
(:meth:`MailchimpPublisher.audience_problem`) before any call.

A/B: an email carrying its variants (``item.variants``) is ONE ``variate`` campaign: Mailchimp sends the
combinations to ``test_size`` % of the audience, waits ``wait_time`` minutes and sends the winner by
``winner_criteria`` to the rest. Different subjects go in ``variate_settings.subject_lines``, different
bodies in ``PUT /campaigns/{id}/content`` as ``variate_contents``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from splants_dagster.http.accounts import MailchimpAccount
from splants_dagster.http.redact import Redactor
from splants_dagster.publishing.base import (
    Checkpoint,
    HttpPublisher,
    Permanent,
    PublishItem,
    PublishResult,
    Reconciled,
    iso_z,
)
from splants_dagster.publishing.render import email_html

DONE = ("sent", "sending", "schedule")
ACTIONS = ("send", "schedule")
UNSUB = "*|UNSUB|*"
WINNER_CRITERIA = ("opens", "clicks", "manual", "total_revenue")
WHOLE_LIST = (
    "a send to the whole Mailchimp audience needs an explicit setting: name a segment or tag (brief"
    " email_segment / email_tag, MAILCHIMP_SEGMENT_ID / MAILCHIMP_TAG, or publishing.yaml mailchimp:"
    " segment_id / tag), or set MAILCHIMP_SEND_TO_WHOLE_LIST=1 (publishing.yaml mailchimp: whole_list: true)"
)


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
        segment_id: str | None = None,
        tag: str | None = None,
        whole_list: bool = False,
        ab_test_size: int = 20,
        ab_wait_minutes: int = 240,
        ab_winner: str = "opens",
    ):
        if action not in ACTIONS:
            raise ValueError(f"MAILCHIMP_ACTION {action!r}: expected send or schedule")
        if ab_winner not in WINNER_CRITERIA:
            raise ValueError(
                f"MAILCHIMP_AB_WINNER {ab_winner!r}: expected one of {', '.join(WINNER_CRITERIA)}"
            )
        if not 10 <= ab_test_size <= 100:
            raise ValueError(f"MAILCHIMP_AB_TEST_SIZE {ab_test_size!r}: expected a percentage from 10 to 100")
        self.segment_id = segment_id
        self.tag = tag
        self.whole_list = whole_list
        self.ab = {"winner_criteria": ab_winner, "wait_time": ab_wait_minutes, "test_size": ab_test_size}
        self.list_id = list_id
        self.action = action
        self.from_name = from_name
        self.reply_to = reply_to
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.http = MailchimpAccount(api_key, server_prefix, base_url).api(timeout_s, redact)

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

    # ------------------------------------------------------------------ audience

    def audience(self, item: PublishItem) -> tuple[str, str] | None:
        """``("segment", id)`` or ``("tag", name)``: the brief's, else the config's; None = whole list."""
        if item.email_segment:
            return "segment", item.email_segment
        if item.email_tag:
            return "tag", item.email_tag
        if self.segment_id:
            return "segment", self.segment_id
        if self.tag:
            return "tag", self.tag
        return None

    def audience_problem(self, item: PublishItem) -> str | None:
        target = self.audience(item)
        if target is None:
            return None if self.whole_list else WHOLE_LIST
        kind, value = target
        if kind == "segment" and not str(value).isdigit():
            return f"Mailchimp segment {value!r} is not a saved segment id (a number)"
        return None

    def recipients(self, item: PublishItem, tag_id: int | None = None) -> dict[str, Any]:
        target = self.audience(item)
        out: dict[str, Any] = {"list_id": self.list_id}
        if target is None:
            return out
        kind, value = target
        if kind == "segment":
            out["segment_opts"] = {"saved_segment_id": int(value) if str(value).isdigit() else value}
        else:
            out["segment_opts"] = {
                "match": "all",
                "conditions": [
                    {
                        "condition_type": "StaticSegment",
                        "field": "static_segment",
                        "op": "static_is",
                        "value": tag_id if tag_id is not None else f"<id of tag {value}>",
                    }
                ],
            }
        return out

    def _tag_id(self, item: PublishItem) -> int | None:
        target = self.audience(item)
        if target is None or target[0] != "tag":
            return None
        name = target[1]
        found = self.http.request("GET", f"/lists/{self.list_id}/tag-search", params={"name": name}).json()
        for tag in found.get("tags") or []:
            if str(tag.get("name", "")).casefold() == name.casefold():
                return int(tag["id"])
        raise Permanent(f"mailchimp: no tag named {name!r} in audience {self.list_id}")

    # ------------------------------------------------------------------ A/B (variate) campaigns

    def arms(self, item: PublishItem) -> list[dict[str, Any]]:
        """The control and each variant: piece id, subject, preheader, text (platform split)."""
        control = {
            "piece_id": item.piece_id,
            "subject": (item.subject or item.title)[:150],
            "text": item.rendered or item.body,
            "preheader": item.preheader,
        }
        return [control] + [
            {
                "piece_id": v.piece_id,
                "subject": (v.subject or item.subject or item.title)[:150],
                "text": v.rendered or v.body,
                "preheader": v.preheader or item.preheader,
            }
            for v in item.variants
        ]

    def _variate(self, item: PublishItem) -> tuple[list[str], list[dict[str, Any]]] | None:
        """(distinct subject lines, distinct contents) when the item is a real A/B test, else None."""
        if not item.variants:
            return None
        arms = self.arms(item)
        subjects = list(dict.fromkeys(a["subject"] for a in arms))
        contents: list[dict[str, Any]] = []
        for arm in arms:
            html = email_html(arm["subject"], arm["text"], arm["preheader"], footer_merge_tag=UNSUB)
            if all(c["html"] != html for c in contents):
                contents.append(
                    {
                        "content_label": f"{chr(65 + len(contents))}: {arm['piece_id']}"[:50],
                        "html": html,
                        "plain_text": f"{arm['text']}\n\nUnsubscribe: {UNSUB}\n",
                    }
                )
        if len(subjects) < 2 and len(contents) < 2:
            return None  # the variants differ in nothing Mailchimp sends
        return subjects, contents

    def campaign_body(
        self, item: PublishItem, from_name: str, reply_to: str, tag_id: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "regular",
            "recipients": self.recipients(item, tag_id),
            "settings": {
                "subject_line": (item.subject or item.title)[:150],
                "preview_text": (item.preheader or "")[:150],
                "title": f"{item.title[:80]} {item.tag_line}",
                "from_name": from_name,
                "reply_to": reply_to,
            },
        }
        variate = self._variate(item)
        if variate is not None:
            subjects, _contents = variate
            body["type"] = "variate"
            body["variate_settings"] = {**self.ab}
            if len(subjects) > 1:
                body["variate_settings"]["subject_lines"] = subjects
        return body

    def content_body(self, item: PublishItem) -> dict[str, Any]:
        variate = self._variate(item)
        if variate is not None and len(variate[1]) > 1:
            return {"variate_contents": variate[1]}
        text = item.rendered or item.body
        return {
            "html": email_html(item.subject or item.title, text, item.preheader, footer_merge_tag=UNSUB),
            "plain_text": f"{text}\n\nUnsubscribe: {UNSUB}\n",
        }

    def _arms_detail(self, item: PublishItem) -> list[dict[str, Any]]:
        variate = self._variate(item)
        if variate is None:
            return []
        subjects, contents = variate
        out = []
        for arm in self.arms(item):
            html = email_html(arm["subject"], arm["text"], arm["preheader"], footer_merge_tag=UNSUB)
            label = next((c["content_label"] for c in contents if c["html"] == html), None)
            out.append(
                {
                    "piece_id": arm["piece_id"],
                    "subject_line": subjects.index(arm["subject"]) if len(subjects) > 1 else None,
                    "content_label": label if len(contents) > 1 else None,
                }
            )
        return out

    def describe(self, item: PublishItem) -> dict[str, Any]:
        body = self.campaign_body(
            item, self.from_name or "<audience default>", self.reply_to or "<audience default>"
        )
        content = self.content_body(item)
        return {
            "audience_problem": self.audience_problem(item),
            "arms": self._arms_detail(item),
            "steps": [
                {"method": "POST", "path": "/3.0/campaigns", "json": body},
                {
                    "method": "PUT",
                    "path": "/3.0/campaigns/{id}/content",
                    "html_chars": [len(c["html"]) for c in content.get("variate_contents", [content])],
                },
                {"method": "POST", "path": f"/3.0/campaigns/{{id}}/actions/{self.action}"},
            ],
        }

    def _result(
        self, campaign: dict[str, Any], reconciled: bool = False, item: PublishItem | None = None
    ) -> PublishResult:
        details: dict[str, Any] = {"status": campaign.get("status"), "web_id": campaign.get("web_id")}
        if campaign.get("type") == "variate":
            details["type"] = "variate"
            details["variate_settings"] = {
                k: (campaign.get("variate_settings") or {}).get(k)
                for k in ("winner_criteria", "wait_time", "test_size")
            }
            if item is not None:
                details["arms"] = self._arms_detail(item)
        if reconciled:
            details["reconciled"] = True
        return PublishResult(
            str(campaign["id"]), campaign.get("archive_url") or campaign.get("long_archive_url"), details
        )

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        campaign_id = progress.get("campaign_id")
        if not campaign_id:
            problem = self.audience_problem(item)
            if problem:  # the gate holds such items; never send to a whole list by accident
                raise Permanent(f"mailchimp: {problem}")
            from_name, reply_to = self._sender()
            tag_id = self._tag_id(item)
            campaign_id = self.http.create(
                "/campaigns", json=self.campaign_body(item, from_name, reply_to, tag_id), ok=(200,)
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
        return self._result(campaign, item=item)

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
                self._result(campaign, reconciled=True, item=item),
                note=f"campaign {campaign['id']} is {campaign['status']}",
            )
        return Reconciled(
            "absent",
            progress={**progress, "campaign_id": str(campaign["id"])},
            note=f"campaign {campaign['id']} exists unsent ({campaign.get('status')}): resuming",
        )
