"""Features known before a piece is published, the trailing baseline it is judged against, and the
training set built from published pieces.

Only what exists at publish time may be an input: the text, the slot (platform, content type, hour and
weekday in the brand's timezone), the tone, the paid flag, the variant dimension. Anything measured after
publication (reach, impressions, likes, comments, shares, clicks, engagement rate, ...) is refused by
:func:`check_pre_publication`, because a model fed the answer looks excellent and is useless.

The target is relative: ``log((y + c) / (m + c))`` where ``m`` is the trailing median of the same
account's (platform's) previous posts, known when the post goes out, and ``c`` a small offset so that
zeros are allowed. Engagement grows or shrinks with the audience; the relative target removes that drift
and the model multiplies its prediction back onto the baseline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from splants_dagster.content.scoring import CTA_WORDS
from splants_dagster.qa.flesch import measure
from splants_dagster.text import URL, contains_phrase, hashtags, normalise, sentences, words

MISSING = "(missing)"

# Internal columns of a prepared frame (user columns may not start with "_").
TIME, ROW, ACTUAL, BASELINE, HISTORY, TARGET = "_time", "_row", "_actual", "_baseline", "_history", "_target"


class LeakageError(ValueError):
    """A feature that is only known after publishing (or the target itself) was asked for."""


# Normalised names of columns measured after publication (warehouse engagement columns, platform exports,
# the Facebook Insights export).
POST_PUBLICATION_COLUMNS = frozenset(
    {
        "like",
        "likes",
        "comment",
        "comments",
        "share",
        "shares",
        "total interactions",
        "interactions",
        "impressions",
        "reach",
        "engagements",
        "engagement",
        "engagement rate",
        "engaged users",
        "clicks",
        "click through",
        "ctr",
        "opens",
        "open rate",
        "bounces",
        "bounce rate",
        "saves",
        "views",
        "video views",
        "retweets",
        "replies",
        "reactions",
        "conversions",
        "baseline engagement rate",
        "baseline impressions",
        "baseline bounce rate",
        "observed at",
        "loaded at",
    }
)
_POST_PUBLICATION_PATTERN = re.compile(
    r"^lifetime\b|\bimpressions?\b|\breach\b|\bengag|\bconsum|\binteractions?\b|\bclicks?\b|\bbounce"
    r"|\bconversions?\b|\bretweets?\b|\breactions?\b|\bctr\b|\bclick through\b"
)


def _normalised_name(column: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", column.lower()).split())


def is_post_publication(column: str) -> bool:
    """True for a column measured after publishing (by name: exact known names and tell-tale words).

    ``Page total likes`` (the audience size when the post went out) is a pre-publication input; ``like``
    (likes the post got) is not.
    """
    name = _normalised_name(column)
    return name in POST_PUBLICATION_COLUMNS or _POST_PUBLICATION_PATTERN.search(name) is not None


def check_pre_publication(columns: Iterable[str], target: str | None = None) -> None:
    """Raise :class:`LeakageError` naming every column that cannot be known before publishing."""
    cols = [c for c in columns if c]
    problems = []
    if target is not None and target in cols:
        problems.append(f"{target!r} is the target")
    problems += [
        f"{c!r} is measured after publication" for c in cols if c != target and is_post_publication(c)
    ]
    problems += [f"{c!r} starts with '_', which is reserved" for c in cols if c.startswith("_")]
    if problems:
        raise LeakageError(
            "refusing feature column(s): " + "; ".join(problems) + ". Inputs must be known before publishing."
        )


@dataclass(frozen=True)
class FeatureSpec:
    """Which input columns the model uses. Validated against leakage on construction."""

    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    text: str | None = None
    keywords: str | None = None  # a column holding a list of keywords (for keyword coverage)

    def __post_init__(self) -> None:
        object.__setattr__(self, "categorical", tuple(self.categorical))
        object.__setattr__(self, "numeric", tuple(self.numeric))
        check_pre_publication(self.columns)
        dupes = {c for c in self.columns if self.columns.count(c) > 1}
        if dupes:
            raise ValueError(f"column(s) listed twice in the feature spec: {sorted(dupes)}")

    @property
    def columns(self) -> list[str]:
        cols = [*self.categorical, *self.numeric]
        cols += [c for c in (self.text, self.keywords) if c]
        return cols

    def as_dict(self) -> dict[str, Any]:
        return {
            "categorical": list(self.categorical),
            "numeric": list(self.numeric),
            "text": self.text,
            "keywords": self.keywords,
        }


# --- text features ----------------------------------------------------------------------------------

TEXT_FEATURES = (
    "chars",
    "words",
    "sentences",
    "words_per_sentence",
    "reading_ease",
    "questions",
    "exclamations",
    "has_cta",
    "hashtags",
    "links",
    "numbers",
    "emoji",
    "sentiment",
    "keyword_coverage",
)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f1e6-\U0001f1ff]")
_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)?%?")
# A deliberately small polarity lexicon: marketing copy is overwhelmingly positive, so the signal is the
# balance, not fine shades.
_POSITIVE = frozenset(
    [
        "amazing",
        "awesome",
        "beautiful",
        "best",
        "better",
        "boost",
        "delight",
        "delightful",
        "easy",
        "effortless",
        "enjoy",
        "excellent",
        "exciting",
        "fantastic",
        "fast",
        "favourite",
        "favorite",
        "free",
        "fresh",
        "fun",
        "gain",
        "glad",
        "good",
        "great",
        "happy",
        "healthy",
        "ideal",
        "incredible",
        "joy",
        "love",
        "lovely",
        "perfect",
        "pleased",
        "proud",
        "quality",
        "reliable",
        "safe",
        "save",
        "simple",
        "smart",
        "success",
        "successful",
        "superb",
        "thrilled",
        "top",
        "trusted",
        "win",
        "wonderful",
    ]
)
_NEGATIVE = frozenset(
    [
        "angry",
        "annoying",
        "awful",
        "bad",
        "broken",
        "costly",
        "danger",
        "difficult",
        "disappoint",
        "disappointed",
        "fail",
        "failure",
        "fear",
        "hard",
        "hate",
        "lose",
        "loss",
        "mess",
        "miss",
        "painful",
        "poor",
        "problem",
        "problems",
        "risk",
        "sad",
        "scam",
        "slow",
        "stress",
        "struggle",
        "terrible",
        "tired",
        "toxic",
        "trouble",
        "ugly",
        "waste",
        "worried",
        "worse",
        "worst",
        "wrong",
    ]
)


def sentiment(text: str) -> float:
    """(positive - negative) / (positive + negative) over a small lexicon; 0 when neither appears."""
    tokens = normalise(text)
    pos = sum(t in _POSITIVE for t in tokens)
    neg = sum(t in _NEGATIVE for t in tokens)
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


def text_features(text: str | None, keywords: Sequence[str] = ()) -> dict[str, float]:
    """Numeric features of a text as it will be published (all computable before publishing)."""
    text = text or ""
    n_words = len(words(text))
    n_sentences = len(sentences(text))
    kws = [k for k in keywords if k]
    return {
        "chars": float(len(text)),
        "words": float(n_words),
        "sentences": float(n_sentences),
        "words_per_sentence": n_words / n_sentences if n_sentences else 0.0,
        "reading_ease": measure(text).flesch_reading_ease if n_words else 0.0,
        "questions": float(text.count("?")),
        "exclamations": float(text.count("!")),
        "has_cta": 1.0 if CTA_WORDS.search(text) else 0.0,
        "hashtags": float(len(hashtags(text))),
        "links": float(len(URL.findall(text))),
        "numbers": float(len(_NUMBER.findall(URL.sub("", text)))),
        "emoji": float(len(_EMOJI.findall(text))),
        "sentiment": sentiment(text),
        "keyword_coverage": (sum(contains_phrase(text, k) for k in kws) / len(kws)) if kws else 0.0,
    }


def _keyword_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    return [str(k) for k in value]


def text_feature_frame(texts: pd.Series, keywords: pd.Series | None = None) -> pd.DataFrame:
    """One row of :data:`TEXT_FEATURES` per text (columns prefixed ``text_``)."""
    kw = keywords if keywords is not None else pd.Series([None] * len(texts), index=texts.index)
    rows = [
        text_features(t if isinstance(t, str) else "", _keyword_list(k))
        for t, k in zip(texts.tolist(), kw.tolist(), strict=True)
    ]
    frame = pd.DataFrame(rows, index=texts.index, columns=list(TEXT_FEATURES))
    return frame.add_prefix("text_")


# --- value handling ---------------------------------------------------------------------------------


def categorical_values(series: pd.Series) -> pd.Series:
    """Categories as strings; empty cells become ``(missing)`` (their own category, stated explicitly),
    and whole-number floats (``1.0`` from a column with an empty cell) read as ``1``."""

    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            return MISSING
        if isinstance(v, bool | np.bool_):
            return "true" if v else "false"
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return text or MISSING

    return pd.Series([one(v) for v in series.tolist()], index=series.index, dtype=object)


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_COMMA_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_DOT_GROUPED_COMMA_DECIMAL = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")


def parse_number_column(series: pd.Series) -> tuple[pd.Series, str | None]:
    """A column of numbers written as text by a spreadsheet or an export, as floats, and how it was read.

    Plain numbers are read as they are. ``1,234`` and ``12,345.6`` (commas grouping thousands, in every
    value that has a comma) lose their commas. ``1.234,5`` and ``12,5`` (a decimal comma, proven by a value
    with both separators or a comma followed by other than three digits) are read the European way. A
    column where neither reading fits every value is left to ``pd.to_numeric`` (unreadable cells → NaN).
    The note (None when nothing was converted) says which reading was used, for the notes of a run.
    """
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.to_numeric(series, errors="coerce"), None
    text = series.dropna().astype(str).str.strip().str.replace("\u00a0", "", regex=False)
    text = text[text != ""]
    plain = text.map(lambda v: bool(_PLAIN_NUMBER.fullmatch(v)))
    if plain.all():
        return pd.to_numeric(series, errors="coerce"), None
    rest = text[~plain]
    if rest.map(lambda v: bool(_COMMA_GROUPED.fullmatch(v))).all():
        cleaned = series.astype(str).str.strip().str.replace("\u00a0", "", regex=False).str.replace(",", "")
        values = pd.to_numeric(cleaned.where(series.notna()), errors="coerce")
        return values, f"',' read as a thousands separator ({rest.iloc[0]!r} → {values.loc[rest.index[0]]:g})"
    european = text.map(lambda v: bool(_DOT_GROUPED_COMMA_DECIMAL.fullmatch(v)))
    proof = text.map(lambda v: "," in v and ("." in v or not re.search(r",\d{3}$", v)))
    if european.all() and proof.any():
        cleaned = (
            series.astype(str)
            .str.strip()
            .str.replace("\u00a0", "", regex=False)
            .str.replace(".", "", regex=False)
        ).str.replace(",", ".", regex=False)
        values = pd.to_numeric(cleaned.where(series.notna()), errors="coerce")
        example = text[proof].iloc[0]
        return (
            values,
            f"',' read as the decimal mark, '.' as a thousands separator ({example!r} → {values.loc[text[proof].index[0]]:g})",
        )
    return pd.to_numeric(series, errors="coerce"), None


def numeric_values(series: pd.Series) -> pd.Series:
    """Numbers as floats; empty or non-numeric cells become NaN (imputed inside the model pipeline)."""
    if series.dtype == bool:
        return series.astype(float)
    return pd.to_numeric(series, errors="coerce").astype(float)


def log_offset(values: pd.Series | np.ndarray, mode: str | float = "auto") -> float:
    """The ``c`` in ``log(y + c)``: 1 for counts (whole numbers), else 1% of the median positive value."""
    if not isinstance(mode, str):
        return float(mode)
    if mode != "auto":
        return float(mode)
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size and np.all(np.equal(np.mod(arr, 1), 0)):
        return 1.0
    positive = arr[arr > 0]
    return float(0.01 * np.median(positive)) if positive.size else 1e-6


def to_log(values: Any, offset: float) -> np.ndarray:
    return np.log(np.asarray(values, dtype=float) + offset)


def from_log(values: Any, offset: float) -> np.ndarray:
    return np.maximum(np.exp(np.asarray(values, dtype=float)) - offset, 0.0)


# --- the trailing baseline --------------------------------------------------------------------------


def _trailing(values: pd.Series, window: int, gap: int) -> tuple[pd.Series, pd.Series]:
    past = values.shift(1 + gap)
    rolled = past.rolling(window, min_periods=1)
    return rolled.median(), past.rolling(window, min_periods=0).count()


def trailing_median(
    values: pd.Series, window: int, gap: int = 0, groups: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """For each row (ordered oldest first), the median of the previous ``window`` rows' values and how
    many observations it used.

    Only rows strictly before the current one count, skipping the ``gap`` most recent (for targets that
    are not final until some time after publishing). Empty values are skipped. With ``groups`` (e.g. the
    platform) the median is taken within the row's group; a row whose group has no history yet falls back
    to the median over all groups.
    """
    if window < 1 or gap < 0:
        raise ValueError("window must be >= 1 and gap >= 0")
    values = values.astype(float)
    overall, overall_n = _trailing(values, window, gap)
    if groups is None:
        return overall, overall_n.astype(int)
    keys = categorical_values(groups)
    median = pd.Series(np.nan, index=values.index)
    count = pd.Series(0.0, index=values.index)
    for _, idx in keys.groupby(keys).groups.items():
        m, n = _trailing(values.loc[idx], window, gap)
        median.loc[idx] = m
        count.loc[idx] = n
    no_history = count == 0
    median[no_history] = overall[no_history]
    count[no_history] = overall_n[no_history]
    return median, count.astype(int)


WINDOW_CANDIDATES = (5, 10, 20, 40)
DEFAULT_WINDOW = 20


def select_window(
    values: pd.Series,
    offset: float,
    gap: int = 0,
    groups: pd.Series | None = None,
    candidates: Sequence[int] = WINDOW_CANDIDATES,
) -> tuple[int, dict[int, float]]:
    """The trailing window whose median best predicts ``values`` (MAE of the log) over the given rows.

    Call it with the training rows only. Rows are scored only once every candidate has a full window, so
    all candidates are compared on the same rows; with fewer than 20 such rows the default is kept.
    """
    largest = max(candidates)
    scores: dict[int, float] = {}
    results = {k: trailing_median(values, k, gap, groups) for k in candidates}
    eligible = (results[largest][1] >= largest) & values.notna()
    if int(eligible.sum()) < 20:
        return DEFAULT_WINDOW, {}
    y = to_log(values[eligible], offset)
    for k, (median, _) in results.items():
        scores[k] = float(np.mean(np.abs(y - to_log(median[eligible], offset))))
    best = min(candidates, key=lambda k: (scores[k], k))
    return best, scores


# --- the prepared training set ----------------------------------------------------------------------


@dataclass
class TrainingSet:
    """Rows ordered oldest first, with the features, the actual value, the trailing baseline and the
    relative target; plus everything needed to reproduce the target (offset, window, gap, grouping).

    Columns: the feature columns of ``spec``; ``_time`` (publish time or order), ``_row`` (position in the
    source), ``_actual``, ``_baseline`` (trailing median known at publish time), ``_history`` (how many
    past observations the baseline used) and ``_target`` = log((actual + c) / (baseline + c)).
    """

    frame: pd.DataFrame
    spec: FeatureSpec
    target_name: str
    offset: float
    window: int
    gap: int = 0
    group: str | None = None
    n_train: int | None = None  # rows in the training split (the rest, newest, is the test split)
    min_history: int = 5
    notes: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def fit_mask(self, rows: pd.Index | None = None) -> pd.Series:
        """Rows whose relative target is trustworthy enough to fit on (enough baseline history)."""
        frame = self.frame if rows is None else self.frame.loc[rows]
        return frame[TARGET].notna() & (frame[HISTORY] >= min(self.min_history, self.window))

    def describe(self) -> dict[str, Any]:
        return {
            "target": self.target_name,
            "rows": len(self.frame),
            "offset": self.offset,
            "window": self.window,
            "gap": self.gap,
            "group": self.group,
            "features": self.spec.as_dict(),
            **({"notes": self.notes} if self.notes else {}),
        }


def attach_baseline(
    frame: pd.DataFrame, offset: float, window: int, gap: int = 0, group: str | None = None
) -> pd.DataFrame:
    """Add ``_baseline``, ``_history`` and ``_target`` to a frame ordered oldest first with ``_actual``."""
    out = frame.copy()
    groups = out[group] if group else None
    out[BASELINE], out[HISTORY] = trailing_median(out[ACTUAL], window, gap, groups)
    out[TARGET] = to_log(out[ACTUAL], offset) - to_log(out[BASELINE], offset)
    return out


# --- published pieces → training set (what the Dagster assets use) -----------------------------------

PIECE_SPEC = FeatureSpec(
    categorical=("platform", "content_type", "tone", "paid", "variant_dimension", "weekday"),
    numeric=("hour",),
    text="text",
    keywords="keywords",
)


def piece_frame(
    pieces: pd.DataFrame, tz: str | ZoneInfo = "UTC", time_column: str = "published_at"
) -> pd.DataFrame:
    """The model inputs of pieces (published or not) from their content rows.

    Expects ``piece_id``, ``platform``, ``content_type`` and any of ``tone``, ``paid``,
    ``variant_dimension``, ``rendered``/``body``, ``keywords`` and ``time_column`` (publish time; for an
    unpublished piece its scheduled slot, if any). Hour and weekday are taken in the brand's timezone.
    Post-publication columns in ``pieces`` are ignored: only the columns above are read.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    n = len(pieces)

    def col(name: str, default: Any = None) -> pd.Series:
        return pieces[name] if name in pieces.columns else pd.Series([default] * n, index=pieces.index)

    text = col("rendered").where(col("rendered").fillna("").astype(str).str.strip() != "", col("body"))
    when = pd.to_datetime(col(time_column), utc=True, errors="coerce")
    local = when.dt.tz_convert(zone)
    out = pd.DataFrame(
        {
            "piece_id": col("piece_id").astype(str),
            "platform": categorical_values(col("platform")),
            "content_type": categorical_values(col("content_type")),
            "tone": categorical_values(col("tone")),
            "paid": categorical_values(col("paid")),
            "variant_dimension": categorical_values(col("variant_dimension").fillna("none")),
            "weekday": categorical_values(local.dt.day_name().str[:3]),
            "hour": local.dt.hour.astype(float),
            "text": text.fillna("").astype(str),
            "keywords": col("keywords"),
            "published_at": when,
        },
        index=pieces.index,
    )
    return out


def piece_outcomes(
    metrics: pd.DataFrame, as_of: pd.Timestamp | None = None, min_age_days: float = 2.0
) -> pd.DataFrame:
    """One row per published piece from ``engagement_metrics``: platform, publish time and the lifetime
    engagement rate (summed engagements / summed impressions over its daily rows; the mean of the daily
    ``engagement_rate`` where impressions are missing).

    Pieces younger than ``min_age_days`` at ``as_of`` are left out: their engagement is not final.
    """
    if metrics.empty:
        return pd.DataFrame(columns=["piece_id", "platform", "published_at", "external", "engagement_rate"])
    m = metrics.copy()
    m["published_at"] = pd.to_datetime(m["published_at"], utc=True, errors="coerce")
    for c in ("engagements", "impressions", "engagement_rate"):
        m[c] = pd.to_numeric(m[c], errors="coerce") if c in m.columns else np.nan
    if "external" not in m.columns:
        m["external"] = False
    grouped = m.groupby("piece_id", sort=False)
    out = pd.DataFrame(
        {
            "platform": grouped["platform"].first(),
            "published_at": grouped["published_at"].min(),
            "external": grouped["external"].max().fillna(False).astype(bool),
            "engagements": grouped["engagements"].sum(min_count=1),
            "impressions": grouped["impressions"].sum(min_count=1),
            "mean_rate": grouped["engagement_rate"].mean(),
        }
    ).reset_index()
    ratio = out["engagements"] / out["impressions"].where(out["impressions"] > 0)
    out["engagement_rate"] = ratio.where(ratio.notna(), out["mean_rate"])
    out = out[out["published_at"].notna() & out["engagement_rate"].notna()]
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    out = out[(now - out["published_at"]) >= pd.Timedelta(days=min_age_days)]
    return out[["piece_id", "platform", "published_at", "external", "engagement_rate"]].reset_index(drop=True)


def build_training_set(
    pieces: pd.DataFrame,
    metrics: pd.DataFrame,
    tz: str | ZoneInfo = "UTC",
    *,
    window: int = DEFAULT_WINDOW,
    gap: int = 0,
    min_age_days: float = 2.0,
    as_of: pd.Timestamp | None = None,
    offset: str | float = "auto",
) -> TrainingSet:
    """One row per published piece: pre-publication features and the target
    ``log((rate + c) / (trailing platform median + c))``.

    ``pieces``: content rows (see :func:`piece_frame`); ``metrics``: ``engagement_metrics`` rows (see
    :func:`piece_outcomes`). The trailing platform median is taken over every published post the account
    has on that platform, external history included, strictly before the piece went out.
    """
    outcomes = piece_outcomes(metrics, as_of, min_age_days).sort_values(
        ["published_at", "piece_id"], kind="mergesort"
    )
    outcomes = outcomes.rename(columns={"engagement_rate": ACTUAL}).reset_index(drop=True)
    c = log_offset(outcomes[ACTUAL], offset)
    outcomes[TIME] = outcomes["published_at"]
    outcomes[ROW] = np.arange(1, len(outcomes) + 1)
    with_baseline = attach_baseline(outcomes, c, window, gap, group="platform")
    features = piece_frame(pieces, tz).drop(columns=["platform", "published_at"])
    frame = with_baseline.merge(features, on="piece_id", how="inner", validate="one_to_one")
    frame = frame.sort_values([TIME, "piece_id"], kind="mergesort").reset_index(drop=True)
    cols = ["piece_id", *PIECE_SPEC.columns, TIME, ROW, ACTUAL, BASELINE, HISTORY, TARGET]
    return TrainingSet(
        frame=frame[cols],
        spec=PIECE_SPEC,
        target_name="engagement_rate",
        offset=c,
        window=window,
        gap=gap,
        group="platform",
        notes={"history_posts": len(outcomes), "external_posts": int(outcomes["external"].sum())},
    )
