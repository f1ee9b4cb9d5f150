"""qa_report materialized with dg.materialize over a temp warehouse: the demo campaign, write-back of
auto-fixed text, the blocking gate in front of a downstream asset, and human review decisions."""

import functools

import dagster as dg
import yaml

from splants_dagster.defs.partitions import campaign_partitions
from splants_dagster.qa import CHECK_NAMES
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN

UPSTREAM = dg.AssetSelection.assets("qa_report").upstream()
PROBE = dg.AssetKey("publish_probe")
PUBLISHABLE = {"approved", "auto_fixed"}


@dg.asset(deps=["qa_report"], partitions_def=campaign_partitions, group_name="test", kinds={"python"})
def publish_probe() -> None:
    """Stands in for publishing: it may only run when the QA gate lets it."""


@functools.cache
def campaign_assets() -> tuple:
    from splants_dagster.definitions import defs

    return tuple(
        a
        for a in defs().assets
        if isinstance(a, dg.AssetsDefinition) and getattr(a.partitions_def, "name", None) == "campaigns"
    )


def run(instance, resources, *, probe: bool = False, raise_on_error: bool = True):
    if DEMO_CAMPAIGN not in instance.get_dynamic_partitions("campaigns"):
        instance.add_dynamic_partitions("campaigns", [DEMO_CAMPAIGN])
    selection = UPSTREAM | dg.AssetSelection.assets(PROBE) if probe else UPSTREAM
    return dg.materialize(
        [*campaign_assets(), *([publish_probe] if probe else [])],
        selection=selection,
        partition_key=DEMO_CAMPAIGN,
        instance=instance,
        resources=resources,
        raise_on_error=raise_on_error,
    )


def checks(result) -> dict[str, bool]:
    return {
        e.check_name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path == ["qa_report"]
    }


def edit_yaml(path, **changes) -> None:
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if callable(value):
            data[key] = value(data.get(key))
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def statuses(store) -> dict[str, dict]:
    return {
        r["piece_id"]: r
        for r in store.query("SELECT * FROM analytics.qa_status WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    }


def test_demo_campaign_passes_qa_gets_variants_and_reruns_idempotently(instance, resources, store):
    result = run(instance, resources, probe=True)
    assert result.success
    assert checks(result) == {
        "no_flagged_pieces": True,
        "legal_compliance": True,
        "soft_checks_pass": checks(result)["soft_checks_pass"],  # a warning, whichever way it goes
        "variants_complete": True,
        "reviews_applied": True,
    }
    assert result.asset_materializations_for_node("publish_probe"), "the gate is open: downstream ran"

    status = statuses(store)
    originals = {k: v for k, v in status.items() if v["variant_of"] is None}
    variants = {k: v for k, v in status.items() if v["variant_of"] is not None}
    assert len(originals) == 10 and len(variants) == 20
    assert {v["status"] for v in status.values()} <= PUBLISHABLE
    assert all(v["qa_score"] >= 0.8 and v["decided_by"] == "qa" for v in status.values())

    final = store.query('SELECT piece_id, "check", score, passed FROM analytics.qa_results WHERE is_final')
    assert len(final) == 30 * len(CHECK_NAMES) and {r["check"] for r in final} == set(CHECK_NAMES)
    claims = store.query("SELECT * FROM analytics.claims WHERE is_final AND campaign_id = ?", [DEMO_CAMPAIGN])
    assert claims and all(c["check"] == "factual" and c["claim_text"] for c in claims)
    assert all(c["supported"] and c["support_ref"] for c in claims)  # the demo states only approved facts
    assert all(0 <= r["score"] <= 1 for r in final)

    rows = store.query("SELECT piece_id, variant_of, dimension FROM analytics.variants ORDER BY piece_id")
    assert len(rows) == 20 and {r["dimension"] for r in rows} == {"hook", "headline", "cta"}
    assert all(r["piece_id"] in (f"{r['variant_of']}~v1", f"{r['variant_of']}~v2") for r in rows)
    content = store.query(
        "SELECT piece_id, variant_of, variant_dimension, body, char_count, rendered FROM content_pieces "
        "WHERE campaign_id = ? AND variant_of IS NOT NULL",
        [DEMO_CAMPAIGN],
    )
    assert {c["piece_id"] for c in content} == {r["piece_id"] for r in rows}
    assert all(c["variant_dimension"] and c["char_count"] == len(c["rendered"]) for c in content)

    # the analysts' contract columns
    for view, columns in {
        "qa_results": ["piece_id", "check", "score", "passed", "findings_count"],
        "qa_findings": ["piece_id", "check", "excerpt", "message", "suggestion"],
        "qa_status": ["piece_id", "qa_score", "status", "rounds"],
        "variants": ["piece_id", "variant_of", "dimension"],
    }.items():
        have = [
            r["column_name"]
            for r in store.query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
                [view],
            )
        ]
        assert have[: len(columns)] == columns, view

    metadata = result.asset_materializations_for_node("qa_report")[0].metadata
    rates = {name: metadata[f"pass_rate_{name}"].value for name in CHECK_NAMES}
    assert rates["legal"] == 1.0 and rates["factual"] == 1.0 and rates["uniqueness"] == 1.0
    assert metadata["variants"].value == 20 and metadata["flagged"].value == 0
    assert (
        "| piece | check |" in metadata["worst_findings"].value
        or metadata["worst_findings"].value == "_(none)_"
    )
    calls = store.query("SELECT purpose FROM analytics.llm_calls WHERE asset = 'qa_report'")
    assert [c["purpose"] for c in calls] == ["content.variant"] * 20

    # a second run decides the same, reuses the variants and keeps the decision times
    again = run(instance, resources)
    assert again.success
    after = statuses(store)
    assert {k: (v["status"], v["qa_score"], v["decided_at"]) for k, v in after.items()} == {
        k: (v["status"], v["qa_score"], v["decided_at"]) for k, v in status.items()
    }
    calls = store.query("SELECT purpose FROM analytics.llm_calls WHERE asset = 'qa_report'")
    assert len(calls) == 20, "unchanged variants are reused, not regenerated"
    assert (
        store.query("SELECT count(*) AS n FROM content_pieces WHERE campaign_id = ?", [DEMO_CAMPAIGN])[0]["n"]
        == 30
    )


def test_auto_fixed_text_is_written_back_for_publishing(data_dir, instance, resources, store):
    edit_yaml(data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml", paid=True)
    assert run(instance, resources).success
    status = statuses(store)
    assert {v["status"] for v in status.values()} <= PUBLISHABLE
    fixed = {k for k, v in status.items() if v["status"] == "auto_fixed"}
    social = {k for k in status if k.split(":")[2] in ("social_post", "ad_copy")}  # originals
    assert len(social) == 8 and social <= fixed
    for pid in social:
        assert any("disclosure" in f for f in status[pid]["fixes"]) and status[pid]["rounds"] >= 1
    pieces = {
        r["piece_id"]: r
        for r in store.query("SELECT * FROM content_pieces WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    }
    for pid in social | {f"{p}~v{i}" for p in social for i in (1, 2)}:  # variants carry it too
        body, rendered = pieces[pid]["body"], pieces[pid]["rendered"]
        assert (
            body.startswith("#ad ")
            and rendered.startswith("#ad ")
            and pieces[pid]["char_count"] == len(rendered)
        )
        if pid in social:
            assert any(a.startswith("qa round 1: legal") for a in pieces[pid]["adjustments"])
        if pieces[pid]["platform"] == "twitter":
            assert len(rendered) <= 280
    first_round = store.query(
        "SELECT DISTINCT piece_id FROM analytics.qa_findings WHERE code = 'missing_disclosure' AND round = 0 "
        "AND NOT is_final"
    )
    assert {r["piece_id"] for r in first_round} >= social

    assert run(instance, resources).success  # QA starts again from the generated text, not its own output
    again = statuses(store)
    assert {k: (v["status"], v["fixes"]) for k, v in again.items()} == {
        k: (v["status"], v["fixes"]) for k, v in status.items()
    }
    bodies = {r["piece_id"]: r["body"] for r in store.query("SELECT piece_id, body FROM content_pieces")}
    assert all(not b.startswith("#ad #ad") for b in bodies.values())
    assert {pid: bodies[pid] for pid in social} == {pid: pieces[pid]["body"] for pid in social}


def test_blocking_check_stops_the_downstream_asset(data_dir, instance, resources, store):
    edit_yaml(
        data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml",
        call_to_action="Get guaranteed results: pre-order now",
    )
    result = run(instance, resources, probe=True, raise_on_error=False)
    assert not result.success
    assert result.asset_materializations_for_node("qa_report"), "the report itself is written"
    gate = checks(result)
    assert gate["no_flagged_pieces"] is False and gate["legal_compliance"] is False
    assert not result.asset_materializations_for_node("publish_probe")
    assert instance.get_latest_materialization_event(PROBE) is None
    status = statuses(store)
    assert status and all(v["status"] == "flagged" for v in status.values() if v["variant_of"] is None)
    assert store.query("SELECT status FROM analytics.campaigns")[0]["status"] == "qa_review"
    reasons = store.query(
        "SELECT DISTINCT code FROM analytics.qa_findings WHERE is_final AND severity = 'error'"
    )
    assert "prohibited_claim" in {r["code"] for r in reasons}


def test_review_decisions_apply_and_are_kept(data_dir, instance, resources, store):
    # every piece carries "starter pack", which this brand now refuses to claim: all flagged, legal passes
    edit_yaml(data_dir / "brand.yaml", avoid_claims=lambda claims: [*claims, "starter pack"])
    approved, rejected = f"{DEMO_CAMPAIGN}:twitter:ad_copy", f"{DEMO_CAMPAIGN}:email:email"
    reviews = data_dir / "reviews"
    reviews.mkdir()
    (reviews / f"{DEMO_CAMPAIGN}.yaml").write_text(
        yaml.safe_dump(
            {
                approved: {"decision": "approve", "by": "maria", "note": "the starter pack is real"},
                rejected: {"decision": "reject", "by": "sam"},
                f"{DEMO_CAMPAIGN}:tiktok:video_script": {"decision": "approve", "by": "sam"},
            }
        )
    )
    first = run(instance, resources, raise_on_error=False)
    status = statuses(store)
    assert status[approved]["status"] == "approved" and status[approved]["decided_by"] == "human:maria"
    assert (
        status[approved]["note"] == "the starter pack is real"
        and status[approved]["automated_status"] == "flagged"
    )
    assert status[rejected]["status"] == "rejected" and status[rejected]["decided_by"] == "human:sam"
    others = [v for k, v in status.items() if k not in (approved, rejected) and v["variant_of"] is None]
    assert others and all(v["status"] == "flagged" and v["decided_by"] == "qa" for v in others)
    assert sum(1 for v in status.values() if v["variant_of"] == approved) == 2  # approved -> variants
    assert not any(v["variant_of"] == rejected for v in status.values())
    gate = checks(first)
    assert gate["no_flagged_pieces"] is False and gate["legal_compliance"] is True
    assert gate["reviews_applied"] is False  # the entry for a piece that does not exist
    logged = store.query("SELECT piece_id, outcome FROM analytics.qa_reviews ORDER BY piece_id")
    assert {(r["piece_id"], r["outcome"]) for r in logged} == {(approved, "approved"), (rejected, "rejected")}

    run(instance, resources, raise_on_error=False)
    again = statuses(store)
    for pid in (approved, rejected):
        assert (again[pid]["status"], again[pid]["decided_by"], again[pid]["decided_at"]) == (
            status[pid]["status"],
            status[pid]["decided_by"],
            status[pid]["decided_at"],
        )


def test_bad_review_file_fails_with_file_field_and_value(data_dir, instance, resources, store):
    reviews = data_dir / "reviews"
    reviews.mkdir()
    path = reviews / f"{DEMO_CAMPAIGN}.yaml"
    path.write_text(f"{DEMO_CAMPAIGN}:twitter:ad_copy:\n  decision: maybe\n  by: maria\n")
    result = run(instance, resources, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["qa_report"]
    message = failures[0].step_failure_data.error.message
    assert str(path) in message and f"field '{DEMO_CAMPAIGN}:twitter:ad_copy.decision'" in message
    assert "'maybe'" in message and "approve" in message
