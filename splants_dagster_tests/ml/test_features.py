"""Features known before publishing, the leakage guard and the trailing baseline."""

import numpy as np
import pandas as pd
import pytest

from splants_dagster.ml.features import (
    BASELINE,
    MISSING,
    PIECE_SPEC,
    TARGET,
    FeatureSpec,
    LeakageError,
    build_training_set,
    categorical_values,
    check_pre_publication,
    is_post_publication,
    log_offset,
    piece_frame,
    select_window,
    text_features,
    trailing_median,
)
from splants_dagster.ml.models import Candidate, design_frame, fit_model
from splants_dagster.ml.training import prepare_history
from splants_dagster_tests.ml import synthetic

FACEBOOK_OUTPUTS = [
    "Lifetime Post Total Reach",
    "Lifetime Post Total Impressions",
    "Lifetime Engaged Users",
    "Lifetime Post Consumers",
    "Lifetime Post Consumptions",
    "Lifetime Post Impressions by people who have liked your Page",
    "Lifetime Post reach by people who like your Page",
    "Lifetime People who have liked your Page and engaged with your post",
    "comment",
    "like",
    "share",
    "Total Interactions",
]
WAREHOUSE_OUTCOMES = [
    "impressions",
    "reach",
    "engagements",
    "clicks",
    "engagement_rate",
    "bounce_rate",
    "likes",
]


@pytest.mark.parametrize("column", FACEBOOK_OUTPUTS + WAREHOUSE_OUTCOMES)
def test_post_publication_columns_are_refused(column):
    assert is_post_publication(column)
    with pytest.raises(LeakageError, match="measured after publication"):
        FeatureSpec(numeric=("Post Hour", column))


@pytest.mark.parametrize(
    "column", ["Page total likes", "Type", "Category", "Post Month", "Post Weekday", "Post Hour", "Paid"]
)
def test_pre_publication_inputs_are_accepted(column):
    assert not is_post_publication(column)
    FeatureSpec(categorical=(column,))


def test_target_as_input_is_refused():
    with pytest.raises(LeakageError, match="is the target"):
        check_pre_publication(["followers", "consumers"], target="consumers")
    with pytest.raises(LeakageError):
        prepare_history(
            synthetic.history(50),
            target="consumers",
            spec=FeatureSpec(numeric=("consumers",)),
            time_column="published",
        )


def test_columns_outside_the_spec_are_never_read():
    """A post-publication column that equals the answer sits in the frame; the model never sees it:
    scrambling it leaves the design matrix and the predictions unchanged."""
    spec = FeatureSpec(categorical=("type",), numeric=("hour", "followers"))
    ts = prepare_history(synthetic.history(200), target="consumers", spec=spec, time_column="published")
    frame = ts.frame.copy()
    frame["likes"] = frame["_actual"]
    design = design_frame(frame, spec, ts.offset)
    assert "likes" not in design.columns and "_actual" not in design.columns
    model = fit_model(ts, Candidate.of("linear", alpha=1.0))
    scrambled = frame.assign(likes=np.random.default_rng(0).permutation(frame["likes"].to_numpy()))
    assert np.allclose(model.predict(frame), model.predict(scrambled))
    assert "likes" not in ts.frame.columns


def test_piece_frame_reads_only_pre_publication_columns():
    pieces, _ = synthetic.pieces_and_metrics(10)
    frame = piece_frame(pieces, "Europe/Berlin")
    assert "impressions" not in frame.columns
    assert set(PIECE_SPEC.columns) <= set(frame.columns)
    # 08:00 UTC in January is 09:00 in Berlin
    first = pieces["published_at"].iloc[0].tz_convert("Europe/Berlin")
    assert frame["hour"].iloc[0] == first.hour
    assert frame["weekday"].iloc[0] == first.day_name()[:3]


def test_trailing_median_uses_only_the_past():
    values = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    median, count = trailing_median(values, window=3)
    assert np.isnan(median[0]) and count[0] == 0
    assert list(median[1:]) == [10.0, 15.0, 20.0, 30.0, 40.0]
    assert list(count) == [0, 1, 2, 3, 3, 3]
    changed = values.copy()
    changed[4:] = 1e6  # the future changes, earlier baselines must not
    again, _ = trailing_median(changed, window=3)
    assert list(again[:5].fillna(-1)) == list(median[:5].fillna(-1))


def test_trailing_median_gap_and_groups():
    values = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0])
    median, _ = trailing_median(values, window=2, gap=1)
    assert np.isnan(median[1]) and median[2] == 10.0 and median[4] == 25.0
    groups = pd.Series(["a", "b", "a", "b", "a"])
    grouped, n = trailing_median(values, window=5, groups=groups)
    assert grouped[2] == 10.0 and grouped[3] == 20.0 and grouped[4] == 20.0
    # the first post of group b has no history in b: it falls back to the all-groups median
    assert grouped[1] == 10.0 and n[1] == 1


def test_select_window_uses_given_rows():
    rng = np.random.default_rng(0)
    level = np.repeat([100.0, 400.0, 50.0, 300.0], 40)  # regime changes: short windows win
    values = pd.Series(level * rng.lognormal(0, 0.05, size=level.size))
    best, scores = select_window(values, 1.0)
    assert best == 5 and set(scores) == {5, 10, 20, 40}


def test_value_handling():
    assert list(categorical_values(pd.Series([1.0, np.nan, 0.0]))) == ["1", MISSING, "0"]
    assert list(categorical_values(pd.Series(["Photo", " ", None]))) == ["Photo", MISSING, MISSING]
    assert log_offset(pd.Series([0, 3, 10])) == 1.0
    assert log_offset(pd.Series([0.0, 0.02, 0.04])) == pytest.approx(0.0003)
    assert log_offset(pd.Series([1, 2]), 0.5) == 0.5


def test_text_features():
    text = "Big news! Try our 3 new blends today 🎉 Is your cup green? https://x.example/a #eco #pods"
    f = text_features(text, ["new blends", "decaf"])
    assert f["questions"] == 1 and f["exclamations"] == 1
    assert f["has_cta"] == 1 and f["hashtags"] == 2 and f["links"] == 1
    assert f["numbers"] == 1 and f["emoji"] == 1
    assert f["keyword_coverage"] == 0.5
    assert f["sentiment"] == 0.0
    assert text_features("What a terrible, awful mess")["sentiment"] == -1.0
    assert text_features("")["words"] == 0


def test_build_training_set_target_is_relative_to_the_platform_baseline():
    pieces, metrics = synthetic.pieces_and_metrics(60)
    as_of = pieces["published_at"].iloc[-1] + pd.Timedelta(days=1)  # the newest piece is 1 day old
    external = metrics[metrics["piece_id"] == pieces["piece_id"].iloc[0]].assign(
        piece_id="external-1", external=True
    )
    ts = build_training_set(pieces, pd.concat([metrics, external]), "UTC", window=5, as_of=as_of)
    frame = ts.frame
    assert pieces["piece_id"].iloc[-1] not in set(frame["piece_id"])  # not final yet
    assert "external-1" not in set(frame["piece_id"]) and ts.notes["external_posts"] == 1
    assert len(frame) == 59 and ts.spec == PIECE_SPEC and ts.group == "platform"
    assert frame["_time"].is_monotonic_increasing
    all_posts = (
        pd.concat([metrics, external])
        .groupby("piece_id")
        .agg(
            platform=("platform", "first"),
            published_at=("published_at", "min"),
            rate=("engagements", "sum"),
            impressions=("impressions", "sum"),
        )
    )
    all_posts["rate"] /= all_posts["impressions"]
    for i in (10, 30, 58):
        row = frame.iloc[i]
        assert row["_actual"] == pytest.approx(all_posts.loc[row["piece_id"], "rate"])
        earlier = all_posts[
            (all_posts["published_at"] < row["_time"]) & (all_posts["platform"] == row["platform"])
        ].sort_values("published_at")
        assert row[BASELINE] == pytest.approx(np.median(earlier["rate"].to_numpy()[-5:]))
        expected = np.log(row["_actual"] + ts.offset) - np.log(row[BASELINE] + ts.offset)
        assert row[TARGET] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "expected", "how"),
    [
        (["1,234", "56", "7,890.5", None], [1234.0, 56.0, 7890.5, None], "thousands separator"),
        (["1.234,5", "12,5", "7"], [1234.5, 12.5, 7.0], "decimal mark"),
        (["12,5", "3,25"], [12.5, 3.25], "decimal mark"),
        (["1,500", "2,250"], [1500.0, 2250.0], "thousands separator"),
        (["1.500", "2.250"], [1.5, 2.25], None),  # plain decimals: read as they are
        (["abc", "1,2,3"], [None, None], None),  # no reading fits: left unreadable
    ],
)
def test_numbers_written_by_spreadsheets(values, expected, how):
    from splants_dagster.ml.features import parse_number_column

    parsed, note = parse_number_column(pd.Series(values, dtype=object))
    assert [None if pd.isna(v) else v for v in parsed] == expected
    assert (note is None) if how is None else (how in note)


def test_a_target_with_thousands_separators_is_read_and_a_text_target_is_refused():
    from splants_dagster.ml.training import prepare_history

    df = synthetic.history(120, seed=3)
    shown = df.assign(consumers=[f"{v:,}" for v in df["consumers"]])
    spec = FeatureSpec(categorical=("type",))
    ts = prepare_history(shown, target="consumers", spec=spec, time_column="published")
    assert ts.frame["_actual"].sum() == df["consumers"].sum()
    assert "thousands separator" in ts.notes["number_format"]["consumers"]
    with pytest.raises(ValueError, match="target 'type': 120 of 120 values are not numbers"):
        prepare_history(df, target="type", spec=FeatureSpec(categorical=("hour",)), time_column="published")
