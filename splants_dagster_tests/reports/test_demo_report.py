"""The demo's weekly report, rendered and checked: every section, the plots, the DEMO label, and every
number equal to a direct query on the analytics views it comes from."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
from lxml import html as lxml_html

from splants_dagster.reports.render import SECTIONS

from .conftest import WEEK_END, WEEK_START

TZ = "Europe/London"


@pytest.fixture(scope="module")
def page(demo_report):
    assert demo_report.report.path is not None
    return lxml_html.parse(str(demo_report.report.path)).getroot()


@pytest.fixture(scope="module")
def views(demo_report):
    conn = duckdb.connect(str(demo_report.data_dir / "analytics.duckdb"), read_only=True)
    yield lambda sql, params=(): conn.execute(sql, list(params)).fetchall()
    conn.close()


def values(page) -> dict[str, str]:
    return {el.get("data-metric"): el.get("data-value") for el in page.iter() if el.get("data-metric")}


def test_the_demo_produces_a_weekly_report_where_the_desk_looks(demo_report):
    path = demo_report.report.path
    assert path == demo_report.data_dir / "reports" / "hearth-and-bean" / "weekly-2026-W47.html"
    assert "DEMO" in demo_report.report.message
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["kind"] == "weekly" and sidecar["period"] == "2026-W47"
    assert (sidecar["period_start"], sidecar["period_end"]) == (str(WEEK_START), str(WEEK_END))
    assert sidecar["brand"] == "Hearth & Bean" and sidecar["demo"] is True
    assert sidecar["sections"] == list(SECTIONS) and sidecar["path"] == str(path)
    assert sidecar["generated_at"]


def test_every_section_is_present_and_the_report_says_demo(page):
    for section in SECTIONS:
        (node,) = page.xpath(f"//section[@id='{section}']")
        assert node.xpath(".//h2"), section
    banner = page.get_element_by_id("demo-banner")
    assert "DEMO" in banner.text_content() and "simulated" in banner.text_content()
    assert page.findtext(".//title").startswith("[DEMO] Hearth & Bean: weekly report 2026-W47")


def test_plots_are_inline_svg(page):
    engagement = page.get_element_by_id("engagement").xpath(".//figure/*[local-name()='svg']")
    spend = page.get_element_by_id("spend").xpath(".//figure/*[local-name()='svg']")
    assert len(engagement) == 2 and len(spend) == 1
    # self-contained: no external script, stylesheet or image
    assert not page.xpath("//script|//link[@rel='stylesheet']|//img[not(starts-with(@src, 'data:'))]")


def test_numbers_equal_the_views(page, views):
    shown = values(page)
    demo = True  # the week has only simulated engagement
    (imp, eng, rate, base) = views(
        "SELECT sum(impressions), sum(engagements), sum(engagements) / sum(impressions), "
        "sum(baseline_engagement_rate * impressions) FILTER (WHERE baseline_engagement_rate IS NOT NULL) "
        "/ sum(impressions) FILTER (WHERE baseline_engagement_rate IS NOT NULL) "
        "FROM analytics.engagement_daily WHERE date BETWEEN ? AND ? AND is_demo = ?",
        [WEEK_START, WEEK_END, demo],
    )[0]
    assert imp > 0
    assert int(shown["impressions"]) == imp and int(shown["engagements"]) == eng
    assert float(shown["engagement_rate"]) == pytest.approx(rate, rel=1e-12)
    assert float(shown["baseline_engagement_rate"]) == pytest.approx(base, rel=1e-12)
    per_platform = views(
        "SELECT platform, sum(impressions), sum(engagements) / sum(impressions) FROM analytics.engagement_daily "
        "WHERE date BETWEEN ? AND ? AND is_demo GROUP BY 1",
        [WEEK_START, WEEK_END],
    )
    assert len(per_platform) >= 4
    for platform, impressions, platform_rate in per_platform:
        assert int(shown[f"impressions:{platform}"]) == impressions
        assert float(shown[f"engagement_rate:{platform}"]) == pytest.approx(platform_rate, rel=1e-12)
    (anomalies,) = views(
        "SELECT count(*) FROM analytics.anomalies WHERE date BETWEEN ? AND ? AND is_demo",
        [WEEK_START, WEEK_END],
    )[0]
    assert int(shown["anomalies"]) == anomalies
    (published,) = views(
        "SELECT count(*) FROM analytics.publications WHERE status = 'published' "
        "AND CAST(timezone(?, published_at) AS DATE) BETWEEN ? AND ?",
        [TZ, WEEK_START, WEEK_END],
    )[0]
    assert int(shown["publications"]) == published == 1
    (posts,) = views(
        "SELECT count(*) FROM analytics.engagement_posts WHERE is_demo "
        "AND CAST(timezone(?, published_at) AS DATE) BETWEEN ? AND ?",
        [TZ, WEEK_START, WEEK_END],
    )[0]
    assert int(shown["posts"]) == posts > 0
    (decided,) = views(
        "SELECT count(*) FROM analytics.ab_results WHERE CAST(timezone(?, decided_at) AS DATE) BETWEEN ? AND ?",
        [TZ, WEEK_START, WEEK_END],
    )[0]
    assert int(shown["ab_decided"]) == decided == 1
    (spend, calls) = views(
        "SELECT sum(cost_usd), sum(calls) FROM analytics.cost_daily WHERE date BETWEEN ? AND ?",
        [WEEK_START, WEEK_END],
    )[0]
    assert float(shown["spend_usd"]) == pytest.approx(spend) and int(shown["calls"]) == calls == 4
    (budget, spent) = views(
        "SELECT budget_usd, spent_usd FROM analytics.budget_status ORDER BY as_of DESC LIMIT 1"
    )[0]
    assert float(shown["budget_usd"]) == budget and float(shown["budget_spent_usd"]) == spent


def test_anomalies_say_what_was_done(page, views):
    rows = page.xpath("//section[@id='anomalies']//tr[@data-row='anomaly']")
    (n,) = views(
        "SELECT count(*) FROM analytics.anomalies WHERE date BETWEEN ? AND ? AND is_demo",
        [WEEK_START, WEEK_END],
    )[0]
    assert len(rows) == min(n, 30)
    # the simulator's posts are not ours: the honest action is an alert, never an invented boost
    assert all("not published by splants" in r.xpath("./td")[-1].text_content() for r in rows)


def test_ab_outcome_and_publication_are_listed_safely(page):
    (ab,) = page.xpath("//tr[@data-row='ab']")
    assert "variant_wins" in ab.text_content() and "+31.0%" in ab.text_content()
    (pub,) = page.xpath("//tr[@data-row='publication']")
    assert "compostable-pods-launch:twitter:social_post" in pub.text_content()
    # autoescaped: the URL's markup is text in an attribute, never an element
    assert not page.xpath("//script")
    assert pub.xpath(".//a/@href")[0].endswith("<script>alert(1)</script>")


def test_best_and_worst_with_what_they_shared(page, views):
    best = page.xpath("//tr[@data-row='best']")
    worst = page.xpath("//tr[@data-row='worst']")
    assert len(best) == len(worst) == 5
    best_ids = {r.xpath("./td")[0].text_content() for r in best}
    assert not best_ids & {r.xpath("./td")[0].text_content() for r in worst}
    # the best piece's rate is the view's rate for that piece over the week
    top = best[0].xpath("./td")[0].text_content()
    (rate,) = views(
        "SELECT sum(engagements) / sum(impressions) FROM analytics.engagement_daily "
        "WHERE date BETWEEN ? AND ? AND is_demo AND piece_id = ?",
        [WEEK_START, WEEK_END, top],
    )[0]
    assert float(values(page)[f"best_rate:{top}"]) == pytest.approx(rate, rel=1e-12)
    traits = page.xpath("//section[@id='best_worst']//li[@data-trait]")
    assert traits, "shared traits are listed"
    for li in traits:  # stated with counts: "<trait>: k of n (j of m among the ...)"
        text = " ".join(li.text_content().split())
        assert " of 5 (" in text and "among the" in text


def test_the_report_is_recorded_in_the_warehouse(demo_report, views):
    (row,) = views(
        "SELECT report_id, kind, period, period_start, demo, path, publications, impressions, sections, "
        "alert_channels FROM analytics.reports"
    )
    assert row[0] == "hearth-and-bean/weekly-2026-W47" and row[1:4] == ("weekly", "2026-W47", WEEK_START)
    assert row[4] is True and row[5] == str(demo_report.report.path) and row[6] == 1 and row[7] > 0
    assert row[8] == list(SECTIONS) and row[9] == "log"


def test_materialization_metadata(demo_report):
    event = demo_report.instance.fetch_materializations(dg.AssetKey("weekly_report"), limit=1).records[0]
    meta = event.asset_materialization.metadata
    assert meta["path"].value == str(demo_report.report.path)
    assert meta["demo"].value is True and meta["publications"].value == 1
    assert "data:image/png;base64," in meta["summary"].value and "DEMO" in meta["summary"].value
    assert event.asset_materialization.partition == "2026-11-16"
