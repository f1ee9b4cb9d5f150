"""UTM tags on every link to the brief's landing page, added when a piece is published.

Tagging happens at publish time (:func:`tag_item`, called where a publication row becomes a
:class:`PublishItem`), because only then are the piece id, its A/B variant and the platform all known. A
link is tagged when its host is the landing page's host (the brief's ``link``); other links are left as
written. Existing query parameters and the fragment are kept; only the ``utm_*`` keys are set (replacing
any ``utm_*`` value already there, so a re-publish never doubles them).

- ``utm_source``: the platform (``twitter``, ``linkedin``, ``blog``, ``email``, ...)
- ``utm_medium``: ``social`` for social platforms, ``email``, ``blog``; ``paid`` for ad copy and paid
  (``paid: true``) briefs. ``SPLANTS_UTM_MEDIUM`` overrides it per platform (``twitter=organic,email=newsletter``).
- ``utm_campaign``: the campaign id
- ``utm_content``: the piece id; an A/B variant is its own piece, so the variant is in the id

``SPLANTS_UTM_TAGGING=0`` turns tagging off. See docs/attribution.md. No Dagster imports.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from splants_dagster.platforms import PLATFORMS

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
MEDIUMS: dict[str, str] = {p: "social" for p in PLATFORMS} | {"blog": "blog", "email": "email"}
PAID_MEDIUM = "paid"
PAID_CONTENT_TYPES = ("ad_copy",)
# a URL in running text or markdown: stops at whitespace, quotes, angle brackets and a closing paren
LINK = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.IGNORECASE)
TRAILING = ".,;:!?…"
VALUE = re.compile(r"^[A-Za-z0-9._~-]{1,40}$")


@dataclasses.dataclass(frozen=True)
class UtmTags:
    source: str
    medium: str
    campaign: str
    content: str

    def params(self) -> dict[str, str]:
        return dict(zip(UTM_KEYS, (self.source, self.medium, self.campaign, self.content), strict=True))


def parse_medium_map(raw: str) -> dict[str, str]:
    """``platform=medium`` pairs, comma separated (the ``SPLANTS_UTM_MEDIUM`` grammar)."""
    found: dict[str, str] = {}
    for pair in (p.strip() for p in raw.split(",")):
        if not pair:
            continue
        platform, sep, medium = (x.strip() for x in pair.partition("="))
        if not sep or platform.lower() not in PLATFORMS or not VALUE.match(medium):
            raise ValueError(
                "must be comma-separated platform=medium pairs, e.g. twitter=social,email=newsletter "
                f"(platforms: {', '.join(PLATFORMS)}; mediums: letters, digits, . _ ~ -), not {pair[:40]!r}"
            )
        found[platform.lower()] = medium
    return found


def medium_for(
    platform: str, content_type: str = "", paid: bool = False, overrides: Mapping[str, str] | None = None
) -> str:
    """The ``utm_medium`` of a piece: an override for its platform, else ``paid`` for ads and paid briefs,
    else the platform's kind (social / email / blog)."""
    if overrides and platform in overrides:
        return overrides[platform]
    if paid or content_type in PAID_CONTENT_TYPES:
        return PAID_MEDIUM
    return MEDIUMS.get(platform, "social")


def same_host(url: str, landing: str) -> bool:
    """Whether ``url`` points at the landing page's host (``www.`` and letter case ignored)."""

    def host(value: str) -> str:
        try:
            name = urlsplit(value).hostname or ""
        except ValueError:
            return ""
        return name.lower().removeprefix("www.")

    target = host(landing)
    return bool(target) and host(url) == target


def tag_url(url: str, tags: UtmTags) -> str:
    """``url`` with the four UTM parameters set; other parameters (order kept) and the fragment kept."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in UTM_KEYS]
    query = urlencode(kept + list(tags.params().items()))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def tag_text(text: str, landing: str | None, tags: UtmTags) -> str:
    """Every link in ``text`` to the landing page's host tagged; the rest of the text unchanged."""
    if not text or not landing:
        return text

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and url[-1] in TRAILING:  # sentence punctuation after a bare link is not part of it
            url, tail = url[:-1], url[-1] + tail
        return (tag_url(url, tags) if same_host(url, landing) else url) + tail

    return LINK.sub(one, text)


def utm_settings() -> tuple[bool, dict[str, str]]:
    """(tagging on, medium overrides) from ``SPLANTS_UTM_TAGGING`` and ``SPLANTS_UTM_MEDIUM``."""
    from splants_dagster import settings

    return bool(settings.value("SPLANTS_UTM_TAGGING")), dict(settings.value("SPLANTS_UTM_MEDIUM") or {})


def tags_for(
    piece_id: str,
    campaign_id: str,
    platform: str,
    content_type: str = "",
    paid: bool = False,
    overrides: Mapping[str, str] | None = None,
) -> UtmTags:
    return UtmTags(platform, medium_for(platform, content_type, paid, overrides), campaign_id, piece_id)


def tag_item(item: Any, brief: Mapping[str, Any] | None = None) -> Any:
    """A :class:`~splants_dagster.publishing.base.PublishItem` whose text (body, rendered, each A/B
    variant's with the variant's own piece id) and ``link`` carry UTM tags; unchanged when tagging is off
    or the item has no landing page."""
    enabled, overrides = utm_settings()
    landing = item.link
    if not enabled or not landing:
        return item
    paid = bool((brief or {}).get("paid"))

    def tags(piece_id: str) -> UtmTags:
        return tags_for(piece_id, item.campaign_id, item.platform, item.content_type, paid, overrides)

    own = tags(item.piece_id)
    variants = tuple(
        dataclasses.replace(
            v,
            body=tag_text(v.body, landing, tags(v.piece_id)),
            rendered=tag_text(v.rendered, landing, tags(v.piece_id)),
        )
        for v in item.variants
    )
    return dataclasses.replace(
        item,
        body=tag_text(item.body, landing, own),
        rendered=tag_text(item.rendered, landing, own),
        link=tag_url(landing, own),
        variants=variants,
    )
