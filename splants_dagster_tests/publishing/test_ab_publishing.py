"""A/B tests that are real (issue #16): variants go out only where the platform splits the audience.

Over the loopback fakes: a campaign with variants schedules one blog post per blog piece, one post per
social piece and channel (the variants are kept as alternates), and ONE Mailchimp ``variate`` campaign per
email piece, sent to a segment or tag; ``sequential_test: true`` publishes the versions in turn on
different days; a whole-list send is held without an explicit setting; HubSpot gets an A/B email; reruns
add nothing; ``ab_results`` says which design each test used and has no row for unpublished alternates."""

from __future__ import annotations

import datetime as dt

import pytest

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.engagement import abtest
from splants_dagster.publishing import planning, review, state
from splants_dagster.publishing.config import build_publishers
from splants_dagster.publishing.review import PublishingConfigError, ReviewPolicy, load_policy
from splants_dagster.publishing.runner import publish_due
from splants_dagster.publishing.scheduling import SchedulePolicy, build_schedule, rule_violations
from splants_dagster_tests.publishing.fakes import (
    FakeHubSpot,
    FakeLinkedIn,
    FakeMailchimp,
    FakeWordPress,
    FakeX,
)
from splants_dagster_tests.publishing.seeding import CAMPAIGN, piece, publications, seed, settings

START = dt.date(2026, 1, 5)
NOW = dt.datetime(2026, 1, 6, 12, tzinfo=dt.UTC)


def brief(**extra) -> CampaignBrief:
    return CampaignBrief.model_validate(
        {
            "id": CAMPAIGN,
            "topic": "Compostable coffee pods launch",
            "goal": "Pre-orders of the starter pack",
            "audience": "Home coffee drinkers with pod machines",
            "platforms": ["blog", "twitter", "linkedin", "email"],
            "content_types": ["blog", "social_post", "email"],
            "start_date": START.isoformat(),
            "duration_days": 14,
            "allow_past": True,
            "link": "https://hearthandbean.example/pods",
            **extra,
        }
    )


def variant(of: dict, n: int, **extra) -> dict:
    v = piece(
        of["platform"], int(of["piece_id"].rsplit(":", 1)[1]), variant_of=of["piece_id"], qa=None, **extra
    )
    v["piece_id"] = f"{of['piece_id']}~v{n}"
    return v


def demo_like(store, b: CampaignBrief) -> dict[str, list[str]]:
    """The demo's shape: every approved piece with two A/B variants (email variants with other subjects)."""
    blog = piece("blog", 1, is_pillar=True)
    email = piece("email", 1)
    tweet = piece("twitter", 1)
    post = piece("linkedin", 1)
    pieces = [blog, email, tweet, post]
    for p in list(pieces):
        for n in (1, 2):
            extra = {"subject": f"Pod guide, version {n}"} if p["platform"] == "email" else {}
            pieces.append(
                variant(p, n, title=f"{p['title']} (v{n})", body=f"{p['body']} Version {n}.", **extra)
            )
    seed(store, pieces)
    with store.write() as conn:  # the schedule is ours to build; the brief as campaign_brief stores it
        conn.execute("DELETE FROM schedule")
        conn.execute(
            "UPDATE campaigns SET brief_json = ? WHERE campaign_id = ?", [b.model_dump_json(), CAMPAIGN]
        )
    by: dict[str, list[str]] = {}
    for p in pieces:
        by.setdefault(p["platform"], []).append(p["piece_id"])
    return by


def plan(store, b: CampaignBrief):
    """What ``publishing_schedule`` does for one campaign (assets.py), without the Dagster context."""
    inputs = planning.load_inputs(store, CAMPAIGN, b)
    result = build_schedule(
        inputs.items, b.start_date, b.duration_days, "Europe/London", inputs.history, seed=CAMPAIGN
    )
    slots = [s for s in result.slots if s.piece_id in inputs.own]
    rows = planning.schedule_rows(slots, CAMPAIGN, NOW, inputs.designs)
    with store.write() as conn:
        planning.write_schedule(conn, CAMPAIGN, rows, NOW)
    assert not result.unscheduled and not rule_violations(result.slots, SchedulePolicy())
    return inputs, rows


def run(store, s):
    pset = build_publishers(s)
    try:
        return publish_due(store, pset, now=NOW, clock=lambda: NOW, force_now=True)
    finally:
        pset.close()


def ab_rows(store) -> dict[str, dict]:
    with store.write() as conn:
        pairs = abtest.load_pairs(conn)
    return {r["variant_piece_id"]: r for r in abtest.decide(pairs, abtest.ABConfig(), NOW)}


def test_one_publication_per_piece_and_one_mailchimp_ab_campaign_to_a_tag(store, data_dir):
    b = brief(email_tag="pod-fans")
    ids = demo_like(store, b)
    inputs, rows = plan(store, b)
    assert sorted(r["piece_id"] for r in rows) == sorted(ids[p][0] for p in ids)  # the originals only
    assert {r["piece_id"]: r["ab_design"] for r in rows} == {
        ids["blog"][0]: None,
        ids["email"][0]: "platform_split",
        ids["twitter"][0]: None,
        ids["linkedin"][0]: None,
    }
    kept = {a["piece_id"]: a["kept_as"] for a in inputs.alternates}
    assert len(kept) == 8 and all(kept[v].startswith("platform_split") for v in ids["email"][1:])
    assert all(kept[v].startswith("alternate") for p in ("blog", "twitter", "linkedin") for v in ids[p][1:])
    assert store.query("SELECT ab_design FROM analytics.schedule WHERE piece_id = ?", [ids["email"][0]]) == [
        {"ab_design": "platform_split"}
    ]

    with FakeWordPress() as wp, FakeX() as x, FakeLinkedIn() as li, FakeMailchimp() as mc:
        s = settings(data_dir, wp=wp, x=x, li=li, mc=mc)
        report = run(store, s)
        assert report.counts == {"published": 4}
        assert len(wp.posts) == 1 and len(x.tweets) == 1 and len(li.posts) == 1
        assert len(mc.campaigns) == 1 and sum(mc.sends.values()) == 1
        ((cid, campaign),) = mc.campaigns.items()
        assert campaign["type"] == "variate"
        vs = campaign["variate_settings"]
        assert vs["subject_lines"] == ["Your pod guide 1", "Pod guide, version 1", "Pod guide, version 2"]
        assert (vs["winner_criteria"], vs["test_size"], vs["wait_time"]) == ("opens", 20, 240)
        # to the brief's tag (its static segment id, found by name), not the whole list
        assert campaign["recipients"]["segment_opts"]["conditions"][0]["value"] == mc.tags["pod-fans"]
        contents = mc.content[cid]["variate_contents"]
        assert len(contents) == 3 and all("Version" in c["plain_text"] for c in contents[1:])
        row = publications(store)[ids["email"][0]]
        assert row["status"] == "published" and row["publisher"] == "mailchimp"
        assert set(publications(store)) == {ids[p][0] for p in ids}  # no row for any variant

        creates = (dict(wp.creates), dict(x.creates), dict(li.creates), dict(mc.creates))
        plan(store, b)  # a rebuilt schedule and a rerun add nothing
        assert run(store, s).counts == {}
        assert (dict(wp.creates), dict(x.creates), dict(li.creates), dict(mc.creates)) == creates
        assert sum(mc.sends.values()) == 1

    results = ab_rows(store)
    assert set(results) == set(ids["email"][1:])  # no result rows for alternates never published
    assert {r["design"] for r in results.values()} == {"platform_split"}


def test_sequential_test_publishes_versions_in_turn_on_different_days(store, data_dir):
    b = brief(sequential_test=True, email_segment="777")
    ids = demo_like(store, b)
    _inputs, rows = plan(store, b)
    by_piece = {r["piece_id"]: r for r in rows}
    for platform in ("blog", "twitter", "linkedin"):
        versions = [by_piece[pid] for pid in ids[platform]]
        assert {v["ab_design"] for v in versions} == {"sequential"}
        days = {dt.datetime.fromisoformat(v["publish_at_local"]).date() for v in versions}
        assert len(days) == 3, f"{platform}: versions share a day"
    assert [pid for pid in ids["email"] if pid in by_piece] == [ids["email"][0]]  # email: still one split

    with FakeX() as x, FakeMailchimp() as mc:
        s = settings(data_dir, x=x, mc=mc)
        report = run(store, s)
        assert len(x.tweets) == 3 and report.counts["published"] == len(rows)
        (campaign,) = mc.campaigns.values()
        assert campaign["recipients"]["segment_opts"] == {"saved_segment_id": 777}
        assert run(store, s).counts == {} and len(x.tweets) == 3
    results = ab_rows(store)
    assert {results[v]["design"] for p in ("blog", "twitter", "linkedin") for v in ids[p][1:]} == {
        "sequential"
    }
    assert {results[v]["design"] for v in ids["email"][1:]} == {"platform_split"}


def test_a_send_to_the_whole_list_is_held_without_an_explicit_setting(store, data_dir):
    b = brief()
    ids = demo_like(store, b)
    plan(store, b)
    email = ids["email"][0]
    with FakeMailchimp() as mc:
        report = run(store, settings(data_dir, mc=mc, mailchimp_segment_id=None))
        assert report.counts == {"held": 1, "published": 3}  # the others: the outbox
        assert not mc.campaigns and not mc.requests
        row = publications(store)[email]
        assert row["status"] == "held" and "MAILCHIMP_SEND_TO_WHOLE_LIST=1" in row["held_reason"]

        report = run(store, settings(data_dir, mc=mc, mailchimp_segment_id=None, mailchimp_whole_list=True))
        assert report.counts == {"published": 1}
        (campaign,) = mc.campaigns.values()
        assert campaign["type"] == "variate" and "segment_opts" not in campaign["recipients"]
        assert publications(store)[email]["held_reason"] is None


def test_the_segment_can_come_from_the_config_and_publishing_yaml_is_validated(store, data_dir):
    b = brief()
    demo_like(store, b)
    plan(store, b)
    with FakeMailchimp() as mc:
        run(store, settings(data_dir, mc=mc, mailchimp_segment_id="4242"))
        (campaign,) = mc.campaigns.values()
        assert campaign["recipients"]["segment_opts"] == {"saved_segment_id": 4242}

    config = data_dir / "publishing.yaml"
    config.write_text("mailchimp: {tag: pod-fans, whole_list: false}\n", encoding="utf-8")
    assert load_policy(config).mailchimp == {"tag": "pod-fans", "whole_list": False}
    config.write_text("mailchimp: {segment_id: everyone, whole_list: 'yes'}\n", encoding="utf-8")
    with pytest.raises(PublishingConfigError) as err:
        load_policy(config)
    text = str(err.value)
    assert "mailchimp.segment_id" in text and "everyone" in text and "mailchimp.whole_list" in text


def test_hubspot_gets_one_ab_email_and_blog_drafts_by_default(store, data_dir):
    b = brief()
    ids = demo_like(store, b)
    plan(store, b)
    with FakeHubSpot() as hs:
        s = settings(data_dir, hs=hs, email_publisher="hubspot", blog_publisher="hubspot")
        report = run(store, s)
        assert report.counts["published"] == 4
        control = next(e for e in hs.emails.values() if "abTestOf" not in e)
        (variation,) = [e for e in hs.emails.values() if "abTestOf" in e]
        assert variation["abTestOf"] == control["id"] and control["abTest"]
        assert variation["subject"] == "Pod guide, version 1" and control["subject"] == "Your pod guide 1"
        assert "Version 1" in variation["content"]["plainTextVersion"]
        assert len(hs.posts) == 1 and {p["state"] for p in hs.posts.values()} == {"DRAFT"}
        row = publications(store)[ids["email"][0]]
        assert row["publisher"] == "hubspot_email" and row["status"] == "published"
        creates = dict(hs.creates)
        assert run(store, s).counts == {} and dict(hs.creates) == creates and len(hs.emails) == 2


def decide(store, piece_id: str, decision: str) -> None:
    with store.write() as conn:
        row = review.pieces(conn, [piece_id])[piece_id]
        review.record(
            conn,
            piece_id=piece_id,
            campaign_id=CAMPAIGN,
            decision=decision,
            by="maria",
            at=dt.datetime.now(dt.UTC),
            text=review.text_sha256(row),
            reason="test",
        )


def test_every_variant_in_an_ab_email_needs_approval_and_a_rejected_one_is_left_out(store, data_dir):
    b = brief(email_segment="4242")
    ids = demo_like(store, b)
    plan(store, b)
    control, v1, v2 = ids["email"]
    decide(store, control, "approve")
    with FakeMailchimp() as mc:
        s = settings(data_dir, mc=mc, review=ReviewPolicy())
        run(store, s)
        row = publications(store)[control]
        assert row["status"] == "pending_review" and row["held_reason"].startswith(
            f"A/B variant {v1}: awaiting"
        )
        assert not mc.requests
        decide(store, v1, "approve")
        decide(store, v2, "reject")
        run(store, s)
        (campaign,) = mc.campaigns.values()
        assert campaign["variate_settings"]["subject_lines"] == ["Your pod guide 1", "Pod guide, version 1"]
        assert publications(store)[control]["status"] == "published"


def test_hubspot_ab_email_resumed_after_a_crash_makes_one_variation(store, data_dir):
    b = brief()
    ids = demo_like(store, b)
    plan(store, b)
    with FakeHubSpot() as hs:
        s = settings(data_dir, hs=hs, email_publisher="hubspot")
        pset = build_publishers(s)
        try:
            with store.write() as conn:
                (row,) = [r for r in state.due_rows(conn, NOW, CAMPAIGN, True) if r["platform"] == "email"]
            item = state.item_from_row(row)
            publisher = pset.by_platform["email"]
            assert len(item.variants) == 2 and item.ab_design == "platform_split"
            # an attempt that died after creating the variation, before checkpointing it
            control_id = publisher.http.create("/marketing/v3/emails", json=publisher.payload(item))
            publisher.http.create(
                "/marketing/v3/emails/ab-test/create-variation",
                json={"contentId": control_id, "variationName": publisher.variation_name(item)},
            )
            found = publisher.reconcile(item, {})
            assert found.state == "absent" and found.progress == {"email_id": control_id}
            result = publisher.publish(item, found.progress, lambda p: None)
        finally:
            pset.close()
        assert result.remote_id == control_id and len(hs.emails) == 2
        assert result.details["alternates"] == [ids["email"][2]]
        (variation,) = [e for e in hs.emails.values() if "abTestOf" in e]
        assert variation["subject"] == "Pod guide, version 1"
