"""Warehouse SQL for engagement: daily metrics with rolling baselines, rule inputs, and idempotent writes.

Everything heavy runs inside DuckDB on the warehouse connection (no raw events ever reach Python):
:func:`build_metrics` turns ``events.engagement_events`` (the warehouse's bulk database) into
``engagement_metrics`` for a date range in one ``DELETE`` + ``INSERT ... SELECT`` transaction.

How a day's numbers are formed, per (piece, platform, date):
- increment rows (``cumulative`` false: simulator hours, per-day files) are summed;
- cumulative rows (API snapshots, lifetime exports) contribute the day's last snapshot minus the
  previous day's last snapshot (never below 0), so re-pulling or re-exporting never double counts;
- rates: engagement_rate = engagements / impressions, click_through = clicks / impressions,
  bounce_rate = bounces / impressions (where bounces are reported: blog page views, email sends);
  NULL when the day has no impressions;
- age_days: days since the piece was published (NULL when unknown);
- ``*_to_date``: totals since publishing through this day (and the rates of those totals), for the
  first 28 days after publishing (NULL later, or when the publish time is unknown). The anomaly rules
  judge a fresh piece on these, so the hour it was published does not decide its verdict.

Incremental: of the 28 days before a run's range (for baselines and totals to date), those with stored
``engagement_metrics`` rows contribute these rows; only the others (never built, or without data) are
aggregated from the raw events. The hourly run over yesterday and today thus aggregates two days of
events instead of thirty, and a backfill (one run over its range) reads each event once. A day whose
events were rebuilt after its metrics counts with its stored numbers until its own partition is rebuilt
(Dagster shows it stale).

Baselines (rolling, per platform, over the 28 days *before* the row's date):
- baseline_engagement_rate = Σ engagements / Σ impressions; baseline_bounce_rate likewise;
- baseline_impressions = geometric mean (≈ median for skewed counts) of impressions_to_date of the
  platform's pieces at the same age (0..6 days, 7+ pooled); for pieces of unknown age, of their daily
  impressions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from splants_dagster.engagement.events import COUNTERS, EVENTS_TABLE
from splants_dagster.warehouse.store import dict_rows, insert_dicts, insert_frame, scalar, transaction

BASELINE_DAYS = 28
TO_DATE_DAYS = 28  # *_to_date columns cover this many days after publishing
TO_DATE = ("impressions", "engagements", "clicks", "bounces")

METRIC_COLUMNS = (
    "date",
    "piece_id",
    "platform",
    "content_type",
    "campaign_id",
    "published_at",
    "external",
    "is_demo",
    "impressions",
    "reach",
    "engagements",
    "clicks",
    "engagement_rate",
    "click_through",
    "bounce_rate",
    "baseline_engagement_rate",
    "baseline_impressions",
    "baseline_bounce_rate",
    "age_days",
    "opens",
    "bounces",
    "likes",
    "comments",
    "shares",
    "computed_at",
    "impressions_to_date",
    "engagements_to_date",
    "clicks_to_date",
    "bounces_to_date",
    "engagement_rate_to_date",
    "bounce_rate_to_date",
)


def session(
    conn: duckdb.DuckDBPyConnection, memory_limit: str | None = None, threads: int | None = None
) -> None:
    """UTC dates for TIMESTAMPTZ casts; optional memory and thread caps for this session."""
    conn.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        conn.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        conn.execute(f"SET threads = {int(threads)}")


def _sums(prefix: str = "") -> str:
    return ", ".join(f"sum({prefix}{c}) AS {c}" for c in COUNTERS)


def _snapshot_cols() -> str:
    return ", ".join(f"arg_max({c}, observed_at) AS {c}" for c in COUNTERS)


def _to_date(counter: str) -> str:
    return (
        f"CASE WHEN age_days <= {TO_DATE_DAYS - 1} THEN "
        f"CASE WHEN stored THEN stored_{counter}_to_date ELSE sum({counter}) OVER p END END AS {counter}_to_date"
    )


def _deltas() -> str:
    return ", ".join(f"greatest({c} - coalesce(lag({c}) OVER w, 0), 0) AS {c}" for c in COUNTERS)


METRICS_SELECT = f"""
WITH snap AS (
    SELECT event_date AS date, coalesce(piece_id, external_id) AS piece_key, platform,
           bool_and(piece_id IS NULL) AS external, {_snapshot_cols()},
           bool_or(is_demo) AS is_demo, any_value(content_type) AS content_type,
           min(published_at) AS published_at
    FROM {EVENTS_TABLE}
    WHERE cumulative AND event_date <= $end
    GROUP BY 1, 2, 3
),
cum AS (
    SELECT date, piece_key, platform, external, {_deltas()}, is_demo, content_type, published_at
    FROM snap
    WINDOW w AS (PARTITION BY piece_key, platform ORDER BY date)
),
observations AS (
    SELECT event_date AS date, coalesce(piece_id, external_id) AS piece_key, platform,
           piece_id IS NULL AS external, {", ".join(COUNTERS)}, is_demo, content_type, published_at
    FROM {EVENTS_TABLE}
    WHERE event_date BETWEEN $events_from AND $end AND NOT coalesce(cumulative, false)
      AND (event_date >= $start OR list_contains($unbuilt, event_date))
    UNION ALL BY NAME
    SELECT * FROM cum WHERE date >= $events_from AND (date >= $start OR list_contains($unbuilt, date))
),
daily AS (
    SELECT date, piece_key, platform, bool_and(external) AS external, {_sums()},
           bool_or(is_demo) AS is_demo, any_value(content_type) AS content_type,
           min(published_at) AS published_at
    FROM observations
    GROUP BY 1, 2, 3
    UNION ALL BY NAME
    -- days before the range (baselines, totals to date) that earlier runs built: their stored numbers
    SELECT date, piece_id AS piece_key, platform, external, {", ".join(COUNTERS)}, is_demo, content_type,
           published_at, true AS stored, {", ".join(f"{c}_to_date AS stored_{c}_to_date" for c in TO_DATE)}
    FROM engagement_metrics
    WHERE date >= $lookback AND date < $start
),
pub AS (
    SELECT piece_id, platform, min(published_at) AS published_at
    FROM publications WHERE status = 'published' AND published_at IS NOT NULL GROUP BY 1, 2
),
posts AS (
    SELECT piece_id, platform, min(published_at) AS published_at, any_value(content_type) AS content_type
    FROM engagement_posts GROUP BY 1, 2
),
rated AS (
    SELECT d.date, d.piece_key AS piece_id, d.platform,
           coalesce(cp.content_type, d.content_type, po.content_type) AS content_type,
           cp.campaign_id,
           coalesce(pub.published_at, d.published_at, po.published_at) AS published_at,
           d.external, d.is_demo, d.impressions, d.reach, d.engagements, d.clicks,
           d.engagements / nullif(d.impressions, 0) AS engagement_rate,
           d.clicks / nullif(d.impressions, 0) AS click_through,
           d.bounces / nullif(d.impressions, 0) AS bounce_rate,
           d.opens, d.bounces, d.likes, d.comments, d.shares, coalesce(d.stored, false) AS stored,
           {", ".join(f"d.stored_{c}_to_date" for c in TO_DATE)}
    FROM daily d
    LEFT JOIN content_pieces cp ON cp.piece_id = d.piece_key
    LEFT JOIN pub ON pub.piece_id = d.piece_key AND pub.platform = d.platform
    LEFT JOIN posts po ON po.piece_id = d.piece_key AND po.platform = d.platform
),
dated AS (
    SELECT *,
           CASE WHEN published_at IS NULL THEN NULL
                ELSE greatest(date_diff('day', CAST(published_at AS DATE), date), 0) END AS age_days
    FROM rated
),
aged AS (
    -- a stored day keeps its totals to date: its own run summed them from the day of publishing, where
    -- this run's window may start later
    SELECT *, {", ".join(_to_date(c) for c in TO_DATE)}
    FROM dated
    WINDOW p AS (PARTITION BY piece_id, platform ORDER BY date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
-- baselines are kept per kind of data: a real post is compared with real posts only, simulated (demo) ones
-- with simulated ones, so demo history never skews a real platform's baselines or its anomaly alerts
by_age AS (
    SELECT date, platform, coalesce(least(age_days, 7), -1) AS age_bucket, coalesce(is_demo, false) AS demo,
           sum(ln(CASE WHEN age_days IS NULL THEN impressions ELSE impressions_to_date END))
               FILTER (WHERE (CASE WHEN age_days IS NULL THEN impressions ELSE impressions_to_date END) > 0) AS s_log,
           count(*) FILTER (WHERE (CASE WHEN age_days IS NULL THEN impressions ELSE impressions_to_date END) > 0) AS n
    FROM aged GROUP BY 1, 2, 3, 4
),
by_age_w AS (
    SELECT date, platform, age_bucket, demo,
           exp(sum(s_log) OVER w / nullif(sum(n) OVER w, 0)) AS baseline_impressions
    FROM by_age
    WINDOW w AS (PARTITION BY platform, age_bucket, demo ORDER BY date
                 RANGE BETWEEN INTERVAL {BASELINE_DAYS} DAYS PRECEDING AND INTERVAL 1 DAYS PRECEDING)
),
by_platform AS (
    SELECT date, platform, coalesce(is_demo, false) AS demo,
           sum(engagements) FILTER (WHERE impressions > 0) AS s_eng,
           sum(impressions) FILTER (WHERE impressions > 0 AND engagements IS NOT NULL) AS s_impr,
           sum(bounces) FILTER (WHERE impressions > 0) AS s_bounce,
           sum(impressions) FILTER (WHERE impressions > 0 AND bounces IS NOT NULL) AS s_impr_b
    FROM aged GROUP BY 1, 2, 3
),
by_platform_w AS (
    SELECT date, platform, demo,
           sum(s_eng) OVER w / nullif(sum(s_impr) OVER w, 0) AS baseline_engagement_rate,
           sum(s_bounce) OVER w / nullif(sum(s_impr_b) OVER w, 0) AS baseline_bounce_rate
    FROM by_platform
    WINDOW w AS (PARTITION BY platform, demo ORDER BY date
                 RANGE BETWEEN INTERVAL {BASELINE_DAYS} DAYS PRECEDING AND INTERVAL 1 DAYS PRECEDING)
)
SELECT a.date, a.piece_id, a.platform, a.content_type, a.campaign_id, a.published_at, a.external,
       a.is_demo, a.impressions, a.reach, a.engagements, a.clicks, a.engagement_rate, a.click_through,
       a.bounce_rate, p.baseline_engagement_rate, b.baseline_impressions, p.baseline_bounce_rate,
       a.age_days, a.opens, a.bounces, a.likes, a.comments, a.shares, $now AS computed_at,
       a.impressions_to_date, a.engagements_to_date, a.clicks_to_date, a.bounces_to_date,
       a.engagements_to_date / nullif(a.impressions_to_date, 0) AS engagement_rate_to_date,
       a.bounces_to_date / nullif(a.impressions_to_date, 0) AS bounce_rate_to_date
FROM aged a
LEFT JOIN by_age_w b ON b.date = a.date AND b.platform = a.platform
     AND b.age_bucket = coalesce(least(a.age_days, 7), -1) AND b.demo = coalesce(a.is_demo, false)
LEFT JOIN by_platform_w p ON p.date = a.date AND p.platform = a.platform AND p.demo = coalesce(a.is_demo, false)
WHERE a.date BETWEEN $start AND $end
"""


def build_metrics(
    conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, now: dt.datetime | None = None
) -> int:
    """Replace ``engagement_metrics`` rows dated ``start``..``end``; returns the rows written."""
    lookback = start - dt.timedelta(days=BASELINE_DAYS)
    stored = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT date FROM engagement_metrics WHERE date >= ? AND date < ?", [lookback, start]
        ).fetchall()
    }
    unbuilt = [d for d in (lookback + dt.timedelta(days=i) for i in range(BASELINE_DAYS)) if d not in stored]
    params = {
        "start": start,
        "end": end,
        "lookback": lookback,
        "events_from": unbuilt[0] if unbuilt else start,
        "unbuilt": unbuilt,
        "now": now or dt.datetime.now(dt.UTC),
    }
    with transaction(conn):
        conn.execute(
            "DELETE FROM engagement_metrics WHERE date BETWEEN $start AND $end", {"start": start, "end": end}
        )
        written = scalar(
            conn, f"INSERT INTO engagement_metrics ({', '.join(METRIC_COLUMNS)}) {METRICS_SELECT}", params
        )
    return int(written)


def platform_trends(conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Daily totals per platform for ``start``..``end`` (for the UI's trend charts)."""
    cur = conn.execute(
        """
        SELECT platform, date, sum(impressions) AS impressions, sum(engagements) AS engagements,
               sum(engagements) / nullif(sum(impressions), 0) AS engagement_rate,
               any_value(baseline_engagement_rate) AS baseline_engagement_rate, count(*) AS pieces
        FROM engagement_metrics WHERE date BETWEEN $start AND $end
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        {"start": start, "end": end},
    )
    return dict_rows(cur)


def metrics_summary(conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[str, int]:
    """Totals of the metrics dated ``start``..``end``: pieces, impressions, engagements, demo and external
    rows, and rows with a rate outside 0..1."""
    (row,) = dict_rows(
        conn.execute(
            """
            SELECT count(DISTINCT piece_id) AS pieces, coalesce(sum(impressions), 0) AS impressions,
                   coalesce(sum(engagements), 0) AS engagements,
                   count(*) FILTER (WHERE is_demo) AS demo_rows, count(*) FILTER (WHERE external) AS external_rows,
                   count(*) FILTER (WHERE engagement_rate > 1 OR click_through > 1 OR bounce_rate > 1
                                    OR engagement_rate < 0 OR click_through < 0 OR bounce_rate < 0)
                       AS out_of_bounds
            FROM engagement_metrics WHERE date BETWEEN ? AND ?
            """,
            [start, end],
        )
    )
    return {k: int(v) for k, v in row.items()}


# --------------------------------------------------------------------------------------- monitoring

MONITOR_SELECT = f"""
WITH target AS (
    SELECT date, piece_id, platform, campaign_id, external, is_demo, age_days,
           -- a fresh piece is judged on its totals since publishing; a piece of unknown age on the day
           CASE WHEN age_days IS NULL THEN impressions ELSE impressions_to_date END AS impressions,
           CASE WHEN age_days IS NULL THEN engagement_rate ELSE engagement_rate_to_date END AS engagement_rate,
           CASE WHEN age_days IS NULL THEN bounce_rate ELSE bounce_rate_to_date END AS bounce_rate,
           baseline_engagement_rate, baseline_impressions, baseline_bounce_rate
    FROM engagement_metrics
    WHERE date BETWEEN $start AND $end AND (age_days IS NULL OR age_days < $fresh_days)
),
-- the robust statistics, like the baselines, come from the same kind of data (real or simulated)
days AS (SELECT DISTINCT date, platform, coalesce(is_demo, false) AS demo FROM target),
hist AS (
    SELECT d.date, d.platform, d.demo, h.rate, ln(h.rate) AS lr
    FROM days d JOIN (
        SELECT date, platform, coalesce(is_demo, false) AS demo,
               CASE WHEN age_days IS NULL THEN engagement_rate ELSE engagement_rate_to_date END AS rate,
               CASE WHEN age_days IS NULL THEN impressions ELSE impressions_to_date END AS volume
        FROM engagement_metrics
        WHERE date >= $start - {BASELINE_DAYS} AND date < $end AND (age_days IS NULL OR age_days < $fresh_days)
    ) h ON h.platform = d.platform AND h.demo = d.demo AND h.date >= d.date - {BASELINE_DAYS} AND h.date < d.date
    WHERE h.rate > 0 AND h.volume >= $min_impressions
),
med AS (
    SELECT date, platform, demo, median(lr) AS median_log_rate,
           quantile_cont(rate, $top) AS top_rate, count(*) AS sample_size
    FROM hist GROUP BY 1, 2, 3
),
mad AS (
    SELECT h.date, h.platform, h.demo, median(abs(h.lr - m.median_log_rate)) AS mad_log_rate
    FROM hist h JOIN med m ON m.date = h.date AND m.platform = h.platform AND m.demo = h.demo GROUP BY 1, 2, 3
)
SELECT t.*, m.median_log_rate, mad.mad_log_rate, m.top_rate, coalesce(m.sample_size, 0) AS sample_size
FROM target t
LEFT JOIN med m ON m.date = t.date AND m.platform = t.platform AND m.demo = coalesce(t.is_demo, false)
LEFT JOIN mad ON mad.date = t.date AND mad.platform = t.platform AND mad.demo = coalesce(t.is_demo, false)
ORDER BY t.date, t.platform, t.piece_id
"""


def monitor_rows(
    conn: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    fresh_days: int,
    min_impressions: int,
    top: float,
) -> list[dict[str, Any]]:
    """Fresh pieces' rows in range, as the rules judge them (totals since publishing when the age is
    known), with baselines and the platform's trailing robust statistics: median and MAD of the log
    engagement rate, the ``top`` quantile and the sample size, over the previous 28 days."""
    cur = conn.execute(
        MONITOR_SELECT,
        {
            "start": start,
            "end": end,
            "fresh_days": fresh_days,
            "min_impressions": min_impressions,
            "top": top,
        },
    )
    return dict_rows(cur)


def _upsert_detections(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    key: str,
    rows: list[dict[str, Any]],
    start: dt.date,
    end: dt.date,
    keep: tuple[str, ...],
) -> tuple[int, int]:
    """Make ``table``'s rows dated start..end equal ``rows``, keeping ``seq`` and the ``keep`` columns
    of detections already recorded (so a re-run never looks like a new event). Returns (new, removed)."""
    with transaction(conn):
        existing = {
            r[0]
            for r in conn.execute(
                f"SELECT {key} FROM {table} WHERE date BETWEEN $start AND $end", {"start": start, "end": end}
            ).fetchall()
        }
        wanted = {r[key] for r in rows}
        stale = existing - wanted
        if stale:
            conn.execute(f"DELETE FROM {table} WHERE list_contains($ids, {key})", {"ids": sorted(stale)})
        fresh = [r for r in rows if r[key] not in existing]
        updates = [r for r in rows if r[key] in existing]
        if updates:
            cols = [c for c in updates[0] if c not in (key, "seq", *keep)]
            conn.executemany(
                f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE {key} = ?",
                [[r[c] for c in cols] + [r[key]] for r in updates],
            )
        if fresh:
            # a key recorded outside the range (an earlier, overlapping run) must not be inserted twice
            known = {
                r[0]
                for r in conn.execute(
                    f"SELECT {key} FROM {table} WHERE list_contains($ids, {key})",
                    {"ids": [r[key] for r in fresh]},
                ).fetchall()
            }
            fresh = [r for r in fresh if r[key] not in known]
        if fresh:
            top = scalar(conn, f"SELECT coalesce(max(seq), 0) FROM {table}")
            cols = [c for c in fresh[0] if c != "seq"]
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}, seq) VALUES ({', '.join('?' for _ in cols)}, ?)",
                [[r[c] for c in cols] + [top + i] for i, r in enumerate(fresh, start=1)],
            )
    return len(fresh), len(stale)


def write_anomalies(
    conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], start: dt.date, end: dt.date
) -> tuple[int, int]:
    return _upsert_detections(conn, "anomalies", "anomaly_id", rows, start, end, keep=("detected_at",))


def write_highlights(
    conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], start: dt.date, end: dt.date
) -> tuple[int, int]:
    return _upsert_detections(
        conn, "engagement_highlights", "highlight_id", rows, start, end, keep=("detected_at",)
    )


LATEST_COLUMNS = ["date", "piece_id", "platform", "rule", "value", "baseline", "severity"]


def latest_anomalies(
    conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, limit: int = 25
) -> list[dict[str, Any]]:
    """The newest anomalies dated ``start``..``end`` (:data:`LATEST_COLUMNS`), worst first within a day."""
    return dict_rows(
        conn.execute(
            f"SELECT {', '.join(LATEST_COLUMNS)} FROM anomalies "
            "WHERE date BETWEEN ? AND ? ORDER BY date DESC, severity, piece_id LIMIT ?",
            [start, end, limit],
        )
    )


# ----------------------------------------------------------------------------------------------- A/B

AB_SELECT = """
WITH totals AS (
    SELECT piece_id, platform, sum(impressions) AS impressions, sum(engagements) AS engagements,
           sum(clicks) AS clicks
    FROM engagement_metrics WHERE NOT external GROUP BY 1, 2
)
SELECT v.piece_id AS variant_piece_id, v.variant_of, v.variant_dimension AS dimension, v.campaign_id,
       v.platform, tv.impressions AS n_variant, tv.engagements AS x_variant, tv.clicks AS clicks_variant,
       tc.impressions AS n_control, tc.engagements AS x_control, tc.clicks AS clicks_control
FROM content_pieces v
JOIN content_pieces c ON c.piece_id = v.variant_of
LEFT JOIN totals tv ON tv.piece_id = v.piece_id
LEFT JOIN totals tc ON tc.piece_id = c.piece_id
WHERE v.variant_of IS NOT NULL
ORDER BY v.variant_of, v.piece_id
"""


def ab_pairs(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every (control, variant) pair with each arm's lifetime impressions, engagements and clicks."""
    cur = conn.execute(AB_SELECT)
    return dict_rows(cur)


def replace_ab_results(conn: duckdb.DuckDBPyConnection, results: list[dict[str, Any]]) -> None:
    """``ab_results`` becomes ``results`` (one transaction)."""
    import pandas as pd

    with transaction(conn):
        conn.execute("DELETE FROM ab_results")
        insert_frame(conn, "ab_results", pd.DataFrame(results))


# ------------------------------------------------------------------------------------- best slots

SLOTS_SELECT = """
SELECT isodow(published_at) - 1 AS weekday, hour(published_at) AS hour,
       sum(engagements) / nullif(sum(impressions), 0) AS engagement_rate,
       count(DISTINCT piece_id) AS posts
FROM engagement_metrics
WHERE platform = $platform AND published_at IS NOT NULL AND date >= $since AND impressions > 0
GROUP BY 1, 2
"""


def slot_rates(conn: duckdb.DuckDBPyConnection, platform: str, since: dt.date) -> list[dict[str, Any]]:
    """Engagement rate by publish weekday (0 = Monday) and UTC hour for one platform since a date."""
    cur = conn.execute(SLOTS_SELECT, {"platform": platform, "since": since})
    return dict_rows(cur)


# ------------------------------------------------------------------------------------------ boosts


def boost_anomalies(
    conn: duckdb.DuckDBPyConnection, anomaly_ids: Sequence[str], since: dt.date
) -> list[dict[str, Any]]:
    """The anomalies ``anomaly_ids``; without ids, those of our pieces dated ``since`` or later whose piece
    has no boost yet."""
    if anomaly_ids:
        return dict_rows(
            conn.execute("SELECT * FROM anomalies WHERE list_contains(?, anomaly_id)", [list(anomaly_ids)])
        )
    return dict_rows(
        conn.execute(
            "SELECT * FROM anomalies WHERE NOT coalesce(external, false) AND date >= ? "
            "AND piece_id NOT IN (SELECT piece_id FROM engagement_boosts)",
            [since],
        )
    )


def boost_pieces(conn: duckdb.DuckDBPyConnection, piece_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """piece_id -> what a boost is written from (platform, title, body, rendered text, CTA, hashtags)."""
    rows = dict_rows(
        conn.execute(
            "SELECT piece_id, campaign_id, platform, title, body, rendered, cta, hashtags FROM content_pieces "
            "WHERE list_contains(?, piece_id)",
            [list(piece_ids)],
        )
    )
    return {p["piece_id"]: p for p in rows}


def slots_by_platform(
    conn: duckdb.DuckDBPyConnection, platforms: Iterable[str], since: dt.date
) -> dict[str, list[dict[str, Any]]]:
    """:func:`slot_rates` of each platform (UTC hours)."""
    conn.execute("SET TimeZone = 'UTC'")
    return {platform: slot_rates(conn, platform, since) for platform in platforms}


def write_boosts(conn: duckdb.DuckDBPyConnection, boosts: list[dict[str, Any]]) -> None:
    """Record planned boosts (one transaction): a planned boost is planned again; one that publishing has
    scheduled or published keeps its state."""
    with transaction(conn):
        conn.execute(
            "DELETE FROM engagement_boosts WHERE list_contains(?, boost_id) AND status = 'planned'",
            [[b["boost_id"] for b in boosts]],
        )
        insert_dicts(conn, "engagement_boosts", boosts, tail=" ON CONFLICT (boost_id) DO NOTHING")


# --------------------------------------------------------------------------------- similar content

WINNERS_SELECT = """
SELECT c.piece_id, c.platform, c.title, c.campaign_id, k.brief_json,
       (SELECT max(engagement_rate) FROM engagement_highlights h WHERE h.piece_id = c.piece_id) AS rate,
       (SELECT arg_max(threshold, engagement_rate) FROM engagement_highlights h
         WHERE h.piece_id = c.piece_id) AS threshold,
       (SELECT arg_max(highlight_id, engagement_rate) FROM engagement_highlights h
         WHERE h.piece_id = c.piece_id) AS highlight_id,
       (SELECT count(*) FROM campaign_lineage l WHERE l.child_campaign_id = c.campaign_id) AS derived,
       (SELECT count(*) FROM campaign_lineage l JOIN campaign_lineage g
          ON g.child_campaign_id = l.parent_campaign_id
         WHERE l.child_campaign_id = c.campaign_id) AS derived_twice
FROM content_pieces c JOIN campaigns k ON k.campaign_id = c.campaign_id
WHERE list_contains(?, c.piece_id)
"""


def underived_winners(conn: duckdb.DuckDBPyConnection, since: dt.date) -> list[str]:
    """Our pieces highlighted ``since`` or later that no campaign was derived from yet."""
    return [
        r["piece_id"]
        for r in dict_rows(
            conn.execute(
                "SELECT DISTINCT piece_id FROM engagement_highlights WHERE NOT coalesce(external, false) "
                "AND date >= ? AND piece_id NOT IN (SELECT parent_piece_id FROM campaign_lineage)",
                [since],
            )
        )
    ]


def winning_pieces(conn: duckdb.DuckDBPyConnection, piece_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The pieces of registered campaigns among ``piece_ids``, with their campaign's brief, best highlight
    (rate, threshold, id) and how deep their campaign's lineage already is."""
    return dict_rows(conn.execute(WINNERS_SELECT, [list(piece_ids)]))


def record_lineage(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    insert_dicts(conn, "campaign_lineage", rows, verb="INSERT OR REPLACE")
