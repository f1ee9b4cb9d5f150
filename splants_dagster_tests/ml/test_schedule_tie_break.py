"""The scheduler uses a piece's predicted performance per weekday × hour only to choose among equally
good slots: never over a clearly better one, and nothing changes without predictions."""

import datetime as dt
from zoneinfo import ZoneInfo

from splants_dagster.publishing.scheduling import (
    ScheduleItem,
    SchedulePolicy,
    build_schedule,
    local_instant,
    rule_violations,
)

LONDON = "Europe/London"
START = dt.date(2026, 12, 7)  # winter: London = UTC, so LinkedIn's prior slots are 10, 12 and 17 local
POLICY = SchedulePolicy(exploration=0.0)
ITEMS = [
    ScheduleItem("c:blog:blog", "blog", "blog", is_pillar=True),
    ScheduleItem("c:linkedin:social_post", "linkedin", "social_post"),
    ScheduleItem("c:linkedin:ad_copy", "linkedin", "ad_copy"),
]


def prefer(hour: int, pieces=("c:linkedin:social_post", "c:linkedin:ad_copy")) -> dict:
    return {p: {(d, h): (1.0 if h == hour else 0.0) for d in range(7) for h in range(24)} for p in pieces}


def linkedin_hours(result) -> list[int]:
    return [s.local.hour for s in result.slots if s.platform == "linkedin"]


def test_predictions_break_ties_between_prior_slots():
    plain = build_schedule(ITEMS, START, 14, LONDON, policy=POLICY)
    assert linkedin_hours(plain) == [10, 10]  # equally good prior slots: the earliest wins
    assert not any(s.tie_break for s in plain.slots)

    tied = build_schedule(ITEMS, START, 14, LONDON, policy=POLICY, preferences=prefer(17))
    assert linkedin_hours(tied) == [17, 17]
    assert [s.tie_break for s in tied.slots if s.platform == "linkedin"] == [True, True]
    assert [s.local.date() for s in tied.slots] == [s.local.date() for s in plain.slots]
    assert rule_violations(tied.slots, POLICY) == []
    # the pillar had no prediction: unchanged
    assert [s for s in tied.slots if s.platform == "blog"] == [s for s in plain.slots if s.platform == "blog"]


def test_predictions_never_override_a_better_slot():
    # 20:00 is not a prior slot (score 0 < 0.5): out of the tie, whatever the prediction says
    off_prior = build_schedule(ITEMS, START, 14, LONDON, policy=POLICY, preferences=prefer(20))
    assert linkedin_hours(off_prior) == [10, 10]
    # a learned best hour (8:00, far above the rest; 12:00 on day one, the pillar's morning) wins over a
    # prediction for 13:00, a learned weak hour
    tz = ZoneInfo(LONDON)
    days = [dt.date(2026, 9, 7) + dt.timedelta(days=d) for d in range(56)]
    history = [
        {
            "platform": "linkedin",
            "published_at": local_instant(day, h, tz).astimezone(dt.UTC),
            "engagement_rate": 0.05 if h == 8 else 0.02,
        }
        for day in days
        for h in (8, 10, 13, 15, 17, 20)
    ]
    learned = build_schedule(ITEMS, START, 14, LONDON, history, POLICY, preferences=prefer(13))
    assert learned.slots == build_schedule(ITEMS, START, 14, LONDON, history, POLICY).slots
    assert 8 in linkedin_hours(learned) and 13 not in linkedin_hours(learned)
    assert not any(s.tie_break for s in learned.slots)
