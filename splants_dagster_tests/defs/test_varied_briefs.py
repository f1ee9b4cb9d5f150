"""Briefs unlike the demo (B2B software, a paid bakery promotion, a yoga studio) go all the way through QA
and scheduling on the offline provider: the template writer must not stuff keywords, repeat itself across
campaigns, or write text too hard for its platform."""

import datetime as dt

import pytest

from splants_dagster_tests.fixtures_http import materialize_campaign


def in_days(days: int) -> str:
    """A start date ahead of today: briefs whose window has ended are refused (docs/briefs.md)."""
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()


BRIEFS = {
    "invoice-app-launch": f"""
id: invoice-app-launch
topic: Launch of our invoicing app for freelance designers and photographers
goal: 300 trial sign-ups in a month
audience: Freelance designers who hate chasing late payments
keywords: [invoicing app, late payments, freelance invoicing]
platforms: [blog, linkedin, twitter, email, youtube]
content_types: [blog, social_post, email, video_script, ad_copy]
tone: professional
start_date: {in_days(3)}
duration_days: 30
""",
    "sourdough-saturdays": f"""
id: sourdough-saturdays
topic: Sourdough Saturdays at our neighbourhood bakery, with fresh loaves from 7am
goal: Fill the Saturday morning queue
audience: Families and early risers in Chapel Allerton
keywords: [sourdough bread, local bakery, weekend breakfast]
platforms: [instagram, facebook, pinterest, tiktok, blog]
content_types: [social_post, ad_copy, video_script, blog, landing_page]
tone: enthusiastic
start_date: {in_days(5)}
duration_days: 14
paid: true
""",
    "yoga-january": f"""
id: yoga-january
topic: New year beginner yoga classes for people who have never tried yoga
goal: Sell 40 beginner passes
audience: Adults over 40 who want gentle exercise
keywords: [beginner yoga, gentle exercise]
platforms: [facebook, email, blog]
content_types: [social_post, email, blog, press_release, product_description]
tone: inspirational
start_date: {in_days(26)}
duration_days: 28
""",
}


@pytest.mark.slow
def test_varied_briefs_pass_qa_and_get_scheduled(data_dir, instance, resources, store):
    for campaign_id, text in BRIEFS.items():
        (data_dir / "campaigns" / f"{campaign_id}.yaml").write_text(text)
    selection = ["campaign_brief", "research_brief", "content_suite", "qa_report", "publishing_schedule"]
    for campaign_id in ["compostable-pods-launch", *BRIEFS]:
        result = materialize_campaign(
            instance, resources, campaign_id, selection=selection, raise_on_error=False
        )
        problems = store.query(
            'SELECT s.piece_id, f."check", f.message FROM qa_status s JOIN qa_findings f USING (piece_id)'
            " WHERE s.campaign_id = ? AND s.status NOT IN ('approved', 'auto_fixed') AND f.severity <> 'info'",
            [campaign_id],
        )
        assert result.success and not problems, (campaign_id, problems)
    paid = store.query(
        "SELECT rendered FROM content_pieces WHERE campaign_id = 'sourdough-saturdays' "
        "AND platform IN ('instagram', 'facebook')"
    )
    assert paid and all("#ad" in p["rendered"] for p in paid)  # the paid promotion carries its disclosure
    scheduled = store.query("SELECT campaign_id, count(*) n FROM analytics.schedule GROUP BY 1")
    assert {r["campaign_id"] for r in scheduled} == {"compostable-pods-launch", *BRIEFS}
