"""A reschedule made in the desk survives a rebuild of ``publishing_schedule`` (real Dagster runs on a real
warehouse): the piece keeps the person's slot, the others obey the rules around it; a slot the rules no
longer allow is placed again and the asset says which piece, which slot and which rule. The desk checks a
move against other campaigns' slots too, as the rebuild will."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from splants_dagster.desk import actions
from splants_dagster.publishing.scheduling import Slot, rule_violations
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.publishing.seeding import piece, seed
from splants_dagster_tests.publishing.test_assets import UPSTREAM, approve_all_but

TZ = "Europe/London"
SCHEDULE = dg.AssetSelection.assets("publishing_schedule")


def rows(store) -> dict[str, dict]:
    return {
        r["piece_id"]: r
        for r in store.query("SELECT * FROM analytics.schedule WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    }


def as_slots(found: dict[str, dict]) -> list[Slot]:
    zone = ZoneInfo(TZ)
    return [
        Slot(
            r["piece_id"],
            r["platform"],
            r["content_type"],
            r["publish_at"],
            r["publish_at"].astimezone(zone),
            r["slot_source"],
            0.0,
            is_pillar=bool(r["is_pillar"]),
            variant_of=r["variant_of"],
        )
        for r in found.values()
    ]


def move(store, piece_id: str, start: dt.date, days: range, hour: int) -> dt.datetime:
    """Move ``piece_id`` through the desk to ``hour`` on the first of ``days`` the rules allow."""
    for day in days:
        local = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(hour))
        if actions.reschedule(store, piece_id, local, TZ) is None:
            return local.replace(tzinfo=ZoneInfo(TZ)).astimezone(dt.UTC)
    raise AssertionError(f"no day in {days} allowed {piece_id} at {hour}:00")


def schedule(instance, resources):
    result = materialize_campaign(instance, resources, selection=SCHEDULE)
    md = result.asset_materializations_for_node("publishing_schedule")[0].metadata
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    return result, md, checks


def test_a_desk_reschedule_survives_a_rebuild_and_a_slot_the_rules_refuse_is_replaced_with_the_reason(
    data_dir, instance, resources, store
):
    materialize_campaign(instance, resources, selection=UPSTREAM)
    approve_all_but(store, "facebook")
    schedule(instance, resources)
    before = rows(store)
    [start] = [
        r["start_date"]
        for r in store.query("SELECT start_date FROM campaigns WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    ]
    x_post = sorted(pid for pid, r in before.items() if r["platform"] == "twitter")[-1]
    linkedin = next(pid for pid, r in before.items() if r["platform"] == "linkedin")
    # 20:00 is not an X prior hour: the scheduler would never pick it itself
    manual_x = move(store, x_post, start, range(1, 6), 20)
    manual_li = move(store, linkedin, start, range(8, 20), 11)
    assert rows(store)[x_post]["slot_source"] == "manual"

    # a rebuild (e.g. a campaign re-run) keeps both and places the rest around them
    for _ in range(2):
        _, md, checks = schedule(instance, resources)
        after = rows(store)
        assert after[x_post]["publish_at"] == manual_x and after[x_post]["slot_source"] == "manual"
        assert after[linkedin]["publish_at"] == manual_li and after[linkedin]["slot_source"] == "manual"
        assert set(after) == set(before) and md["unscheduled"].value == 0
        assert rule_violations(as_slots(after)) == [] and checks["spacing_caps_pillar_first"]
        assert md["manual_slots_kept"].value == 2 and md["manual_slots_not_kept"].value == 0
        assert "20:00 social_post (M)" in md["calendar"].value

    # the window moves a week later: the X post's slot is now before it; the LinkedIn post is rejected
    brief = data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"
    new_start = start + dt.timedelta(days=7)
    text = brief.read_text()
    assert "start_date: next monday" in text
    brief.write_text(text.replace("start_date: next monday", f"start_date: {new_start.isoformat()}"))
    materialize_campaign(instance, resources, selection=dg.AssetSelection.assets("campaign_brief"))
    with store.write() as conn:
        conn.execute("UPDATE qa_status SET status = 'rejected' WHERE piece_id = ?", [linkedin])
    result, md, checks = schedule(instance, resources)
    after = rows(store)
    moved = after[x_post]
    assert moved["slot_source"] in ("prior", "learned") and moved["publish_at"] != manual_x
    assert moved["publish_at"].astimezone(ZoneInfo(TZ)).date() >= new_start
    assert linkedin not in after and checks["spacing_caps_pillar_first"]
    assert md["manual_slots_kept"].value == 0 and md["manual_slots_not_kept"].value == 2
    listed = md["manual_slots_not_kept_list"].value
    old = f"{manual_x.astimezone(ZoneInfo(TZ)):%Y-%m-%d %H:%M}"
    assert f"| {x_post} | {old} | window: {old} is outside the campaign window ({new_start} to" in listed
    assert f"| {linkedin} |" in listed and "no longer publishable" in listed
    warnings = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if "manual slot not kept" in (e.user_message or "")
    ]
    assert len(warnings) == 2
    x_warning = next(w for w in warnings if x_post in w)
    new = f"{moved['publish_at'].astimezone(ZoneInfo(TZ)):%Y-%m-%d %H:%M}"
    assert f"moved by a person to {old}, but window:" in x_warning and x_warning.endswith(f"now {new}")


def test_the_desk_refuses_a_slot_another_campaigns_post_already_takes(store):
    start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    [_, x_post] = seed(store, [piece("blog", 1, is_pillar=True), piece("twitter", 1)], start=start)
    seed(
        store,
        [
            piece(
                "twitter", 7, piece_id="other:twitter:social_post:7", publish_at=start + dt.timedelta(days=2)
            )
        ],
        campaign_id="other",
        start=start,
    )
    # 10:00 on Wed 07 Jan is an hour after the other campaign's X post: X needs 3 h between posts
    refused = actions.reschedule(store, x_post, dt.datetime(2026, 1, 7, 10), TZ)
    assert refused is not None and refused.startswith("spacing: twitter needs 3h between posts")
    assert actions.reschedule(store, x_post, dt.datetime(2026, 1, 7, 13), TZ) is None
