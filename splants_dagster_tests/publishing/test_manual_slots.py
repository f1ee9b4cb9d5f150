"""Slots a person chose (``ScheduleItem.manual_at``, written by the desk's reschedule): the scheduler keeps
them while its rules allow them and places the other pieces around them; a slot the rules no longer allow
is placed again, with the rule that refused it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from splants_dagster.publishing.scheduling import (
    MANUAL,
    ScheduleItem,
    build_schedule,
    calendar_markdown,
    rule_violations,
)
from splants_dagster_tests.publishing.test_scheduling import LONDON, suite

START = dt.date(2026, 12, 7)  # a Monday; London is on UTC in December


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(START + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def with_manual(items: list[ScheduleItem], **manual: dt.datetime) -> list[ScheduleItem]:
    moved = {pid.replace("__", ":"): when for pid, when in manual.items()}
    return [
        ScheduleItem(**{**i.__dict__, "manual_at": moved[i.piece_id]}) if i.piece_id in moved else i
        for i in items
    ]


def test_a_manual_slot_is_kept_and_the_other_pieces_go_around_it():
    items = suite(x=3, linkedin=1, email=0)
    plain = {s.piece_id: s for s in build_schedule(items, START, 7, LONDON).slots}
    natural = plain["c:twitter:0"].publish_at
    assert natural == at(0, 13)  # the scheduler's own choice for the first X post
    # a person puts the third X post one hour after it: X needs 3 h between posts
    result = build_schedule(
        with_manual(items, c__twitter__2=natural + dt.timedelta(hours=1)), START, 7, LONDON
    )
    slots = {s.piece_id: s for s in result.slots}
    moved = slots["c:twitter:2"]
    assert moved.publish_at == at(0, 14) and moved.slot_source == MANUAL and not moved.fixed
    assert abs(slots["c:twitter:0"].publish_at - moved.publish_at) >= dt.timedelta(hours=3)
    assert not result.unscheduled and not result.manual_replaced
    assert rule_violations(result.slots) == []
    assert "14:00 social_post (M)" in calendar_markdown(result.slots)


def test_a_manual_slot_the_rules_no_longer_allow_is_placed_again_with_the_rule():
    sent = ScheduleItem("c:twitter:1", "twitter", "social_post", fixed_at=at(2, 13), fixed_source="prior")
    items = [i for i in suite(x=3, linkedin=0, email=0) if i.piece_id != "c:twitter:1"] + [sent]
    items = with_manual(
        items,
        c__twitter__0=at(-3, 13),  # the window moved: now before it
        c__twitter__2=at(2, 14),  # an hour after a post that went out since
    )
    result = build_schedule(items, START, 7, LONDON)
    why = {i.piece_id: reason for i, reason in result.manual_replaced}
    assert why["c:twitter:0"].startswith("window: 2026-12-04 13:00 is outside the campaign window")
    assert why["c:twitter:2"].startswith("spacing: twitter needs 3h between posts (c:twitter:2")
    slots = {s.piece_id: s for s in result.slots}
    for pid in ("c:twitter:0", "c:twitter:2"):
        assert slots[pid].slot_source == "prior" and START <= slots[pid].local.date() < at(7, 0).date()
    assert not result.unscheduled and rule_violations(result.slots) == []


def test_the_pillar_goes_before_a_manual_slot_or_the_manual_slot_gives_way():
    items = suite(x=1, linkedin=0, email=0)
    # the pillar would take 09:00 on the first day; an X post moved to 08:00 pulls it to 07:00
    early = build_schedule(with_manual(items, c__twitter__0=at(0, 8)), START, 7, LONDON)
    slots = {s.piece_id: s for s in early.slots}
    assert slots["c:blog:blog"].publish_at == at(0, 7)
    assert slots["c:twitter:0"].publish_at == at(0, 8) and slots["c:twitter:0"].slot_source == MANUAL
    assert rule_violations(early.slots) == []
    # at 07:00 nothing earlier is allowed for the pillar (allowed hours start at 07:00): the pillar wins
    first = build_schedule(with_manual(items, c__twitter__0=at(0, 7)), START, 7, LONDON)
    slots = {s.piece_id: s for s in first.slots}
    assert [(i.piece_id, why) for i, why in first.manual_replaced] == [
        ("c:twitter:0", "pillar first: c:twitter:0 would go out before the pillar post")
    ]
    assert slots["c:twitter:0"].publish_at > slots["c:blog:blog"].publish_at
    assert slots["c:twitter:0"].slot_source == "prior" and rule_violations(first.slots) == []


def test_a_manual_pillar_keeps_its_slot_and_derivatives_follow_it():
    items = with_manual(suite(x=2, linkedin=1, email=1), c__blog__blog=at(1, 15))
    result = build_schedule(items, START, 7, LONDON)
    pillar = next(s for s in result.slots if s.is_pillar)
    assert pillar.publish_at == at(1, 15) and pillar.slot_source == MANUAL
    assert all(s.publish_at >= at(1, 16) for s in result.slots if not s.is_pillar)
    assert rule_violations(result.slots) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.integers(1, 14),
    x=st.integers(0, 6),
    linkedin=st.integers(0, 3),
    moves=st.lists(st.tuples(st.integers(0, 20), st.integers(-2, 16), st.integers(0, 23)), max_size=6),
    tz=st.sampled_from([LONDON, "America/New_York", "Asia/Kolkata"]),
)
def test_manual_slots_are_kept_exactly_or_placed_again_and_the_rules_always_hold(
    days, x, linkedin, moves, tz
):
    items = suite(x=x, linkedin=linkedin, email=1)
    manual: dict[str, dt.datetime] = {}
    for index, day, hour in moves:
        pid = items[index % len(items)].piece_id
        local = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(hour), tzinfo=ZoneInfo(tz))
        manual[pid] = local.astimezone(dt.UTC)
    items = [ScheduleItem(**{**i.__dict__, "manual_at": manual.get(i.piece_id)}) for i in items]
    result = build_schedule(items, START, days, tz)
    assert rule_violations(result.slots) == []
    assert len(result.slots) + len(result.unscheduled) == len(items)
    replaced = {i.piece_id for i, _ in result.manual_replaced}
    assert len(replaced) == len(result.manual_replaced)
    for slot in result.slots:
        assert START <= slot.local.date() < START + dt.timedelta(days=days)
        if slot.piece_id in manual and slot.piece_id not in replaced:
            assert slot.publish_at == manual[slot.piece_id] and slot.slot_source == MANUAL
        else:
            assert slot.slot_source != MANUAL
    assert replaced <= set(manual)
