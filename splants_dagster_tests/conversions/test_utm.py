"""UTM tags on links to the landing page: what is tagged, what is kept, and that the published payload (the
outbox files a person copies from) carries the tagged URL."""

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from splants_dagster import settings
from splants_dagster.publishing.outbox import OutboxPublisher
from splants_dagster.publishing.state import item_from_row
from splants_dagster.publishing.utm import UtmTags, medium_for, parse_medium_map, tag_text, tag_url

LANDING = "https://hearthandbean.example/pods"
TAGS = UtmTags("twitter", "social", "compostable-pods-launch", "compostable-pods-launch:twitter:social_post")


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_tag_url_keeps_query_and_fragment_and_replaces_old_tags():
    url = tag_url("https://hearthandbean.example/pods?ref=launch&utm_source=old#buy", TAGS)
    parts = urlsplit(url)
    assert parts.fragment == "buy"
    assert query(url) == {
        "ref": ["launch"],
        "utm_source": ["twitter"],
        "utm_medium": ["social"],
        "utm_campaign": ["compostable-pods-launch"],
        "utm_content": ["compostable-pods-launch:twitter:social_post"],
    }
    assert parts.query.startswith("ref=launch&")  # existing parameters first, in their order
    assert tag_url(url, TAGS) == url  # tagging twice changes nothing


def test_only_links_to_the_landing_host_are_tagged():
    text = (
        "Pre-order now: https://hearthandbean.example/pods. Read the study at https://example.org/study?x=1 "
        "or [our shop](https://www.hearthandbean.example/shop?sku=POD) (free shipping)."
    )
    out = tag_text(text, LANDING, TAGS)
    assert "https://example.org/study?x=1 " in out  # another host: untouched
    landing = out.split("Pre-order now: ")[1].split(" ")[0]
    assert landing.endswith(".")  # the sentence's full stop stays outside the URL
    assert query(landing.rstrip("."))["utm_content"] == ["compostable-pods-launch:twitter:social_post"]
    shop = out.split("](")[1].split(")")[0]
    assert query(shop)["sku"] == ["POD"] and query(shop)["utm_source"] == ["twitter"]
    assert out.endswith(" (free shipping).")
    assert tag_text(text, None, TAGS) == text


def test_medium_mapping_and_overrides(monkeypatch):
    assert medium_for("twitter") == "social"
    assert medium_for("email") == "email"
    assert medium_for("blog") == "blog"
    assert medium_for("linkedin", "ad_copy") == "paid"
    assert medium_for("facebook", paid=True) == "paid"
    assert medium_for("email", overrides={"email": "newsletter"}) == "newsletter"
    assert parse_medium_map("twitter=organic, email=newsletter") == {
        "twitter": "organic",
        "email": "newsletter",
    }
    with pytest.raises(ValueError, match="platform=medium"):
        parse_medium_map("myspace=social")
    with pytest.raises(settings.SettingsError, match=r"SPLANTS_UTM_MEDIUM='email': must be"):
        settings.value("SPLANTS_UTM_MEDIUM", {"SPLANTS_UTM_MEDIUM": "email"})
    assert settings.value("SPLANTS_GOAL_OFF_PACE_MARGIN", {}) == 0.2
    with pytest.raises(
        settings.SettingsError, match=r"SPLANTS_GOAL_OFF_PACE_MARGIN=.1\.5.: must be a fraction"
    ):
        settings.value("SPLANTS_GOAL_OFF_PACE_MARGIN", {"SPLANTS_GOAL_OFF_PACE_MARGIN": "1.5"})


def publication_row(piece_id: str, platform: str, body: str, **extra) -> dict:
    brief = {"id": "compostable-pods-launch", "link": LANDING + "?ref=launch#buy", "paid": False}
    return {
        "piece_id": piece_id,
        "campaign_id": "compostable-pods-launch",
        "platform": platform,
        "content_type": "email" if platform == "email" else "social_post",
        "publish_at": dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
        "title": "Starter pack",
        "body": body,
        "rendered": body,
        "brief_json": json.dumps(brief),
        **extra,
    }


def test_published_payload_shows_the_tagged_link(tmp_path, monkeypatch):
    monkeypatch.delenv("SPLANTS_UTM_TAGGING", raising=False)
    monkeypatch.setenv("SPLANTS_UTM_MEDIUM", "email=newsletter")
    body = "Your starter pack is waiting: https://hearthandbean.example/pods?ref=launch#buy"
    item = item_from_row(
        publication_row(
            "compostable-pods-launch:email:email",
            "email",
            body,
            ab_design="platform_split",
            variants=[{"piece_id": "compostable-pods-launch:email:email~v1", "subject": "B", "body": body}],
        )
    )
    result = OutboxPublisher(tmp_path).publish(item, {}, lambda progress: None)
    meta = json.loads((tmp_path / result.remote_id).read_text())
    link = query(meta["link"])
    assert link["utm_medium"] == ["newsletter"] and link["ref"] == ["launch"]
    assert meta["link"].endswith("#buy")
    assert link["utm_content"] == ["compostable-pods-launch:email:email"]
    # each A/B variant's link names the variant (its own piece id)
    variant_text = meta["ab_variants"][0]["text"]
    assert "utm_content=compostable-pods-launch%3Aemail%3Aemail~v1" in variant_text
    markdown = next(p for p in (tmp_path / "email").iterdir() if p.suffix == ".md").read_text()
    assert "utm_source=email&utm_medium=newsletter&utm_campaign=compostable-pods-launch" in markdown


def test_tagging_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SPLANTS_UTM_TAGGING", "0")
    body = "See https://hearthandbean.example/pods"
    item = item_from_row(publication_row("compostable-pods-launch:twitter:social_post", "twitter", body))
    assert item.body == body and item.link == LANDING + "?ref=launch#buy"
