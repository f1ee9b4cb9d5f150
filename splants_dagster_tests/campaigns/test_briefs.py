"""Brief and brand validation: every bad input names the file, the field and the value.

Every check that depends on the day gets ``today=TODAY`` explicitly, so these tests pass on any date.
"""

import datetime as dt
import json
from pathlib import Path

import pytest

from splants_dagster.campaigns.briefs import (
    MAX_FILE_BYTES,
    BriefError,
    BriefRegistry,
    FieldProblem,
    find_brief,
    load_brand,
    load_brief,
    resolve_relative_date,
    scan_briefs,
)

TODAY = dt.date(2026, 2, 1)  # a Sunday, a month before GOOD starts

GOOD = """
id: spring-launch
topic: Spring launch of our new oat latte
goal: Sell 200 lattes in the first week
audience: Office workers near the shop
keywords: [oat latte, dairy free coffee]
platforms: [twitter, instagram, email]
content_types: [social_post, email]
tone: casual
start_date: 2026-03-02
duration_days: 14
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(err: BriefError) -> dict[str, tuple]:
    return {p.field: (p.value, p.message) for p in err.problems}


def load(path: Path, today: dt.date = TODAY):
    return load_brief(path, today=today)


def test_good_brief_loads_with_defaults(tmp_path):
    brief, sha = load(write(tmp_path, "a.yaml", GOOD))
    assert brief.id == "spring-launch"
    assert brief.platforms == ["twitter", "instagram", "email"]
    assert brief.variants == 2 and brief.paid is False and brief.demo is False
    assert len(sha) == 64
    assert brief.end_date.isoformat() == "2026-03-16"


def test_missing_field_is_named(tmp_path):
    path = write(tmp_path, "b.yaml", GOOD.replace("goal: Sell 200 lattes in the first week\n", ""))
    with pytest.raises(BriefError) as exc:
        load(path)
    assert problems(exc.value)["goal"][1] == "is required but missing"
    assert str(path) in str(exc.value)


def test_unknown_platform_names_value_and_position(tmp_path):
    path = write(tmp_path, "c.yaml", GOOD.replace("[twitter, instagram, email]", "[twitter, myspace]"))
    with pytest.raises(BriefError) as exc:
        load(path)
    value, message = problems(exc.value)["platforms[1]"]
    assert value == "myspace"
    assert "twitter" in message and "pinterest" in message
    assert "field 'platforms[1]' = 'myspace'" in str(exc.value)


def test_too_short_topic(tmp_path):
    path = write(tmp_path, "d.yaml", GOOD.replace("Spring launch of our new oat latte", "Oat"))
    with pytest.raises(BriefError) as exc:
        load(path)
    value, message = problems(exc.value)["topic"]
    assert value == "Oat" and "at least 5 characters" in message


def test_malformed_yaml_gives_line(tmp_path):
    path = write(tmp_path, "e.yaml", GOOD + "platforms: [twitter\n  tone: : :\n")
    with pytest.raises(BriefError) as exc:
        load(path)
    ((field, (value, message)),) = problems(exc.value).items()
    assert field == "(yaml)" and value.startswith("line ") and "malformed YAML" in message


def test_misspelled_field_is_rejected_not_ignored(tmp_path):
    path = write(tmp_path, "f.yaml", GOOD + "platfroms: [blog]\n")
    with pytest.raises(BriefError) as exc:
        load(path)
    assert "not a known field" in problems(exc.value)["platfroms"][1]


@pytest.mark.parametrize(
    ("replace", "by", "field", "value", "says"),
    [
        ("id: spring-launch", "id: Spring Launch!", "id", "Spring Launch!", "slug"),
        ("duration_days: 14", "duration_days: 0", "duration_days", 0, "greater than or equal to 1"),
        ("duration_days: 14", "duration_days: true", "duration_days", True, "valid integer"),
        ("duration_days: 14", "duration_days: '14'", "duration_days", "14", "valid integer"),
        ("duration_days: 14", "duration_days: " + "9" * 5000, "duration_days", "9" * 5000, "valid integer"),
        (
            "start_date: 2026-03-02",
            "start_date: 2026-13-02",
            "start_date",
            "2026-13-02",
            "month must be in 1..12",
        ),
        (
            "start_date: 2026-03-02",
            "start_date: 2026-02-30",
            "start_date",
            "2026-02-30",
            "not a calendar date",
        ),
        ("start_date: 2026-03-02", "start_date: next monday", "start_date", "next monday", "demo: true"),
        ("start_date: 2026-03-02", "start_date: 20260302", "start_date", 20260302, "YYYY-MM-DD"),
        (
            "start_date: 2026-03-02",
            "start_date: 2026-03-02 10:00",
            "start_date",
            "2026-03-02 10:00",
            "YYYY-MM-DD",
        ),
        ("start_date: 2026-03-02", "start_date: 9999-12-20", "start_date", "9999-12-20", "2100-12-31"),
        ("start_date: 2026-03-02", "start_date: 1900-01-01", "start_date", "1900-01-01", "2000-01-01"),
        ("tone: casual", "tone: sarcastic", "tone", "sarcastic", "friendly"),
        ("tone: casual", 'tone: "[/oops]"', "tone", "[/oops]", "friendly"),
        ("tone: casual", "tone: casual\ndemo: 1", "demo", 1, "valid boolean"),
        (
            "[oat latte, dairy free coffee]",
            "[a, b, c, d, e, f, g, h, i, j, k]",
            "keywords",
            None,
            "at most 10",
        ),
        ("[social_post, email]", "[social_post, tweetstorm]", "content_types[1]", "tweetstorm", "ad_copy"),
    ],
)
def test_each_bad_field_is_named_with_its_value(tmp_path, replace, by, field, value, says):
    path = write(tmp_path, "g.yaml", GOOD.replace(replace, by))
    with pytest.raises(BriefError) as exc:
        load(path)
    found = problems(exc.value)
    assert field in found, found
    if value is not None:
        assert found[field][0] == value
    assert says in found[field][1]
    assert str(path) in str(exc.value) and f"field '{field}'" in str(exc.value)
    assert len(str(exc.value)) < 600  # values are shown shortened, however long


def test_window_that_has_ended_is_refused_unless_asked(tmp_path):
    path = write(tmp_path, "h.yaml", GOOD)
    later = dt.date(2026, 3, 16)  # the day after the last day
    with pytest.raises(BriefError) as exc:
        load(path, today=later)
    value, message = problems(exc.value)["start_date"]
    assert value == "2026-03-02" and "ended before today (2026-03-16)" in message and "allow_past" in message
    assert load(path, today=dt.date(2026, 3, 15))[0].id == "spring-launch"  # its last day is still fine
    backfill = write(tmp_path, "i.yaml", GOOD + "allow_past: true\n")
    assert load(backfill, today=dt.date(2027, 1, 1))[0].allow_past is True


def test_registered_campaign_stays_valid_after_its_window(tmp_path):
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    write(campaigns, "spring.yaml", GOOD)
    scan_briefs(campaigns, today=TODAY, record=True)
    (item,) = scan_briefs(campaigns, today=dt.date(2026, 6, 1))
    assert item.ok  # registered while current: history, not a mistake
    write(campaigns, "spring.yaml", GOOD.replace("2026-03-02", "2026-03-09"))
    (moved,) = scan_briefs(campaigns, today=dt.date(2026, 6, 1))
    assert not moved.ok and "ended before today" in str(moved.error)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("today", dt.date(2026, 2, 1)),
        ("+0d", dt.date(2026, 2, 1)),
        ("+7d", dt.date(2026, 2, 8)),
        ("next monday", dt.date(2026, 2, 2)),
        ("Next Sunday", dt.date(2026, 2, 8)),  # TODAY is a Sunday: the next one, never today
        ("next saturday", dt.date(2026, 2, 7)),
    ],
)
def test_relative_dates(expr, expected):
    assert resolve_relative_date(expr, TODAY) == expected


def demo_dir(tmp_path: Path, start: str = "next monday") -> Path:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir(exist_ok=True)
    write(campaigns, "demo.yaml", GOOD.replace("start_date: 2026-03-02", f"demo: true\nstart_date: {start}"))
    return campaigns


def test_demo_window_is_resolved_once_recorded_and_reanchored_after_it_ends(tmp_path):
    campaigns = demo_dir(tmp_path)
    registry = BriefRegistry.beside(campaigns)
    (first,) = scan_briefs(campaigns, today=TODAY, record=True)
    assert first.brief.start_date == dt.date(2026, 2, 2) and first.relative == "next monday"
    assert json.loads(registry.path.read_text())["spring-launch"]["start_date"] == "2026-02-02"
    # later days keep the recorded window while it lasts (it does not slide every day) ...
    (during,) = scan_briefs(campaigns, today=dt.date(2026, 2, 10), record=True)
    assert during.brief.start_date == dt.date(2026, 2, 2) and during.sha256 == first.sha256
    # ... and once it has ended, the demo moves ahead of the user again, with a new version hash
    (after,) = scan_briefs(campaigns, today=dt.date(2027, 3, 1), record=True)
    assert after.brief.start_date == dt.date(2027, 3, 8) and after.sha256 != first.sha256
    assert after.brief.start_date > dt.date(2027, 3, 1)
    assert json.loads(registry.path.read_text())["spring-launch"]["start_date"] == "2027-03-08"
    # without recording, a read resolves against its own day and writes nothing
    (peek,) = scan_briefs(campaigns, today=dt.date(2028, 1, 1))
    assert peek.brief.start_date == dt.date(2028, 1, 3)
    assert json.loads(registry.path.read_text())["spring-launch"]["start_date"] == "2027-03-08"


def test_demo_brief_may_also_use_an_absolute_date(tmp_path):
    campaigns = demo_dir(tmp_path, start="2026-03-02")
    (item,) = scan_briefs(campaigns, today=TODAY)
    assert item.ok and item.relative is None and item.brief.start_date == dt.date(2026, 3, 2)


def test_scan_keeps_good_briefs_and_reports_bad_and_duplicates(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)  # same id
    write(tmp_path, "c.yaml", "id: [unclosed\n")
    write(tmp_path, "notes.txt", "not a brief")
    scanned = {s.path.name: s for s in scan_briefs(tmp_path, today=TODAY)}
    assert set(scanned) == {"a.yaml", "b.yaml", "c.yaml"}
    assert scanned["a.yaml"].ok
    assert not scanned["b.yaml"].ok
    assert "b.yaml" in str(scanned["b.yaml"].error) and "already used by a.yaml" in str(
        scanned["b.yaml"].error
    )
    assert not scanned["c.yaml"].ok and "(yaml)" in str(scanned["c.yaml"].error)


def test_a_new_duplicate_cannot_take_over_a_registered_campaign(tmp_path):
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    write(campaigns, "m-spring.yaml", GOOD)
    scan_briefs(campaigns, today=TODAY, record=True)
    write(campaigns, "a-copy.yaml", GOOD.replace("Sell 200", "Sell 900"))  # sorts first
    scanned = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY, record=True)}
    assert scanned["m-spring.yaml"].ok and scanned["m-spring.yaml"].brief.goal.startswith("Sell 200")
    assert "already used by m-spring.yaml" in str(scanned["a-copy.yaml"].error)
    path, _, _ = find_brief(campaigns, "spring-launch", today=TODAY)
    assert path.name == "m-spring.yaml"
    # breaking the registered file for a moment does not hand its campaign to the copy
    write(campaigns, "m-spring.yaml", GOOD.replace("duration_days: 14", "duration_days: fourteen"))
    scanned = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY, record=True)}
    assert not scanned["m-spring.yaml"].ok and "already used by m-spring.yaml" in str(
        scanned["a-copy.yaml"].error
    )
    # a registered file that is gone (renamed, removed) frees the id
    (campaigns / "m-spring.yaml").unlink()
    (moved,) = scan_briefs(campaigns, today=TODAY, record=True)
    assert moved.ok and moved.path.name == "a-copy.yaml"


def test_find_brief_lists_valid_campaigns_for_an_unknown_id(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    with pytest.raises(BriefError) as exc:
        find_brief(tmp_path, "nope", today=TODAY)
    assert "valid campaigns: spring-launch" in str(exc.value) and "'nope'" in str(exc.value)


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        (
            "bomb.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "expands to more than",
        ),
        ("deep.yaml", "a: " + "[" * 2000 + "]" * 2000 + "\n", "nests more than"),
        (
            "deep-map.yaml",
            "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v\n",
            "nests more",
        ),
        ("cycle.yaml", "a: &a [1, *a]\n", "refers to the node that contains it"),
        ("many.yaml", "- 1\n" * 30_000, "has more than 20000 values"),
        ("wide.yaml", "a: [" + "1, " * 30_000 + "1]\n", "has more than 20000 values"),
        ("big.yaml", "topic: " + "x" * (MAX_FILE_BYTES + 10) + "\n", "too large"),
        ("list.yaml", "- 1\n- 2\n", "must be a YAML mapping"),
        ("empty.yaml", "", "must be a YAML mapping"),
        ("binary.yaml", "id: \x00\x01\n", "malformed YAML"),
        ("tag.yaml", "id: !!python/object/apply:os.system [echo hi]\n", "malformed YAML"),
    ],
)
def test_hostile_yaml_is_refused_quickly_with_a_short_message(tmp_path, name, text, says):
    path = write(tmp_path, name, text)
    with pytest.raises(BriefError) as exc:
        load(path)
    assert says in str(exc.value) and str(path) in str(exc.value)
    assert len(str(exc.value)) < 400


def test_a_few_aliases_are_fine(tmp_path):
    text = GOOD.replace("keywords: [oat latte, dairy free coffee]\n", "")
    text = text.replace("[twitter, instagram, email]", "&p [twitter, email]") + "keywords: *p\n"
    brief, _ = load(write(tmp_path, "j.yaml", text))
    assert brief.keywords == brief.platforms == ["twitter", "email"]


def test_problem_text_is_bounded_for_huge_values():
    huge = {"k": ["x" * 10_000] * 10_000}
    text = str(FieldProblem("f", huge, "bad"))
    assert len(text) <= 200 and text.startswith("field 'f' = ")


def test_brand_profile_validation(tmp_path):
    brand = load_brand(Path(__file__).resolve().parents[2] / "data" / "brand.yaml")
    assert brand.name == "Hearth & Bean" and brand.tz.key == "Europe/London"
    bad = write(tmp_path, "brand.yaml", "name: X\nvoice: calm voice\ntimezone: Mars/Olympus\n")
    with pytest.raises(BriefError) as exc:
        load_brand(bad)
    assert problems(exc.value)["timezone"][0] == "Mars/Olympus"
    with pytest.raises(BriefError, match="brand profile not found"):
        load_brand(tmp_path / "missing.yaml")


@pytest.mark.parametrize("today", [dt.date(2026, 12, 7), dt.date(2027, 3, 1), dt.date(2031, 2, 28)])
def test_demo_briefs_are_valid_and_ahead_of_the_user_on_any_day(tmp_path, today):
    root = Path(__file__).resolve().parents[2] / "data" / "campaigns"
    scanned = scan_briefs(root, today=today, registry=BriefRegistry(tmp_path / "registry.json"))
    assert scanned and all(s.ok for s in scanned), [str(s.error) for s in scanned if s.error]
    assert all(s.brief.demo and s.brief.start_date > today for s in scanned)
