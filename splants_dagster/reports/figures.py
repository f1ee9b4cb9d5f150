"""The figures of one report, read from the ``analytics`` views (never computed a second way), so every
number in a report equals what an analyst gets from the same view with the same filter.

Filters, for every section:
- engagement, anomalies and best/worst pieces: ``date`` between the period's first and last day (the
  warehouse's engagement days, UTC); publications and A/B decisions: their timestamp's date in the brand's
  timezone; spend: ``analytics.cost_daily.date`` (UTC days); budget: the latest ``analytics.budget_status``
  row before the end of the period.
- real or simulated: when the period has real engagement (``is_demo = false``), simulated rows are left out
  (and counted); when it has only simulated rows, the report is built from them and labelled DEMO.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from splants_dagster.reports.periods import Period

Query = Callable[[str, Sequence[Any]], list[dict[str, Any]]]

BEST_WORST = 5  # pieces in each of the best and the worst lists
MIN_IMPRESSIONS = 100  # a piece needs this many impressions in the period to be ranked
MAX_LISTED = 30  # rows listed per table in the HTML (counts always cover every row)

DEMO_SPLIT_SQL = """
    SELECT count(*) FILTER (WHERE NOT coalesce(is_demo, false)) AS real_rows,
           count(*) FILTER (WHERE coalesce(is_demo, false)) AS demo_rows
    FROM analytics.engagement_daily WHERE date BETWEEN ? AND ?
"""

# engagement against baseline: the baseline is the impression-weighted mean of each piece-day's
# baseline_engagement_rate (the rate had every piece-day done as well as its platform's trailing baseline)
_ENGAGEMENT_COLUMNS = """
    count(DISTINCT piece_id || '|' || platform) AS pieces,
    coalesce(sum(impressions), 0) AS impressions, coalesce(sum(engagements), 0) AS engagements,
    coalesce(sum(clicks), 0) AS clicks,
    sum(engagements) / nullif(sum(impressions), 0) AS engagement_rate,
    sum(baseline_engagement_rate * impressions) FILTER (WHERE baseline_engagement_rate IS NOT NULL)
      / nullif(sum(impressions) FILTER (WHERE baseline_engagement_rate IS NOT NULL), 0)
      AS baseline_engagement_rate
"""
_ENGAGEMENT_WHERE = "date BETWEEN ? AND ? AND coalesce(is_demo, false) = ?"

ENGAGEMENT_TOTAL_SQL = (
    f"SELECT {_ENGAGEMENT_COLUMNS} FROM analytics.engagement_daily WHERE {_ENGAGEMENT_WHERE}"
)
ENGAGEMENT_BY_PLATFORM_SQL = (
    f"SELECT platform, {_ENGAGEMENT_COLUMNS} FROM analytics.engagement_daily WHERE {_ENGAGEMENT_WHERE} "
    "GROUP BY platform ORDER BY platform"
)
ENGAGEMENT_BY_DAY_SQL = (
    f"SELECT date, {_ENGAGEMENT_COLUMNS} FROM analytics.engagement_daily WHERE {_ENGAGEMENT_WHERE} "
    "GROUP BY date ORDER BY date"
)

PUBLICATIONS_SQL = """
    SELECT p.piece_id, p.platform, p.campaign_id, p.publisher, p.url, p.published_at,
           coalesce(TRY_CAST(json_extract(c.brief_json, '$.demo') AS BOOLEAN), false) AS demo_campaign
    FROM analytics.publications p LEFT JOIN core.campaigns c ON c.campaign_id = p.campaign_id
    WHERE p.status = 'published' AND CAST(timezone(?, p.published_at) AS DATE) BETWEEN ? AND ?
    ORDER BY p.published_at, p.piece_id, p.platform
"""

POSTS_SQL = """
    SELECT platform, content_type, count(*) AS posts,
           count(*) FILTER (WHERE coalesce(external, false)) AS external_posts
    FROM analytics.engagement_posts
    WHERE CAST(timezone(?, published_at) AS DATE) BETWEEN ? AND ? AND coalesce(is_demo, false) = ?
    GROUP BY ALL ORDER BY platform, content_type
"""

ANOMALIES_SQL = """
    WITH boosts AS (
        SELECT unnest(anomaly_ids) AS anomaly_id, boost_id, action, status, published_at, created_at
        FROM analytics.engagement_boosts
    ), latest AS (
        SELECT anomaly_id, arg_max(boost_id, created_at) AS boost_id, arg_max(action, created_at) AS action,
               arg_max(status, created_at) AS boost_status, arg_max(published_at, created_at) AS boost_published_at
        FROM boosts GROUP BY anomaly_id
    )
    SELECT a.anomaly_id, a.date, a.piece_id, a.platform, a.rule, a.severity, a.value, a.baseline,
           coalesce(a.external, false) AS external, a.campaign_id, l.boost_id, l.action, l.boost_status,
           l.boost_published_at
    FROM analytics.anomalies a LEFT JOIN latest l ON l.anomaly_id = a.anomaly_id
    WHERE a.date BETWEEN ? AND ? AND coalesce(a.is_demo, false) = ?
    ORDER BY (a.severity = 'critical') DESC, a.date, a.piece_id, a.rule
"""

AB_DECIDED_SQL = """
    SELECT variant_of, variant_piece_id, campaign_id, dimension, metric, decision, winner_piece_id, lift,
           p_value, significant, rate_control, rate_variant, n_control, n_variant, design, decided_at
    FROM analytics.ab_results
    WHERE decided_at IS NOT NULL AND CAST(timezone(?, decided_at) AS DATE) BETWEEN ? AND ?
    ORDER BY decided_at, variant_of, variant_piece_id
"""
AB_RUNNING_SQL = "SELECT count(*) AS n FROM analytics.ab_results WHERE decision = 'running'"

SPEND_BY_DAY_SQL = """
    SELECT date, sum(calls) AS calls, sum(cost_usd) AS cost_usd
    FROM analytics.cost_daily WHERE date BETWEEN ? AND ? GROUP BY date ORDER BY date
"""
BUDGET_SQL = """
    SELECT as_of, month, budget_usd, spent_usd, forecast_usd, remaining_pct, strategy, reason
    FROM analytics.budget_status WHERE as_of < ? ORDER BY as_of DESC LIMIT 1
"""

RANKED_PIECES_SQL = """
    WITH m AS (
        SELECT piece_id, platform, any_value(campaign_id) AS campaign_id,
               coalesce(bool_or(external), false) AS external,
               sum(impressions) AS impressions, sum(engagements) AS engagements,
               sum(engagements) / nullif(sum(impressions), 0) AS engagement_rate,
               sum(baseline_engagement_rate * impressions) FILTER (WHERE baseline_engagement_rate IS NOT NULL)
                 / nullif(sum(impressions) FILTER (WHERE baseline_engagement_rate IS NOT NULL), 0)
                 AS baseline_engagement_rate
        FROM analytics.engagement_daily
        WHERE date BETWEEN ? AND ? AND coalesce(is_demo, false) = ?
        GROUP BY piece_id, platform HAVING sum(impressions) >= ?
    ), p AS (
        SELECT piece_id, platform, any_value(content_type) AS content_type,
               any_value(published_at) AS published_at, any_value(word_count) AS word_count,
               any_value(hashtag_count) AS hashtag_count, any_value(has_question) AS has_question,
               any_value(has_cta) AS has_cta, any_value(media_type) AS media_type, any_value(paid) AS paid,
               any_value(left(text, 400)) AS text
        FROM analytics.engagement_posts GROUP BY piece_id, platform
    )
    SELECT m.*, m.engagement_rate / m.baseline_engagement_rate AS lift, p.content_type, p.published_at,
           p.word_count, p.hashtag_count, p.has_question, p.has_cta, p.media_type, p.paid, p.text
    FROM m LEFT JOIN p ON p.piece_id = m.piece_id AND p.platform = m.platform
    WHERE m.baseline_engagement_rate > 0
    ORDER BY lift DESC, m.piece_id, m.platform
"""


@dataclass
class Figures:
    """Everything one report shows; rows are the views' rows (dicts), unchanged."""

    period: Period
    timezone: str
    demo: bool
    left_out_demo_rows: int  # simulated engagement rows not used because real ones exist
    publications: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)  # per platform × content type
    engagement: dict[str, Any] = field(default_factory=dict)
    previous_engagement: dict[str, Any] = field(default_factory=dict)
    engagement_by_platform: list[dict[str, Any]] = field(default_factory=list)
    engagement_by_day: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    ab_decided: list[dict[str, Any]] = field(default_factory=list)
    ab_running: int = 0
    spend_by_day: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    ranked: list[dict[str, Any]] = field(default_factory=list)  # pieces by lift, best first

    @property
    def posts_published(self) -> int:
        return sum(int(r["posts"]) for r in self.posts)

    @property
    def spend_usd(self) -> float:
        return float(sum(float(r["cost_usd"] or 0) for r in self.spend_by_day))

    @property
    def empty(self) -> bool:
        return not (self.publications or self.posts or self.engagement.get("impressions"))

    def best_and_worst(self, n: int = BEST_WORST) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The ``n`` pieces with the highest and the lowest lift (rate over baseline); with fewer than
        ``2 n`` ranked pieces, the top and bottom halves (no piece is in both)."""
        k = min(n, len(self.ranked) // 2)
        if k == 0:
            return [], []
        return self.ranked[:k], list(reversed(self.ranked[-k:]))


def period_end_utc(period: Period, tz: str) -> dt.datetime:
    """The instant the period ends: midnight after its last day, in the brand's timezone."""
    local = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.UTC)


def gather(query: Query, period: Period, tz: str) -> Figures:
    """Every figure of the report for ``period``; ``query(sql, params)`` reads the analysts' snapshot."""
    start, end = period.start, period.end
    split = query(DEMO_SPLIT_SQL, [start, end])[0]
    real_rows, demo_rows = int(split["real_rows"] or 0), int(split["demo_rows"] or 0)
    demo_data = real_rows == 0 and demo_rows > 0
    rng = [start, end, demo_data]
    prev = period.previous()
    figures = Figures(
        period=period,
        timezone=tz,
        demo=demo_data,
        left_out_demo_rows=demo_rows if not demo_data else 0,
        publications=query(PUBLICATIONS_SQL, [tz, start, end]),
        posts=query(POSTS_SQL, [tz, start, end, demo_data]),
        engagement=query(ENGAGEMENT_TOTAL_SQL, rng)[0],
        previous_engagement=query(ENGAGEMENT_TOTAL_SQL, [prev.start, prev.end, demo_data])[0],
        engagement_by_platform=query(ENGAGEMENT_BY_PLATFORM_SQL, rng),
        engagement_by_day=query(ENGAGEMENT_BY_DAY_SQL, rng),
        anomalies=query(ANOMALIES_SQL, rng),
        ab_decided=query(AB_DECIDED_SQL, [tz, start, end]),
        ab_running=int(query(AB_RUNNING_SQL, [])[0]["n"] or 0),
        spend_by_day=query(SPEND_BY_DAY_SQL, [start, end]),
        ranked=query(RANKED_PIECES_SQL, [*rng, MIN_IMPRESSIONS]),
    )
    budget = query(BUDGET_SQL, [period_end_utc(period, tz)])
    figures.budget = budget[0] if budget else None
    if any(p["demo_campaign"] for p in figures.publications):
        figures.demo = True
    return figures
