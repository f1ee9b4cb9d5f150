"""The outbox: each post as files under ``$SPLANTS_DATA_DIR/outbox/<platform>/``, ready to copy by hand.

Per item: the text (``.md`` for social posts, ``.html`` + ``.md`` for blog posts and emails) and a ``.json``
with the metadata. Every file says it was NOT published and why the outbox was used. File names come from
the publish time and the item's slug (which ends with its idempotency key), writes are atomic (temporary
file + rename) and the ``.json`` is written last, so a re-run rewrites the same files: exactly once.
No credentials are ever written.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from pathlib import Path
from typing import Any

from splants_dagster.publishing.base import Checkpoint, Publisher, PublishItem, PublishResult, Reconciled
from splants_dagster.publishing.render import email_html, markdown_html

LABEL = "SPLANTS OUTBOX: NOT PUBLISHED"
HTML_PLATFORMS = ("blog", "email")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class OutboxPublisher(Publisher):
    name = "outbox"
    can_reconcile = True
    guarantee = "exactly once (deterministic file names, atomic writes)"

    def __init__(self, outbox_dir: str | Path, reasons: dict[str, str] | None = None, timezone: str = "UTC"):
        self.root = Path(outbox_dir)
        self.reasons = reasons or {}
        self.timezone = timezone

    def reason(self, platform: str) -> str:
        return self.reasons.get(platform, "the outbox is the configured publisher")

    def stem_name(self, item: PublishItem) -> str:
        when = item.publish_at.astimezone(dt.UTC)
        return f"{when:%Y%m%d-%H%M}_{item.slug}"

    def claim_progress(self, item: PublishItem) -> dict[str, Any]:
        return {"stem": self.stem_name(item)}

    def files(self, item: PublishItem, progress: dict[str, Any] | None = None) -> dict[str, Path]:
        stem = self.root / item.platform / ((progress or {}).get("stem") or self.stem_name(item))
        out = {"md": stem.with_suffix(".md"), "json": stem.with_suffix(".json")}
        if item.platform in HTML_PLATFORMS:
            out["html"] = stem.with_suffix(".html")
        return out

    def metadata(self, item: PublishItem) -> dict[str, Any]:
        from zoneinfo import ZoneInfo

        local = item.publish_at.astimezone(ZoneInfo(self.timezone))
        return {
            "label": LABEL,
            "published": False,
            "what_to_do": f"copy the text into {item.platform} by hand at the scheduled time",
            "why_outbox": self.reason(item.platform),
            "idempotency_key": item.idempotency_key,
            "piece_id": item.piece_id,
            "campaign_id": item.campaign_id,
            "platform": item.platform,
            "content_type": item.content_type,
            "publish_at_utc": item.publish_at.astimezone(dt.UTC).isoformat(),
            "publish_at_local": local.isoformat(),
            "timezone": self.timezone,
            "title": item.title,
            "seo_title": item.seo_title,
            "meta_description": item.meta_description,
            "subject": item.subject,
            "preheader": item.preheader,
            "hashtags": list(item.hashtags),
            "link": item.link,
            "variant_of": item.variant_of,
            "ab_design": item.ab_design,
            # an email carrying A/B variants: set them up as an A/B test in the email tool by hand
            "ab_variants": [
                {
                    "piece_id": v.piece_id,
                    "subject": v.subject,
                    "preheader": v.preheader,
                    "text": v.rendered or v.body,
                }
                for v in item.variants
            ],
        }

    def describe(self, item: PublishItem) -> dict[str, Any]:
        return {
            "action": "write files",
            "files": [str(p) for p in self.files(item).values()],
            "why_outbox": self.reason(item.platform),
        }

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        files = self.files(item, progress)
        files["md"].parent.mkdir(parents=True, exist_ok=True)
        meta = self.metadata(item)
        header = (
            f"<!-- {LABEL}. Ready to copy by hand into {item.platform} at {meta['publish_at_local']}.\n"
            f"     Why the outbox: {meta['why_outbox']}.\n"
            f"     piece {item.piece_id} · key {item.idempotency_key} · metadata in {files['json'].name} -->\n\n"
        )
        text = item.rendered or item.body
        if item.platform == "email":
            lead = f"Subject: {item.subject or item.title}\nPreheader: {item.preheader or ''}\n\n"
            _atomic_write(files["md"], header + lead + text + "\n")
            html_doc = email_html(item.subject or item.title, text, item.preheader)
            _atomic_write(files["html"], html_doc.replace("<body", f"<!-- {LABEL} -->\n<body", 1))
        elif item.platform == "blog":
            _atomic_write(files["md"], header + f"# {item.title}\n\n" + text + "\n")
            body = f"<!-- {LABEL}: {meta['why_outbox']} -->\n<h1>{html.escape(item.title)}</h1>\n{markdown_html(text)}\n"
            _atomic_write(files["html"], body)
        else:
            _atomic_write(files["md"], header + text + "\n")
        meta["files"] = [p.name for k, p in files.items() if k != "json"]
        _atomic_write(files["json"], json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        return PublishResult(
            remote_id=str(files["json"].relative_to(self.root)),
            url=str(files.get("html", files["md"])),
            details={"outbox": True, "why_outbox": meta["why_outbox"]},
        )

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        files = self.files(item, progress)
        if files["json"].exists():
            try:
                meta = json.loads(files["json"].read_text(encoding="utf-8"))
            except ValueError:
                return Reconciled("absent", note="incomplete outbox files: rewriting")
            if meta.get("idempotency_key") == item.idempotency_key:
                return Reconciled(
                    "found",
                    PublishResult(
                        str(files["json"].relative_to(self.root)),
                        str(files.get("html", files["md"])),
                        {"outbox": True, "why_outbox": self.reason(item.platform)},
                    ),
                )
        return Reconciled("absent")
