"""File presets, validation and quarantine: the real Facebook export and small hand-made exports."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

from splants_dagster.engagement.files import FileRejected, LoadContext, parse_count, parse_file
from splants_dagster.engagement.presets import detect_preset, facebook_post_times

from .conftest import facebook_export

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def ctx(name: str = "test.csv", **kw) -> LoadContext:
    return LoadContext(source_file=name, export_time=NOW, loaded_at=NOW, last_date=NOW.date(), **kw)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------- facebook


def test_real_facebook_export_loads_496_rows_and_quarantines_the_four_impossible_ones():
    parsed = parse_file(facebook_export(), ctx("facebook_insights/dataset_Facebook.csv"))
    assert parsed.preset == "facebook_insights"  # detected from the header
    assert parsed.total == 500
    assert len(parsed.rows) == 496
    # the dataset README: lines 478, 479, 484, 494 have impressions below reach
    assert [q["line"] for q in parsed.quarantined] == [478, 479, 484, 494]
    assert all(q["reason"].startswith("impossible: impressions (") for q in parsed.quarantined)
    assert dict(parsed.reasons) == {"impossible_value": 4}
    rows = {r["line"]: r for r in parsed.rows}
    first = rows[2]  # 139441;Photo;2;12;4;3;0;2752;5091;178;109;159;...;4;79;17;100
    assert (first["impressions"], first["reach"], first["engagements"], first["clicks"]) == (
        5091,
        2752,
        178,
        159,
    )
    assert (first["likes"], first["comments"], first["shares"]) == (79, 4, 17)
    assert first["platform"] == "facebook" and first["piece_id"] is None
    assert first["external_id"] == "facebook:dataset_Facebook:L2"
    assert first["cumulative"] is True and first["is_demo"] is False
    # empty like/share cells (line 113: Total Interactions 0) become 0, as the README explains
    assert (rows[113]["likes"], rows[113]["shares"]) == (0, 0)
    assert rows[122]["shares"] == 0


def test_facebook_post_times_follow_month_weekday_hour_and_row_order():
    parsed = parse_file(facebook_export(), ctx())
    by_line = sorted(parsed.rows, key=lambda r: r["line"])
    times = [r["published_at"] for r in by_line]
    assert all(t.year == 2014 for t in times)
    # newest first: going down the file never moves forward in time
    assert all(a.date() >= b.date() for a, b in itertools.pairwise(times))
    raw = {int(line): cells for line, cells in _raw_lines(facebook_export())}
    for row in by_line:
        month, weekday, hour = (int(raw[row["line"]][i]) for i in (3, 4, 5))
        published = row["published_at"]
        assert (published.month, published.hour) == (month, hour)
        assert (published.weekday() + 1) % 7 + 1 == weekday  # 1 = Sunday ... 7 = Saturday
        assert row["event_date"] == published.date()
    posts = {p["piece_id"]: p for p in parsed.posts}
    assert posts["facebook:dataset_Facebook:L2"]["media_type"] == "photo"
    assert json.loads(posts["facebook:dataset_Facebook:L2"]["attributes"])["category"] == "2"


def _raw_lines(path: Path):
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines[1:], start=2):
        yield number, line.split(";")


def test_facebook_post_times_rejects_impossible_cells():
    times = facebook_post_times([(3, "13", "1", "5"), (2, "x", "1", "5")])
    assert "impossible post time" in times[3]
    assert "unparseable post time" in times[2]


# ------------------------------------------------------------------------------------------- presets


def test_generic_preset_aliases_delimiters_and_ids(tmp_path):
    path = write(
        tmp_path,
        "g.csv",
        "date;piece_id;post_id;channel;views;reach;likes;comments;shares;clicks\n"
        "2026-11-20;camp:twitter:social_post;;X;1,200;900;30;4;6;12\n"
        "2026-11-20;;abc;fb;500;400;10;1;1;3\n",
    )
    parsed = parse_file(path, ctx(known_pieces={"camp:twitter:social_post": "twitter"}))
    assert parsed.preset == "generic"
    ours, external = parsed.rows
    assert ours["piece_id"] == "camp:twitter:social_post" and ours["platform"] == "twitter"
    assert ours["impressions"] == 1200 and ours["engagements"] == 30 + 4 + 6 + 12
    assert ours["cumulative"] is False
    assert external["piece_id"] is None and external["external_id"] == "facebook:abc"


def test_x_analytics_csv_and_saved_api_response(tmp_path):
    csv_path = write(
        tmp_path,
        "tweets.csv",
        '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements","engagement rate",'
        '"retweets","replies","likes","user profile clicks","url clicks"\n'
        '"1799","https://x.com/a/status/1799","Pods that compost? Pre-order now #coffee","2026-11-18 09:15 +0000",'
        '"2500","120","0.048","10","5","80","3","22"\n',
    )
    ours = ctx(remote_ids={("twitter", "1799"): "camp:twitter:social_post"})
    (row,) = parse_file(csv_path, ours).rows
    assert row["piece_id"] == "camp:twitter:social_post"  # matched through publications.remote_id
    assert (row["impressions"], row["engagements"], row["shares"], row["comments"], row["clicks"]) == (
        2500,
        120,
        10,
        5,
        22,
    )
    assert row["published_at"] == dt.datetime(2026, 11, 18, 9, 15, tzinfo=dt.UTC)
    assert row["event_date"] == dt.date(2026, 11, 18) and row["cumulative"] is True
    api = {
        "data": [
            {
                "id": "1800",
                "text": "Hello",
                "created_at": "2026-11-19T10:00:00.000Z",
                "public_metrics": {
                    "retweet_count": 2,
                    "reply_count": 1,
                    "like_count": 7,
                    "quote_count": 1,
                    "bookmark_count": 0,
                    "impression_count": 300,
                },
            }
        ]
    }
    json_path = write(tmp_path, "tweets.json", json.dumps(api))
    parsed = parse_file(json_path, ctx())
    assert parsed.preset == "x_analytics"
    (row,) = parsed.rows
    assert row["external_id"] == "twitter:1800" and row["impressions"] == 300 and row["engagements"] == 11


def test_mailchimp_report_csv_and_json(tmp_path):
    csv_path = write(
        tmp_path,
        "mc.csv",
        "Unique Id,Title,Subject,List,Send Date,Total Recipients,Successful Deliveries,Soft Bounces,"
        "Hard Bounces,Total Bounces,Unique Opens,Open Rate,Total Opens,Unique Clicks,Click Rate,Total Clicks\n"
        'a1b2,Launch,Our pods are here,Main,"Nov 17, 2026 09:30 am",5000,4950,30,20,50,1600,32.3%,2400,180,3.6%,260\n',
    )
    (row,) = parse_file(csv_path, ctx()).rows
    assert row["platform"] == "email" and row["external_id"] == "email:a1b2"
    assert (
        row["impressions"],
        row["reach"],
        row["opens"],
        row["engagements"],
        row["clicks"],
        row["bounces"],
    ) == (5000, 4950, 1600, 1600, 180, 50)
    report = {
        "reports": [
            {
                "id": "c9",
                "subject_line": "Hi",
                "send_time": "2026-11-16T08:00:00+00:00",
                "emails_sent": 1000,
                "bounces": {"hard_bounces": 3, "soft_bounces": 2, "syntax_errors": 0},
                "opens": {"unique_opens": 400, "opens_total": 600},
                "clicks": {"unique_clicks": 55, "unique_subscriber_clicks": 50, "clicks_total": 70},
            }
        ]
    }
    parsed = parse_file(write(tmp_path, "mc.json", json.dumps(report)), ctx())
    (row,) = parsed.rows
    assert parsed.preset == "mailchimp_report"
    assert (row["impressions"], row["reach"], row["opens"], row["clicks"], row["bounces"]) == (
        1000,
        995,
        400,
        50,
        5,
    )


def test_detect_preset():
    assert detect_preset(["Tweet id", "time", "impressions"]) == "x_analytics"
    assert detect_preset(["Unique Opens", "Total Recipients"]) == "mailchimp_report"
    assert (
        detect_preset(["Lifetime Post Total Reach", "Lifetime Post Total Impressions"]) == "facebook_insights"
    )
    assert detect_preset(["platform", "date"]) == "generic"


# ---------------------------------------------------------------------------------------- quarantine


def test_bad_rows_are_quarantined_with_reason_and_line_and_good_rows_load(tmp_path):
    path = write(
        tmp_path,
        "mixed.csv",
        "date,piece_id,external_id,platform,impressions,reach,likes\n"
        "2026-11-20,,p1,twitter,100,80,5\n"  # line 2: good
        "2026-11-20,,p2,twitter,lots,80,5\n"  # 3: unparseable number
        "2026-11-20,,p3,twitter,100,80,-2\n"  # 4: negative count
        "2026-11-20,ghost:piece,,twitter,100,80,5\n"  # 5: unknown id
        "2026-11-20,,p5,twitter,50,80,5\n"  # 6: impressions < reach
        "2026-11-20,,p6,myspace,100,80,5\n"  # 7: unknown platform
        "2031-01-01,,p7,twitter,100,80,5\n"  # 8: future
        "2026-11-2x,,p8,twitter,100,80,5\n"  # 9: bad date
        "2026-11-20,,p9,twitter,100\n"  # 10: short row
        "2026-11-20,,p10,linkedin,200,150,9\n",  # 11: good
    )
    parsed = parse_file(path, ctx())
    assert [r["line"] for r in parsed.rows] == [2, 11]
    reasons = {q["line"]: q["reason"] for q in parsed.quarantined}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert reasons[3] == "unparseable number in 'impressions': 'lots'"
    assert reasons[4] == "negative count in 'likes': -2"
    assert reasons[5] == "unknown piece_id 'ghost:piece' (not a piece in content_pieces)"
    assert reasons[6] == "impossible: impressions (50) < reach (80)"
    assert reasons[7].startswith("unknown platform 'myspace'")
    assert reasons[8] == "date 2031-01-01 is in the future"
    assert reasons[9] == "unparseable date in 'date': '2026-11-2x'"
    assert reasons[10] == "5 fields, the header has 7"
    assert dict(parsed.reasons) == {
        "unparseable_number": 1,
        "negative_count": 1,
        "unknown_id": 1,
        "impossible_value": 1,
        "unknown_platform": 1,
        "date_out_of_range": 1,
        "unparseable_date": 1,
        "malformed_row": 1,
    }
    assert all(q["source_file"] == "test.csv" and q["raw"] for q in parsed.quarantined)


def test_wholly_bad_file_fails_loudly_naming_file_and_line(tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        "date,external_id,platform,impressions\n2026-11-20,p1,twitter,-5\n2026-11-21,p2,twitter,abc\n",
    )
    with pytest.raises(FileRejected) as caught:
        parse_file(path, ctx())
    message = str(caught.value)
    assert str(path) in message and "line 2" in message and "negative count in 'impressions': -5" in message
    assert "2 of 2 rows bad" in message
    assert [q["line"] for q in caught.value.quarantined] == [2, 3]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("date,platform\n", 2, "no data rows"),
        ("date,impressions\n2026-11-20,5\n", 1, "missing column(s) for preset generic: platform"),
    ],
)
def test_unusable_files(tmp_path, text, line, fragment):
    path = write(tmp_path, "f.csv", text)
    with pytest.raises(FileRejected) as caught:
        parse_file(path, ctx())
    assert caught.value.line == line and fragment in str(caught.value)


def test_facebook_preset_on_a_file_without_its_columns_names_them(tmp_path):
    path = write(tmp_path, "f.csv", "date,platform,impressions\n2026-11-20,facebook,5\n")
    with pytest.raises(FileRejected, match="line 1: missing column\\(s\\) for preset facebook_insights"):
        parse_file(path, ctx(), "facebook_insights")


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1234", 1234), ("1,234", 1234), ("12.0", 12), ("", None), (7, 7), (2**63 - 1, 2**63 - 1)],
)
def test_parse_count_accepts(raw, value):
    assert parse_count("c", raw) == value


@pytest.mark.parametrize(
    "raw",
    ["1.5", "abc", "1e3", True, float("nan"), float("inf"), 2**63, 1e300, "99999999999999999999999"],
)
def test_parse_count_rejects(raw):
    with pytest.raises(ValueError):
        parse_count("c", raw)


def test_counts_above_bigint_are_out_of_range_not_a_failed_load():
    with pytest.raises(ValueError, match=r"count out of range in 'likes': 1e\+300") as caught:
        parse_count("likes", 1e300)
    assert caught.value.code == "number_out_of_range"


def test_saved_api_records_of_the_wrong_shape_are_bad_rows(tmp_path):
    tweets = {
        "data": [
            {"id": "1", "created_at": "2026-11-20T10:00:00Z", "public_metrics": ["not", "an", "object"]},
            {"id": "2", "created_at": "2026-11-20T10:00:00Z", "public_metrics": {"impression_count": "inf"}},
            {"id": "3", "created_at": "2026-11-20T10:00:00Z", "public_metrics": {"impression_count": 50}},
        ]
    }
    parsed = parse_file(write(tmp_path, "tweets.json", json.dumps(tweets)), ctx())
    assert [r["external_id"] for r in parsed.rows] == ["twitter:3"]
    assert [(q["line"], q["reason_code"]) for q in parsed.quarantined] == [
        (1, "malformed_row"),
        (2, "malformed_row"),
    ]
    assert parsed.quarantined[0]["reason"].startswith("unreadable record: AttributeError")


def test_inbox_listing_and_preset_folders(tmp_path):
    from splants_dagster.engagement.files import inbox_files, preset_for

    inbox = tmp_path / "inbox"
    for name in (
        "a.csv",
        "facebook_insights/fb.csv",
        "processed/old.csv",
        ".hidden.csv",
        "x/y/deep.csv",
        "notes.md",
        "mailchimp_report/r.json",
    ):
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = [str(p.relative_to(inbox)) for p in inbox_files(inbox)]
    assert found == ["a.csv", "facebook_insights/fb.csv", "mailchimp_report/r.json"]
    assert [preset_for(inbox, inbox / f) for f in found] == [None, "facebook_insights", "mailchimp_report"]
