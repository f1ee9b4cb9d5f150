"""``scheduling.slot_refusal``, the rule the desk's rescheduling asks: each refusal names its rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from splants_dagster.publishing.scheduling import Slot, slot_refusal

TZ = "Europe/London"
START = dt.date(2026, 1, 5)


def slot(pid: str, platform: str, day: int, hour: int, **kw) -> Slot:
    date = START + dt.timedelta(days=day)
    local = dt.datetime(date.year, date.month, date.day, hour, tzinfo=ZoneInfo(TZ))
    return Slot(pid, platform, "social_post", local.astimezone(dt.UTC), local, "prior", 0.5, **kw)


def test_each_refusal_names_its_rule():
    others = [
        slot("blog", "blog", 0, 9, is_pillar=True),
        slot("li-a", "linkedin", 1, 10),
        slot("li-b", "linkedin", 3, 10),
        slot("fb-a", "facebook", 2, 9),
        slot("fb-b", "facebook", 2, 16),
        slot("fb-c", "facebook", 4, 9),
        slot("tw-a", "twitter", 1, 10),
        slot("tw-a~v1", "twitter", 2, 10, variant_of="tw-a"),
    ]

    def why(moved: Slot) -> str:
        return slot_refusal(moved, others, START, 21, TZ) or "allowed"

    assert why(slot("li-b", "linkedin", 2, 10)) == "allowed"  # 24 h after li-a
    assert why(slot("li-b", "linkedin", 1, 20)).startswith("spacing: linkedin needs 20h between posts")
    assert why(slot("fb-c", "facebook", 2, 22)).startswith("daily cap: facebook allows 2 a day")
    assert why(slot("tw-a~v1", "twitter", 1, 16, variant_of="tw-a")).startswith(
        "A/B: one version of a piece a day"
    )
    assert why(slot("li-b", "linkedin", 0, 7)) == "pillar first: li-b would go out before the pillar post"
    assert why(slot("li-b", "linkedin", 30, 10)).startswith("window: 2026-02-04 10:00 is outside")
    assert why(slot("li-b", "linkedin", 2, 3)).startswith("allowed hours: 03:00 is not a slot")
