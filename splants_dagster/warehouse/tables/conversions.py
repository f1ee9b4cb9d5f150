"""Conversions: rows imported from shop, payment and analytics exports (replaced per file), quarantined
bad rows, one load record per file, each campaign's measurable goal, and the analyst views that attribute
conversions to pieces (last touch by UTM) and measure goal progress.

Attribution (``analytics.conversions``), one UTM set per conversion (the last touch the export recorded:
the landing URL or session of the visit that converted):
1. ``utm_content`` is a piece id → that piece (and its campaign and platform), ``attribution = 'piece'``;
2. else ``utm_campaign`` is a campaign id → the campaign only, ``attribution = 'campaign'``;
3. else ``attribution = 'unattributed'``.
An order imported twice (a newer export of the same shop) counts once: the most recent load of each
``(source, order_id)`` wins. The same purchase imported from two systems (a Shopify and a Stripe export)
is two conversions: a goal counts only its brief's ``conversion_source`` when set, else every source and
says so in ``source_warning`` when two or more contributed. Columns are only ever added here (``ALTER
TABLE ... ADD COLUMN IF NOT EXISTS`` for an existing warehouse), never renamed or dropped.
"""

from splants_dagster.conversions.goals import GOAL_METRICS, WARNING_ADVICE

ROW_COLUMNS = (
    "conversion_id, order_id, source, source_file, line, occurred_at, conversion_date, conversion_type, "
    "quantity, revenue, currency, status, counted, utm_source, utm_medium, utm_campaign, utm_content, "
    "utm_term, landing_url, note, is_demo, loaded_at"
)

DDL = [
    """
    CREATE TABLE IF NOT EXISTS conversion_rows (
        conversion_id VARCHAR, order_id VARCHAR, source VARCHAR, source_file VARCHAR, line INTEGER,
        occurred_at TIMESTAMPTZ, conversion_date DATE, conversion_type VARCHAR, quantity BIGINT,
        revenue DOUBLE, currency VARCHAR, status VARCHAR, counted BOOLEAN, utm_source VARCHAR,
        utm_medium VARCHAR, utm_campaign VARCHAR, utm_content VARCHAR, utm_term VARCHAR,
        landing_url VARCHAR, note VARCHAR, is_demo BOOLEAN, loaded_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS conversion_quarantine (
        source_file VARCHAR, line INTEGER, preset VARCHAR, reason VARCHAR, reason_code VARCHAR, raw VARCHAR,
        quarantined_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS conversion_file_loads (
        source_file VARCHAR PRIMARY KEY, preset VARCHAR, mtime_ns BIGINT, sha256 VARCHAR, rows_total BIGINT,
        rows_loaded BIGINT, rows_skipped BIGINT, rows_quarantined BIGINT, min_date DATE, max_date DATE,
        is_demo BOOLEAN, loaded_at TIMESTAMPTZ, error VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS campaign_goals (
        campaign_id VARCHAR PRIMARY KEY, goal_text VARCHAR, metric VARCHAR, target DOUBLE,
        window_start DATE, window_end DATE, goal_source VARCHAR, note VARCHAR, is_demo BOOLEAN,
        updated_at TIMESTAMPTZ
    )
    """,
    # the goal's system of record (a preset name) from the brief; NULL: every source counts
    "ALTER TABLE campaign_goals ADD COLUMN IF NOT EXISTS conversion_source VARCHAR",
]

_METRIC_FILTER = {
    "orders": "conversion_type = 'order'",
    "revenue": "true",
    "signups": "conversion_type = 'signup'",
    "leads": "conversion_type = 'lead'",
    "conversions": "true",
}
assert set(_METRIC_FILTER) == set(GOAL_METRICS)
_ACTUAL = " ".join(
    f"WHEN '{m}' THEN {'coalesce(sum(c.revenue)' if m == 'revenue' else 'coalesce(sum(c.quantity)'} "
    f"FILTER (WHERE {f.replace('conversion_type', 'c.conversion_type')} AND c.is_demo = {{demo}}), 0)"
    for m, f in _METRIC_FILTER.items()
)


_SOURCES = " ".join(
    f"WHEN '{m}' THEN list_sort(list(DISTINCT c.source) FILTER (WHERE "
    f"{f.replace('conversion_type', 'c.conversion_type')}{' AND c.revenue IS NOT NULL' if m == 'revenue' else ''}"
    " AND c.is_demo = {demo}))"
    for m, f in _METRIC_FILTER.items()
)


def _actual(demo: str) -> str:
    return f"CASE g.metric {_ACTUAL.format(demo=demo)} END"


def _sources(demo: str) -> str:
    """The sorted distinct sources of the conversions ``_actual`` counts (NULL when none)."""
    return f"CASE g.metric {_SOURCES.format(demo=demo)} END"


# goals.source_warning in SQL: "conversions from a and b are both counted: ..." / "a, b and c are all"
_WARNING = f"""CASE WHEN conversion_source IS NULL AND len(sources) >= 2 THEN
    'conversions from ' || array_to_string(sources[1:len(sources) - 1], ', ') || ' and '
    || sources[len(sources)] || CASE WHEN len(sources) = 2 THEN ' are both' ELSE ' are all' END
    || ' counted: {WARNING_ADVICE}' END"""


VIEWS = {
    "conversions": """
        WITH latest AS (
            SELECT * FROM core.conversion_rows
            QUALIFY row_number() OVER (
                PARTITION BY source, order_id ORDER BY loaded_at DESC, source_file DESC, line DESC) = 1
        )
        SELECT l.conversion_id, l.order_id, l.source, l.source_file, l.line, l.occurred_at, l.conversion_date,
               l.conversion_type, l.quantity, l.revenue, l.currency, l.status, l.counted,
               l.utm_source, l.utm_medium, l.utm_campaign, l.utm_content, l.utm_term, l.landing_url,
               p.piece_id, coalesce(p.campaign_id, k.campaign_id) AS campaign_id, p.platform, p.variant_of,
               CASE WHEN p.piece_id IS NOT NULL THEN 'piece'
                    WHEN k.campaign_id IS NOT NULL THEN 'campaign'
                    ELSE 'unattributed' END AS attribution,
               CASE WHEN p.piece_id IS NOT NULL THEN 'last touch: utm_content is the piece id'
                    WHEN k.campaign_id IS NOT NULL THEN 'last touch: utm_campaign is the campaign id (utm_content names no piece)'
                    WHEN l.utm_campaign IS NULL AND l.utm_content IS NULL THEN 'no utm_campaign or utm_content'
                    ELSE 'utm tags name no campaign or piece of ours' END AS attribution_rule,
               l.note, l.is_demo, l.loaded_at
        FROM latest l
        LEFT JOIN core.content_pieces p ON p.piece_id = l.utm_content
        LEFT JOIN core.campaigns k ON k.campaign_id = l.utm_campaign
    """,
    "conversion_quarantine": """
        SELECT source_file, line, preset, reason, reason_code, raw, quarantined_at FROM core.conversion_quarantine
    """,
    "conversion_files": """
        SELECT source_file, preset, rows_total, rows_loaded, rows_skipped, rows_quarantined, min_date,
               max_date, is_demo, loaded_at, error
        FROM core.conversion_file_loads
    """,
    "piece_conversions": """
        WITH conv AS (
            SELECT piece_id,
                   coalesce(sum(quantity) FILTER (WHERE counted), 0) AS conversions,
                   coalesce(sum(quantity) FILTER (WHERE counted AND conversion_type = 'order'), 0) AS orders,
                   coalesce(sum(revenue) FILTER (WHERE counted), 0) AS revenue,
                   bool_and(is_demo) AS demo_only
            FROM main.conversions WHERE piece_id IS NOT NULL GROUP BY piece_id
        ), eng AS (
            SELECT piece_id, sum(impressions) AS impressions, sum(engagements) AS engagements,
                   sum(clicks) AS clicks
            FROM core.engagement_metrics WHERE piece_id IS NOT NULL GROUP BY piece_id
        )
        SELECT p.piece_id, p.campaign_id, p.platform, p.content_type, p.variant_of,
               coalesce(c.conversions, 0) AS conversions, coalesce(c.orders, 0) AS orders,
               coalesce(c.revenue, 0) AS revenue, e.impressions, e.engagements, e.clicks,
               c.conversions / nullif(e.clicks, 0) AS conversions_per_click,
               coalesce(c.demo_only, false) AS is_demo
        FROM core.content_pieces p
        LEFT JOIN conv c ON c.piece_id = p.piece_id
        LEFT JOIN eng e ON e.piece_id = p.piece_id
        WHERE c.piece_id IS NOT NULL OR e.piece_id IS NOT NULL
    """,
    "goal_progress": f"""
        WITH g AS (
            SELECT *, (now() AT TIME ZONE 'UTC')::DATE AS as_of, date_diff('day', window_start, window_end) AS window_days
            FROM core.campaign_goals
        ), a AS (
            SELECT g.campaign_id,
                   {_actual("false")} AS real_actual,
                   {_actual("true")} AS demo_actual,
                   count(c.conversion_id) FILTER (WHERE NOT c.is_demo) AS real_rows,
                   {_sources("false")} AS real_sources,
                   {_sources("true")} AS demo_sources
            FROM g LEFT JOIN main.conversions c
              ON c.campaign_id = g.campaign_id AND c.counted
             AND c.conversion_date >= g.window_start AND c.conversion_date < g.window_end
             AND (g.conversion_source IS NULL OR c.source = g.conversion_source)
            GROUP BY g.campaign_id, g.metric
        ), p AS (
            SELECT g.*, CASE WHEN a.real_rows = 0 AND a.demo_actual > 0 THEN a.demo_actual
                             ELSE a.real_actual END AS actual,
                   coalesce(CASE WHEN a.real_rows = 0 AND a.demo_actual > 0 THEN a.demo_sources
                                 ELSE a.real_sources END, []::VARCHAR[]) AS sources,
                   a.real_rows = 0 AND a.demo_actual > 0 AS demo_actual,
                   greatest(0, least(date_diff('day', g.window_start, g.as_of) + 1, g.window_days)) AS days_elapsed
            FROM g JOIN a USING (campaign_id)
        )
        SELECT campaign_id, metric, target, goal_source, goal_text, note, window_start, window_end, window_days,
               as_of, days_elapsed, days_elapsed / nullif(window_days, 0) AS elapsed_fraction, actual,
               target * days_elapsed / nullif(window_days, 0) AS expected_to_date,
               actual / nullif(target * days_elapsed / nullif(window_days, 0), 0) AS pace,
               actual * window_days / nullif(days_elapsed, 0) AS forecast,
               CASE WHEN metric IS NULL THEN 'no measurable goal'
                    WHEN as_of < window_start THEN 'not started'
                    WHEN actual >= target THEN 'met'
                    WHEN as_of >= window_end THEN 'missed'
                    WHEN actual >= target * days_elapsed / nullif(window_days, 0) THEN 'on pace'
                    ELSE 'behind' END AS status,
               is_demo OR demo_actual AS is_demo,
               conversion_source, sources,
               {_WARNING} AS source_warning
        FROM p
    """,
}
