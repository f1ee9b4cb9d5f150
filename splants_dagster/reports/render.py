"""A report's HTML: one self-contained page (inline CSS and SVG, no external asset), rendered with Jinja2
with autoescaping on, so text from the warehouse (piece ids, post text) can never become markup.

The template lives here rather than in a ``.html`` file beside it: package data would need an entry in
pyproject.toml, and one string keeps the page and the code that fills it side by side.

Every number shown is also in a ``data-value`` attribute (``data-metric`` names it), unformatted, so tests
and scripts can compare a report with the views it was read from.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from splants_dagster.reports import plots
from splants_dagster.reports.figures import MAX_LISTED, MIN_IMPRESSIONS, Figures
from splants_dagster.reports.traits import shared_traits

if TYPE_CHECKING:
    from jinja2 import Template

SNIPPET_CHARS = 140
SECTIONS = ("summary", "publications", "engagement", "anomalies", "ab_tests", "spend", "best_worst")
TITLES = {
    "summary": "Summary",
    "publications": "Publications",
    "engagement": "Engagement against baseline",
    "anomalies": "Anomalies and what was done",
    "ab_tests": "A/B test outcomes",
    "spend": "Spend against budget",
    "best_worst": "Best and worst pieces",
}


def fmt_int(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def fmt_pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2%}"


def fmt_usd(value: Any) -> str:
    if value is None:
        return "–"
    v = float(value)
    return f"${v:,.2f}" if abs(v) >= 1 or v == 0 else f"${v:.4f}"


def fmt_lift(rate: Any, baseline: Any) -> str:
    if rate is None or not baseline:
        return "–"
    return f"{float(rate) / float(baseline) - 1:+.0%}"


def fmt_time(value: Any, tz: str) -> str:
    if isinstance(value, dt.datetime):
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")
    return "–" if value is None else str(value)


def snippet(text: Any, limit: int = SNIPPET_CHARS) -> str:
    """The start of a post's text, cut at a word with an ellipsis when longer than ``limit``."""
    flat = " ".join(str(text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"


def web_link(url: Any) -> str | None:
    """Only http(s) addresses become links (a ``javascript:`` URL stays text)."""
    text = str(url or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None


def anomaly_action(row: dict[str, Any]) -> str:
    """What was done about an anomaly, from ``analytics.engagement_boosts`` (nothing invented)."""
    if row.get("boost_id"):
        done = (
            f"re-promotion planned ({row.get('action') or 'boost'}), status {row.get('boost_status') or '?'}"
        )
        if row.get("boost_published_at"):
            done += f", re-published {row['boost_published_at']:%d %b}"
        return done
    if row.get("external"):
        return "alert only: not published by splants, so no re-promotion"
    return "no action recorded"


def metric(name: str, value: Any, shown: str) -> Markup:
    """A number with its raw value in ``data-value`` (escaped by Jinja's rules, built here once)."""
    raw = "" if value is None else repr(float(value)) if isinstance(value, float) else str(value)
    return Markup('<span class="metric" data-metric="{}" data-value="{}">{}</span>').format(name, raw, shown)


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="splants-report" content="{{ kind }} {{ period }}" data-demo="{{ 'true' if demo else 'false' }}">
<title>{% if demo %}[DEMO] {% endif %}{{ brand }}: {{ kind }} report {{ period }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;max-width:920px;margin:2rem auto;
padding:0 1rem;color:#1a202c;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #e2e8f0;padding-bottom:.2rem;margin-top:2rem}
.sub{color:#4a5568;margin-top:0}.demo{background:#fefcbf;border:2px solid #d69e2e;padding:.6rem .9rem;
font-weight:600;border-radius:6px}.demo strong{font-size:1.2rem;letter-spacing:.08em}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #edf2f7;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.empty{color:#4a5568;font-style:italic}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.6rem;padding:0;list-style:none}
.kpis li{background:#f7fafc;border-radius:6px;padding:.5rem .7rem}.kpis .metric{display:block;font-size:1.3rem;
font-weight:600}figure{margin:1rem 0}figure svg{max-width:100%;height:auto}.note{color:#4a5568;font-size:.85rem}
.up{color:#2f855a}.down{color:#c53030}
</style></head>
<body>
<header>
{% if demo %}<p class="demo" id="demo-banner"><strong>DEMO</strong> · built from simulated engagement
(<code>is_demo = true</code>) or demo campaigns, not a real audience.</p>{% endif %}
<h1>{{ brand }}: {{ kind }} report, {{ period }}</h1>
<p class="sub">{{ start }} to {{ end }} ({{ timezone }}) · generated {{ generated }}</p>
{% if left_out_demo_rows %}<p class="note">{{ left_out_demo_rows }} simulated (demo) engagement rows of this
{{ noun }} are left out: the {{ noun }} has real engagement.</p>{% endif %}
</header>

<section id="summary" data-section="summary"><h2>{{ titles.summary }}</h2>
{% if empty %}<p class="empty" id="no-publications">No publications this {{ noun }}, and no engagement
recorded for it.</p>{% endif %}
<ul class="kpis">
<li>published by splants {{ m.publications }}</li>
<li>posts published (with engagement data) {{ m.posts }}</li>
<li>impressions {{ m.impressions }}</li>
<li>engagement rate {{ m.engagement_rate }}</li>
<li>baseline {{ m.baseline_engagement_rate }}</li>
<li>anomalies {{ m.anomalies }}</li>
<li>A/B tests decided {{ m.ab_decided }}</li>
<li>LLM spend {{ m.spend_usd }}</li>
</ul>
{% if prev %}<p>Previous {{ noun }}: {{ prev }}.</p>{% endif %}
</section>

<section id="publications" data-section="publications"><h2>{{ titles.publications }}</h2>
{% if not publications and not posts %}<p class="empty">No publications this {{ noun }}.</p>{% endif %}
{% if publications %}<table><thead><tr><th>published</th><th>piece</th><th>platform</th><th>campaign</th>
<th>publisher</th></tr></thead><tbody>
{% for p in publications[:max_listed] %}<tr data-row="publication"><td>{{ p.when }}</td><td>{% if p.link %}<a href="{{ p.link }}">{{ p.piece_id }}</a>{% else %}{{ p.piece_id }}{% endif %}</td>
<td>{{ p.platform }}</td><td>{{ p.campaign_id }}</td><td>{{ p.publisher }}</td></tr>{% endfor %}
</tbody></table>{% if publications|length > max_listed %}<p class="note">and {{ publications|length - max_listed }} more.</p>{% endif %}
{% elif posts %}<p>Nothing was published by splants this {{ noun }}.</p>{% endif %}
{% if posts %}<p>Posts published this {{ noun }} that have engagement data{% if demo %} (simulated){% endif %}:</p>
<table><thead><tr><th>platform</th><th>content type</th><th class="num">posts</th><th class="num">not published by splants</th></tr></thead><tbody>
{% for r in posts %}<tr data-row="posts"><td>{{ r.platform }}</td><td>{{ r.content_type }}</td><td class="num">{{ r.posts_m }}</td><td class="num">{{ r.external_posts }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
</section>

<section id="engagement" data-section="engagement"><h2>{{ titles.engagement }}</h2>
{% if not by_platform %}<p class="empty">No engagement recorded this {{ noun }}.</p>{% else %}
<p>Baseline: the rate expected had every piece-day done as well as its platform's trailing 28-day rate
(impression-weighted <code>baseline_engagement_rate</code> of <code>analytics.engagement_daily</code>).</p>
<table><thead><tr><th>platform</th><th class="num">pieces</th><th class="num">impressions</th><th class="num">engagements</th>
<th class="num">clicks</th><th class="num">rate</th><th class="num">baseline</th><th class="num">vs baseline</th></tr></thead><tbody>
{% for r in by_platform %}<tr data-row="platform" data-platform="{{ r.platform }}"><td>{{ r.platform }}</td><td class="num">{{ r.pieces }}</td>
<td class="num">{{ r.impressions_m }}</td><td class="num">{{ r.engagements_m }}</td><td class="num">{{ r.clicks }}</td>
<td class="num">{{ r.rate_m }}</td><td class="num">{{ r.baseline_m }}</td><td class="num {{ r.dir }}">{{ r.lift }}</td></tr>{% endfor %}
<tr data-row="total"><th>all</th><td class="num">{{ total.pieces }}</td><td class="num">{{ m.impressions }}</td><td class="num">{{ m.engagements }}</td>
<td class="num">{{ total.clicks }}</td><td class="num">{{ m.engagement_rate }}</td><td class="num">{{ m.baseline_engagement_rate }}</td><td class="num {{ total.dir }}">{{ total.lift }}</td></tr>
</tbody></table>
{% for svg in engagement_plots %}<figure class="plot">{{ svg }}</figure>{% endfor %}
{% endif %}
</section>

<section id="anomalies" data-section="anomalies"><h2>{{ titles.anomalies }}</h2>
{% if not anomalies %}<p class="empty">No anomalies detected this {{ noun }}.</p>{% else %}
<p>{{ m.anomalies }} anomalies: {{ anomaly_counts }}.</p>
<table><thead><tr><th>day</th><th>piece</th><th>platform</th><th>rule</th><th>severity</th><th class="num">value</th>
<th class="num">baseline</th><th>what was done</th></tr></thead><tbody>
{% for a in anomalies[:max_listed] %}<tr data-row="anomaly"><td>{{ a.date }}</td><td>{{ a.piece_id }}</td><td>{{ a.platform }}</td><td>{{ a.rule }}</td>
<td>{{ a.severity }}</td><td class="num">{{ a.value_s }}</td><td class="num">{{ a.baseline_s }}</td><td>{{ a.action_s }}</td></tr>{% endfor %}
</tbody></table>{% if anomalies|length > max_listed %}<p class="note">and {{ anomalies|length - max_listed }} more (see <code>analytics.anomalies</code>).</p>{% endif %}
{% endif %}
</section>

<section id="ab_tests" data-section="ab_tests"><h2>{{ titles.ab_tests }}</h2>
{% if not ab_decided %}<p class="empty">No A/B test was decided this {{ noun }}.</p>{% else %}
<table><thead><tr><th>control</th><th>variant</th><th>tested</th><th>decision</th><th class="num">control rate</th>
<th class="num">variant rate</th><th class="num">lift</th><th class="num">p</th><th>design</th></tr></thead><tbody>
{% for t in ab_decided %}<tr data-row="ab"><td>{{ t.variant_of }}</td><td>{{ t.variant_piece_id }}</td><td>{{ t.dimension }}</td><td>{{ t.decision }}</td>
<td class="num">{{ t.rc }}</td><td class="num">{{ t.rv }}</td><td class="num">{{ t.lift_s }}</td><td class="num">{{ t.p_s }}</td><td>{{ t.design }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
<p>Tests still running: {{ m.ab_running }}.</p>
</section>

<section id="spend" data-section="spend"><h2>{{ titles.spend }}</h2>
<p>LLM spend this {{ noun }}: {{ m.spend_usd }} over {{ m.calls }} calls (<code>analytics.cost_daily</code>).</p>
{% if budget %}<p>Budget for {{ budget.month }}: {{ m.budget_usd }}; spent {{ m.budget_spent_usd }} by {{ budget.when }}
(month-end forecast {{ m.budget_forecast_usd }}, strategy <strong>{{ budget.strategy }}</strong>{% if budget.reason %}: {{ budget.reason }}{% endif %}).</p>
{% else %}<p class="empty">No budget evaluation recorded before the end of this {{ noun }} (<code>analytics.budget_status</code> is empty for it).</p>{% endif %}
{% if spend_plot %}<figure class="plot">{{ spend_plot }}</figure>{% endif %}
</section>

<section id="best_worst" data-section="best_worst"><h2>{{ titles.best_worst }}</h2>
{% if not best %}<p class="empty">Too few pieces to compare: {{ ranked }} piece(s) had at least {{ min_impressions }}
impressions and a baseline this {{ noun }} (two are needed).</p>{% else %}
<p>Ranked by engagement rate against their platform's baseline, among the {{ ranked }} pieces with at least
{{ min_impressions }} impressions this {{ noun }}.</p>
{% for name, rows, shared in groups %}<h3>{{ name|capitalize }}</h3>
<table><thead><tr><th>piece</th><th>platform</th><th>type</th><th class="num">impressions</th><th class="num">rate</th>
<th class="num">baseline</th><th class="num">vs baseline</th><th>text</th></tr></thead><tbody>
{% for r in rows %}<tr data-row="{{ name }}"><td>{{ r.piece_id }}</td><td>{{ r.platform }}</td><td>{{ r.content_type or '' }}</td>
<td class="num">{{ r.impressions_m }}</td><td class="num">{{ r.rate_m }}</td><td class="num">{{ r.baseline_s }}</td><td class="num">{{ r.lift_s }}</td>
<td>{{ r.text or '' }}</td></tr>{% endfor %}</tbody></table>
<p>What the {{ name }} had in common:</p>
{% if shared %}<ul>{% for s in shared %}<li data-trait="{{ s.trait }}">{{ s.trait }}: {{ s.in_group }} of {{ s.group_size }}
({{ s.in_other }} of {{ s.other_size }} among the {{ 'worst' if name == 'best' else 'best' }}{% if not s.distinguishes %}, so it does not set them apart{% endif %})</li>{% endfor %}</ul>
{% else %}<p class="empty">No trait was shared by more than half of them.</p>{% endif %}
{% endfor %}{% endif %}
</section>
<footer class="note"><p>Figures read from the <code>analytics</code> views of the warehouse snapshot; see docs/reports.md.</p></footer>
</body></html>
"""


@cache
def _template() -> Template:
    """Compiled on the first report: Jinja and the compilation stay out of the code location's load."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(TEMPLATE)


def _platform_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        p = r["platform"]
        rate, base = r["engagement_rate"], r["baseline_engagement_rate"]
        out.append(
            {
                **r,
                "pieces": fmt_int(r["pieces"]),
                "clicks": fmt_int(r["clicks"]),
                "impressions_m": metric(f"impressions:{p}", r["impressions"], fmt_int(r["impressions"])),
                "engagements_m": metric(f"engagements:{p}", r["engagements"], fmt_int(r["engagements"])),
                "rate_m": metric(f"engagement_rate:{p}", rate, fmt_pct(rate)),
                "baseline_m": metric(f"baseline_engagement_rate:{p}", base, fmt_pct(base)),
                "lift": fmt_lift(rate, base),
                "dir": _direction(rate, base),
            }
        )
    return out


def _direction(rate: Any, base: Any) -> str:
    if rate is None or not base:
        return ""
    return "up" if rate >= base else "down"


def _ranked_rows(rows: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    return [
        {
            **r,
            "impressions_m": metric(
                f"{group}_impressions:{r['piece_id']}", r["impressions"], fmt_int(r["impressions"])
            ),
            "rate_m": metric(
                f"{group}_rate:{r['piece_id']}", r["engagement_rate"], fmt_pct(r["engagement_rate"])
            ),
            "baseline_s": fmt_pct(r["baseline_engagement_rate"]),
            "lift_s": fmt_lift(r["engagement_rate"], r["baseline_engagement_rate"]),
            "text": snippet(r.get("text")),
        }
        for r in rows
    ]


def _previous(figures: Figures) -> str:
    prev = figures.previous_engagement
    if not prev.get("impressions"):
        return ""
    return (
        f"{fmt_int(prev['impressions'])} impressions, engagement rate {fmt_pct(prev['engagement_rate'])} "
        f"(baseline {fmt_pct(prev['baseline_engagement_rate'])})"
    )


def context(figures: Figures, brand: str, generated_at: dt.datetime) -> dict[str, Any]:
    """What the template shows; numbers pass through :func:`metric` with their raw value."""
    eng = figures.engagement
    tz = figures.timezone
    budget = figures.budget
    calls = sum(int(r["calls"] or 0) for r in figures.spend_by_day)
    m = {
        "publications": metric("publications", len(figures.publications), fmt_int(len(figures.publications))),
        "posts": metric("posts", figures.posts_published, fmt_int(figures.posts_published)),
        "impressions": metric("impressions", eng.get("impressions"), fmt_int(eng.get("impressions"))),
        "engagements": metric("engagements", eng.get("engagements"), fmt_int(eng.get("engagements"))),
        "engagement_rate": metric(
            "engagement_rate", eng.get("engagement_rate"), fmt_pct(eng.get("engagement_rate"))
        ),
        "baseline_engagement_rate": metric(
            "baseline_engagement_rate",
            eng.get("baseline_engagement_rate"),
            fmt_pct(eng.get("baseline_engagement_rate")),
        ),
        "anomalies": metric("anomalies", len(figures.anomalies), fmt_int(len(figures.anomalies))),
        "ab_decided": metric("ab_decided", len(figures.ab_decided), fmt_int(len(figures.ab_decided))),
        "ab_running": metric("ab_running", figures.ab_running, fmt_int(figures.ab_running)),
        "spend_usd": metric("spend_usd", figures.spend_usd, fmt_usd(figures.spend_usd)),
        "calls": metric("calls", calls, fmt_int(calls)),
        "budget_usd": metric(
            "budget_usd", budget and budget["budget_usd"], fmt_usd(budget and budget["budget_usd"])
        ),
        "budget_spent_usd": metric(
            "budget_spent_usd", budget and budget["spent_usd"], fmt_usd(budget and budget["spent_usd"])
        ),
        "budget_forecast_usd": metric(
            "budget_forecast_usd",
            budget and budget["forecast_usd"],
            fmt_usd(budget and budget["forecast_usd"]),
        ),
    }
    best, worst = figures.best_and_worst()
    groups = [
        ("best", _ranked_rows(best, "best"), shared_traits(best, worst, tz)),
        ("worst", _ranked_rows(worst, "worst"), shared_traits(worst, best, tz)),
    ]
    engagement_plots: list[Markup] = []
    if figures.engagement_by_platform:
        engagement_plots.append(Markup(plots.engagement_by_platform_svg(figures.engagement_by_platform)))
        engagement_plots.append(Markup(plots.engagement_by_day_svg(figures.engagement_by_day)))
    spend_plot = None
    if figures.spend_by_day:
        per_day = None
        if budget and budget.get("budget_usd"):
            year, month = (int(x) for x in str(budget["month"]).split("-")[:2])
            per_day = float(budget["budget_usd"]) / calendar.monthrange(year, month)[1]
        spend_plot = Markup(plots.spend_by_day_svg(figures.spend_by_day, per_day))
    rule_counts = Counter(f"{a['rule']} ({a['severity']})" for a in figures.anomalies)
    total_row = {
        "pieces": fmt_int(eng.get("pieces")),
        "clicks": fmt_int(eng.get("clicks")),
        "lift": fmt_lift(eng.get("engagement_rate"), eng.get("baseline_engagement_rate")),
        "dir": _direction(eng.get("engagement_rate"), eng.get("baseline_engagement_rate")),
    }
    return {
        "brand": brand,
        "kind": figures.period.kind,
        "period": figures.period.label,
        "noun": figures.period.noun,
        "start": figures.period.start.isoformat(),
        "end": figures.period.end.isoformat(),
        "timezone": tz,
        "generated": generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "demo": figures.demo,
        "left_out_demo_rows": figures.left_out_demo_rows,
        "empty": figures.empty,
        "titles": TITLES,
        "m": m,
        "prev": _previous(figures),
        "max_listed": MAX_LISTED,
        "min_impressions": MIN_IMPRESSIONS,
        "publications": [
            {**p, "when": fmt_time(p["published_at"], tz), "link": web_link(p.get("url"))}
            for p in figures.publications
        ],
        "posts": [
            {
                **r,
                "posts_m": metric(
                    f"posts:{r['platform']}:{r['content_type']}", r["posts"], fmt_int(r["posts"])
                ),
            }
            for r in figures.posts
        ],
        "by_platform": _platform_rows(figures.engagement_by_platform),
        "total": total_row,
        "engagement_plots": engagement_plots,
        "anomalies": [
            {
                **a,
                "value_s": "–" if a["value"] is None else f"{a['value']:.4g}",
                "baseline_s": "–" if a["baseline"] is None else f"{a['baseline']:.4g}",
                "action_s": anomaly_action(a),
            }
            for a in figures.anomalies
        ],
        "anomaly_counts": ", ".join(f"{k} {v}" for k, v in sorted(rule_counts.items())),
        "ab_decided": [
            {
                **t,
                "rc": fmt_pct(t["rate_control"]),
                "rv": fmt_pct(t["rate_variant"]),
                "lift_s": "–" if t["lift"] is None else f"{t['lift']:+.1%}",
                "p_s": "–" if t["p_value"] is None else f"{t['p_value']:.3g}",
            }
            for t in figures.ab_decided
        ],
        "budget": None if budget is None else {**budget, "when": fmt_time(budget["as_of"], tz)},
        "spend_plot": spend_plot,
        "best": best,
        "ranked": len(figures.ranked),
        "groups": groups,
    }


def render_html(figures: Figures, brand: str, generated_at: dt.datetime) -> str:
    return _template().render(**context(figures, brand, generated_at))
