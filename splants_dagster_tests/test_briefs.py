"""Brief and brand validation: every bad input names the file, the field and the value."""

from pathlib import Path

import pytest

from splants_dagster.briefs import BriefError, load_brand, load_brief, scan_briefs

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


def test_good_brief_loads_with_defaults(tmp_path):
    brief, sha = load_brief(write(tmp_path, "a.yaml", GOOD))
    assert brief.id == "spring-launch"
    assert brief.platforms == ["twitter", "instagram", "email"]
    assert brief.variants == 2 and brief.paid is False
    assert len(sha) == 64
    assert brief.end_date.isoformat() == "2026-03-16"


def test_missing_field_is_named(tmp_path):
    path = write(tmp_path, "b.yaml", GOOD.replace("goal: Sell 200 lattes in the first week\n", ""))
    with pytest.raises(BriefError) as exc:
        load_brief(path)
    assert problems(exc.value)["goal"][1] == "is required but missing"
    assert str(path) in str(exc.value)


def test_unknown_platform_names_value_and_position(tmp_path):
    path = write(tmp_path, "c.yaml", GOOD.replace("[twitter, instagram, email]", "[twitter, myspace]"))
    with pytest.raises(BriefError) as exc:
        load_brief(path)
    value, message = problems(exc.value)["platforms[1]"]
    assert value == "myspace"
    assert "twitter" in message and "pinterest" in message
    assert "field 'platforms[1]' = 'myspace'" in str(exc.value)


def test_too_short_topic(tmp_path):
    path = write(tmp_path, "d.yaml", GOOD.replace("Spring launch of our new oat latte", "Oat"))
    with pytest.raises(BriefError) as exc:
        load_brief(path)
    value, message = problems(exc.value)["topic"]
    assert value == "Oat" and "at least 5 characters" in message


def test_malformed_yaml_gives_line(tmp_path):
    path = write(tmp_path, "e.yaml", GOOD + "platforms: [twitter\n  tone: : :\n")
    with pytest.raises(BriefError) as exc:
        load_brief(path)
    ((field, (value, message)),) = problems(exc.value).items()
    assert field == "(yaml)" and value.startswith("line ") and "malformed YAML" in message


def test_misspelled_field_is_rejected_not_ignored(tmp_path):
    path = write(tmp_path, "f.yaml", GOOD + "platfroms: [blog]\n")
    with pytest.raises(BriefError) as exc:
        load_brief(path)
    assert "not a known field" in problems(exc.value)["platfroms"][1]


@pytest.mark.parametrize(
    ("replace", "by", "field"),
    [
        ("id: spring-launch", "id: Spring Launch!", "id"),
        ("duration_days: 14", "duration_days: 0", "duration_days"),
        ("start_date: 2026-03-02", "start_date: next monday", "start_date"),
        ("[oat latte, dairy free coffee]", "[a, b, c, d, e, f, g, h, i, j, k]", "keywords"),
        ("[social_post, email]", "[social_post, tweetstorm]", "content_types[1]"),
        ("tone: casual", "tone: sarcastic", "tone"),
    ],
)
def test_each_bad_field_is_named(tmp_path, replace, by, field):
    with pytest.raises(BriefError) as exc:
        load_brief(write(tmp_path, "g.yaml", GOOD.replace(replace, by)))
    assert field in problems(exc.value)


def test_scan_keeps_good_briefs_and_reports_bad_and_duplicates(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)  # same id
    write(tmp_path, "c.yaml", "id: [unclosed\n")
    write(tmp_path, "notes.txt", "not a brief")
    scanned = {s.path.name: s for s in scan_briefs(tmp_path)}
    assert set(scanned) == {"a.yaml", "b.yaml", "c.yaml"}
    assert scanned["a.yaml"].ok
    assert not scanned["b.yaml"].ok and "already used by a.yaml" in str(scanned["b.yaml"].error)
    assert not scanned["c.yaml"].ok and "(yaml)" in str(scanned["c.yaml"].error)


def test_brand_profile_validation(tmp_path):
    brand = load_brand(Path(__file__).resolve().parents[1] / "data" / "brand.yaml")
    assert brand.name == "Hearth & Bean" and brand.tz.key == "Europe/London"
    bad = write(tmp_path, "brand.yaml", "name: X\nvoice: calm voice\ntimezone: Mars/Olympus\n")
    with pytest.raises(BriefError) as exc:
        load_brand(bad)
    assert problems(exc.value)["timezone"][0] == "Mars/Olympus"
    with pytest.raises(BriefError, match="brand profile not found"):
        load_brand(tmp_path / "missing.yaml")


def test_demo_briefs_are_valid():
    root = Path(__file__).resolve().parents[1] / "data" / "campaigns"
    scanned = scan_briefs(root)
    assert scanned and all(s.ok for s in scanned), [str(s.error) for s in scanned if s.error]
