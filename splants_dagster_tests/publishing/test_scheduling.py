"""The scheduler alone (pure functions): prior vs learned slots, spacing and caps, DST, pillar first."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from splants_dagster.publishing.scheduling import (
    PRIOR_SLOTS,
    ScheduleItem,
    SchedulePolicy,
    build_schedule,
    calendar_markdown,
    learn_grids,
    local_instant,
    rule_violations,
)

LONDON = "Europe/London"
TZ = ZoneInfo(LONDON)


def suite(
    campaign: str = "c", x: int = 2, linkedin: int = 2, email: int = 1, variants: int = 0
) -> list[ScheduleItem]:
    items = [ScheduleItem(f"{campaign}:blog:blog", "blog", "blog", is_pillar=True)]
    for i in range(x):
        items.append(ScheduleItem(f"{campaign}:twitter:{i}", "twitter", "social_post"))
        for v in range(variants):
            items.append(
                ScheduleItem(
                    f"{campaign}:twitter:{i}:v{v}",
                    "twitter",
                    "social_post",
                    variant_of=f"{campaign}:twitter:{i}",
                )
            )
    items += [ScheduleItem(f"{campaign}:linkedin:{i}", "linkedin", "social_post") for i in range(linkedin)]
    items += [ScheduleItem(f"{campaign}:email:{i}", "email", "email") for i in range(email)]
    return items


def best_hour_history(best_hour: int, weeks: int = 8, start: dt.date = dt.date(2026, 9, 7)) -> list[dict]:
    """X posts every day at six local hours; the known best hour has a clearly higher engagement rate."""
    rows = []
    for day in range(weeks * 7):
        date = start + dt.timedelta(days=day)
        for hour in (8, 10, 13, 15, 17, 20):
            local = local_instant(date, hour, TZ)
            noise = ((day * 7 + hour * 13) % 11 - 5) / 1000  # deterministic, ±0.005
            rate = 0.02 + (0.03 if hour == best_hour else 0.0) + noise
            rows.append(
                {"platform": "twitter", "published_at": local.astimezone(dt.UTC), "engagement_rate": rate}
            )
    return rows


def true_rate(local: dt.datetime, best_hour: int) -> float:
    return 0.02 + (0.03 if local.hour == best_hour else 0.0)


def test_no_history_uses_the_prior_and_says_so():
    result = build_schedule(suite(), dt.date(2026, 12, 7), 21, LONDON)
    assert not result.unscheduled
    assert result.prior_only
    assert "no history: prior only" in result.notes
    assert {s.slot_source for s in result.slots} == {"prior"}
    for slot in result.slots:
        # the original SPLANTS hours are UTC instants
        assert slot.publish_at.hour in PRIOR_SLOTS[slot.platform], slot
        assert slot.publish_at.minute == 0
    assert rule_violations(result.slots) == []


def test_learned_slots_beat_the_prior_on_a_known_best_hour():
    history = best_hour_history(best_hour=8)
    items = suite(x=6, linkedin=0, email=0)
    start = dt.date(2026, 12, 7)
    policy = SchedulePolicy(exploration=0.0)
    learned = build_schedule(items, start, 21, LONDON, history, policy)
    prior = build_schedule(items, start, 21, LONDON, (), policy)
    x_learned = [s for s in learned.slots if s.platform == "twitter"]
    x_prior = [s for s in prior.slots if s.platform == "twitter"]
    assert len(x_learned) == len(x_prior) == 6
    assert all(s.local.hour == 8 and s.slot_source == "learned" for s in x_learned), x_learned
    assert all(s.slot_source == "prior" for s in x_prior)
    learned_rate = sum(true_rate(s.local, 8) for s in x_learned) / 6
    prior_rate = sum(true_rate(s.local, 8) for s in x_prior) / 6
    assert learned_rate > prior_rate + 0.02
    assert not learned.prior_only
    assert any(n.startswith("twitter: learned from 336 posts") for n in learned.notes)
    # blog had no history: still the prior
    assert next(s for s in learned.slots if s.platform == "blog").slot_source == "prior"


def test_learned_grid_is_standardised_per_account_and_shrunk():
    # two accounts on different baselines, same best hour: z-scores make them agree
    rows = best_hour_history(8, weeks=4)
    rows += [{**r, "account": "x-agency", "engagement_rate": r["engagement_rate"] * 10} for r in rows]
    grids = learn_grids(rows, LONDON)
    grid = grids["twitter"]
    assert grid.learned and grid.posts == len(rows)
    policy = SchedulePolicy()
    best = grid.score(0, 8, 0.0, policy)
    other = grid.score(0, 10, 0.0, policy)
    assert best > 1.0 > 0 > other
    # shrinkage: a cell with one strong post is pulled toward the prior
    one = learn_grids(
        [{"platform": "x", "published_at": dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC), "engagement_rate": 1.0}]
        + [
            {
                "platform": "x",
                "published_at": dt.datetime(2026, 1, 6 + i % 20, 15, tzinfo=dt.UTC),
                "engagement_rate": 0.01,
            }
            for i in range(20)
        ],
        "UTC",
    )["x"]
    raw_z = one.cells[(0, 9)].mean
    assert 0 < one.score(0, 9, 0.0, policy) < raw_z / 2


def test_thin_history_falls_back_to_the_prior():
    history = best_hour_history(8)[:5]
    result = build_schedule(suite(x=2), dt.date(2026, 12, 7), 21, LONDON, history)
    assert all(s.slot_source == "prior" for s in result.slots)
    assert any("only 5 posts" in n and "prior only" in n for n in result.notes)
    assert "no history: prior only" not in result.notes


def test_exploration_uses_thin_cells_deterministically():
    history = best_hour_history(8)
    items = suite(x=8, linkedin=0, email=0)
    policy = SchedulePolicy(exploration=1.0)
    a = build_schedule(items, dt.date(2026, 12, 7), 21, LONDON, history, policy, seed="camp")
    b = build_schedule(items, dt.date(2026, 12, 7), 21, LONDON, history, policy, seed="camp")
    assert [(s.piece_id, s.publish_at) for s in a.slots] == [(s.piece_id, s.publish_at) for s in b.slots]
    explored = [s for s in a.slots if s.exploration]
    assert len(explored) == 8  # every X piece (never the pillar)
    grid = a.grids["twitter"]
    for slot in explored:
        assert slot.slot_source == "learned"
        assert slot.local.hour in policy.allowed_hours
        assert not grid.cell_learned(slot.local.weekday(), slot.local.hour, policy)
    # the default 10 % explores a few, not most
    default = build_schedule(
        suite(x=30, linkedin=0, email=0), dt.date(2026, 12, 7), 30, LONDON, history, seed="camp"
    )
    share = sum(s.exploration for s in default.slots) / 30
    assert 0 < share < 0.3


def test_pillar_goes_first_and_derivatives_wait_for_it():
    result = build_schedule(suite(x=4, linkedin=3, email=1, variants=1), dt.date(2026, 12, 7), 14, LONDON)
    pillar = next(s for s in result.slots if s.is_pillar)
    assert result.slots[0] == pillar
    for slot in result.slots[1:]:
        assert slot.publish_at >= pillar.publish_at + dt.timedelta(hours=1)
    variants = [s for s in result.slots if s.variant_of]
    assert len(variants) == 4 and all(v.platform == "twitter" for v in variants)


def test_caps_and_spacing_leave_extra_items_unscheduled_with_a_reason():
    items = [ScheduleItem("c:blog", "blog", "blog", is_pillar=True)]
    items += [ScheduleItem(f"c:li:{i}", "linkedin", "social_post") for i in range(3)]
    result = build_schedule(items, dt.date(2026, 12, 7), 2, LONDON)
    linkedin = [s for s in result.slots if s.platform == "linkedin"]
    assert len(linkedin) == 2  # cap 1 per day, 20 h apart
    assert len(result.unscheduled) == 1 and "no linkedin slot" in result.unscheduled[0][1]
    assert rule_violations(result.slots) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 12, 31)),
    days=st.integers(1, 21),
    x=st.integers(0, 12),
    linkedin=st.integers(0, 6),
    email=st.integers(0, 3),
    tz=st.sampled_from([LONDON, "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
)
def test_every_schedule_respects_window_spacing_caps_and_pillar(start, days, x, linkedin, email, tz):
    items = suite(x=x, linkedin=linkedin, email=email)
    result = build_schedule(items, start, days, tz)
    zone = ZoneInfo(tz)
    assert len(result.slots) + len(result.unscheduled) == len(items)
    assert rule_violations(result.slots) == []
    for slot in result.slots:
        assert start <= slot.local.date() < start + dt.timedelta(days=days)
        assert slot.local == slot.publish_at.astimezone(zone)
        assert slot.local.replace(tzinfo=None) == slot.publish_at.astimezone(zone).replace(tzinfo=None)


def test_dst_spring_forward_london_keeps_utc_prior_and_skips_missing_hours():
    # clocks go forward at 01:00 UTC on Sunday 28 March 2027
    assert local_instant(dt.date(2027, 3, 28), 1, TZ) is None
    items = [ScheduleItem("c:blog", "blog", "blog", is_pillar=True)]
    items += [ScheduleItem(f"c:x:{i}", "twitter", "social_post") for i in range(6)]
    result = build_schedule(items, dt.date(2027, 3, 27), 3, LONDON)
    x = [s for s in result.slots if s.platform == "twitter"]
    assert len(x) == 6
    for slot in x:
        assert slot.publish_at.hour in (13, 17)  # UTC prior
        expected_offset = (
            dt.timedelta(hours=1) if slot.local.date() >= dt.date(2027, 3, 28) else dt.timedelta(0)
        )
        assert slot.local.utcoffset() == expected_offset
        assert slot.local.hour == slot.publish_at.hour + expected_offset.seconds // 3600
    # brand wall-clock prior: same local hours on both sides of the change
    local = build_schedule(items, dt.date(2027, 3, 27), 3, LONDON, policy=SchedulePolicy(prior_clock="local"))
    assert {s.local.hour for s in local.slots if s.platform == "twitter"} <= {13, 17}
    assert {s.publish_at.hour for s in local.slots if s.platform == "twitter" and s.local.day == 29} <= {
        12,
        16,
    }


def test_dst_learned_best_hour_that_does_not_exist_on_the_change_day():
    # best hour 01:00 local; on 28 March 2027 there is no 01:00 in London
    rows = []
    for day in range(56):
        date = dt.date(2026, 11, 2) + dt.timedelta(days=day)
        for hour in (1, 9, 14):
            rows.append(
                {
                    "platform": "twitter",
                    "published_at": local_instant(date, hour, TZ),
                    "engagement_rate": 0.09 if hour == 1 else 0.02,
                }
            )
    policy = SchedulePolicy(exploration=0.0, allowed_hours=tuple(range(0, 24)))
    items = [ScheduleItem(f"c:x:{i}", "twitter", "social_post") for i in range(3)]
    result = build_schedule(items, dt.date(2027, 3, 27), 3, LONDON, rows, policy)
    assert len(result.slots) == 3
    for slot in result.slots:
        assert slot.local == slot.publish_at.astimezone(TZ)
        if slot.local.date() == dt.date(2027, 3, 28):
            assert slot.local.hour != 1
        else:
            assert slot.local.hour == 1 and slot.slot_source == "learned"


def test_dst_fall_back_window_and_repeated_hour():
    # clocks go back at 01:00 UTC on Sunday 25 October 2026: 01:00-02:00 local happens twice
    first = local_instant(dt.date(2026, 10, 25), 1, TZ)
    assert first is not None and first.utcoffset() == dt.timedelta(hours=1)  # the first (BST) 01:00
    items = [ScheduleItem("c:blog", "blog", "blog", is_pillar=True)]
    items += [ScheduleItem(f"c:x:{i}", "twitter", "social_post") for i in range(4)]
    result = build_schedule(items, dt.date(2026, 10, 24), 2, LONDON)
    assert len(result.slots) == 5
    window_end = dt.datetime(2026, 10, 26, tzinfo=TZ).astimezone(dt.UTC)
    assert window_end == dt.datetime(2026, 10, 26, 0, tzinfo=dt.UTC)  # GMT again by then
    for slot in result.slots:
        assert slot.publish_at < window_end
        on_sunday = slot.local.date() == dt.date(2026, 10, 25)
        assert slot.local.utcoffset() == (dt.timedelta(0) if on_sunday else dt.timedelta(hours=1))
    assert rule_violations(result.slots) == []


def test_fixed_items_keep_their_time_and_block_the_channel():
    published_at = dt.datetime(2026, 12, 7, 13, tzinfo=dt.UTC)
    items = [
        ScheduleItem(
            "c:blog", "blog", "blog", is_pillar=True, fixed_at=dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
        ),
        ScheduleItem("c:x:0", "twitter", "social_post", fixed_at=published_at, fixed_source="prior"),
        ScheduleItem("c:x:1", "twitter", "social_post"),
        ScheduleItem("other:x:9", "twitter", fixed_at=dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC)),
    ]
    result = build_schedule(items, dt.date(2026, 12, 7), 1, LONDON)
    by_id = {s.piece_id: s for s in result.slots}
    assert by_id["c:x:0"].publish_at == published_at and by_id["c:x:0"].fixed
    free = by_id["c:x:1"]
    for other in (published_at, dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC)):
        assert abs(free.publish_at - other) >= dt.timedelta(hours=3)
    assert rule_violations(result.slots) == []


def test_calendar_preview_is_a_markdown_table():
    result = build_schedule(suite(), dt.date(2026, 12, 7), 21, LONDON)
    md = calendar_markdown(result.slots)
    lines = md.splitlines()
    assert lines[0].startswith("| day | blog | twitter | linkedin | email |")
    assert "Mon 07 Dec" in md and "(P)" in md
    assert calendar_markdown([]) == "_(nothing scheduled)_"
    assert not math.isnan(sum(s.slot_score for s in result.slots))
