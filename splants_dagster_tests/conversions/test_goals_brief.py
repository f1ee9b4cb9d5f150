"""The brief's optional structured goal: both fields or neither, each problem naming its field and value."""

import datetime as dt

import pytest

from splants_dagster.campaigns.briefs import BriefError, load_brief

BRIEF = """\
id: spring-pods
topic: Compostable coffee pods for home brewers
goal: Get 500 pre-orders of the starter pack in the first four weeks
audience: home brewers
platforms: [blog, twitter]
content_types: [blog, social_post]
start_date: 2027-03-01
duration_days: 28
"""


def test_structured_goal_is_optional_and_kept(tmp_path):
    path = tmp_path / "spring-pods.yaml"
    path.write_text(BRIEF)
    brief, _ = load_brief(path, today=dt.date(2027, 2, 1))
    assert (brief.goal_metric, brief.goal_target) == (None, None)
    path.write_text(BRIEF + "goal_metric: orders\ngoal_target: 500\n")
    brief, _ = load_brief(path, today=dt.date(2027, 2, 1))
    assert (brief.goal_metric, brief.goal_target, brief.goal) == (
        "orders",
        500,
        "Get 500 pre-orders of the starter pack in the first four weeks",
    )


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("goal_metric: orders\n", "field 'goal_target' = None: is required with goal_metric 'orders'"),
        ("goal_target: 500\n", "field 'goal_target' = 500: needs goal_metric (orders, revenue, signups"),
        ("goal_metric: sales\ngoal_target: 5\n", "field 'goal_metric' = 'sales': Input should be 'orders'"),
        (
            "goal_metric: orders\ngoal_target: -3\n",
            "field 'goal_target' = -3: Input should be greater than 0",
        ),
    ],
)
def test_bad_goal_fields_name_the_field_and_value(tmp_path, extra, expected):
    path = tmp_path / "spring-pods.yaml"
    path.write_text(BRIEF + extra)
    with pytest.raises(BriefError) as caught:
        load_brief(path, today=dt.date(2027, 2, 1))
    assert expected in str(caught.value)


def test_conversion_source_is_optional_and_one_of_the_import_presets(tmp_path):
    path = tmp_path / "spring-pods.yaml"
    path.write_text(BRIEF)
    brief, _ = load_brief(path, today=dt.date(2027, 2, 1))
    assert brief.conversion_source is None
    for source in ("shopify_orders", "woocommerce_orders", "stripe_payments", "ga4_landing_pages", "generic"):
        path.write_text(BRIEF + f"conversion_source: {source}\n")
        brief, _ = load_brief(path, today=dt.date(2027, 2, 1))
        assert brief.conversion_source == source
        assert f'"conversion_source":"{source}"' in brief.model_dump_json()  # what registration stores


@pytest.mark.parametrize(
    "value, shown",
    [("shopify", "'shopify'"), ("Shopify Orders", "'Shopify Orders'"), ('""', "''"), ("42", "42")],
)
def test_unknown_conversion_source_names_the_file_field_and_value(tmp_path, value, shown):
    path = tmp_path / "spring-pods.yaml"
    path.write_text(BRIEF + f"conversion_source: {value}\n")
    with pytest.raises(BriefError) as caught:
        load_brief(path, today=dt.date(2027, 2, 1))
    message = str(caught.value)
    assert message.startswith(f"{path}: field 'conversion_source' = {shown}: ")
    if value != "42":
        assert (
            "is not a conversion source: use one of generic, shopify_orders, woocommerce_orders, "
            "stripe_payments, ga4_landing_pages" in message
        )
    assert caught.value.as_rows()[0]["field"] == "conversion_source"
