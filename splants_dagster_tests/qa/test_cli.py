"""``splants qa FILE``: JSON on stdout, exit 0 only when approved."""

import json

from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.qa import CHECK_NAMES

KEYWORDS = "compostable coffee pods,home compostable"
runner = CliRunner()


def qa(*args):
    result = runner.invoke(app, ["qa", *map(str, args)])
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)


def test_good_draft_is_approved(data_dir, tmp_path):
    draft = tmp_path / "post.md"
    draft.write_text(
        "Love pod coffee but hate the waste? Hearth & Bean compostable coffee pods go in your garden compost "
        "heap, not the bin. Pre-order the starter pack: https://hearthandbean.example/pods\n"
    )
    result, report = qa(
        draft, "--platform", "twitter", "--content-type", "social_post", "--keywords", KEYWORDS
    )
    assert result.exit_code == 0, result.output
    assert report["status"] == "approved" and report["qa_score"] >= 0.8
    assert list(report["checks"]) == list(CHECK_NAMES)
    for check in report["checks"].values():
        assert set(check) == {"score", "passed", "findings"} and check["passed"] is True


def test_copied_and_unsubstantiated_draft_is_flagged(data_dir, tmp_path):
    draft = tmp_path / "post.txt"
    draft.write_text(
        "Guaranteed results! Home compostable capsules break down in a garden compost heap at lower "
        "temperatures, usually within six months. 87% of customers agree.\n"
    )
    result, report = qa(
        draft,
        "--platform",
        "facebook",
        "--content-type",
        "social_post",
        "--keywords",
        KEYWORDS,
        "--sources",
        data_dir / "sources",
    )
    assert result.exit_code == 1
    assert report["status"] == "flagged"
    codes = {name: {f["code"] for f in c["findings"]} for name, c in report["checks"].items()}
    assert "copied_passage" in codes["uniqueness"] and "prohibited_claim" in codes["legal"]
    assert "unsupported_number" in codes["factual"]
    finding = report["checks"]["uniqueness"]["findings"][0]
    assert {"excerpt", "message", "suggestion", "span", "severity"} <= set(finding)


def test_fixable_email_reports_the_fixes_and_exits_1(data_dir, tmp_path):
    email = tmp_path / "email.md"
    email.write_text(
        "---\nsubject: Compostable coffee pods are here\n"
        "preheader: Great coffee from your pod machine, and a pod you can compost at home.\n---\n"
        "Hi there,\n\nOur compostable coffee pods are ready. You brew as usual in your pod machine, and then "
        "the pod goes in your compost.\n\nPre-order the starter pack: https://hearthandbean.example/pods\n\n"
        "Warm regards,\nThe Hearth & Bean team\n"
    )
    fixed = tmp_path / "fixed.md"
    result, report = qa(email, "-p", "email", "-t", "email", "-k", KEYWORDS, "--write-fixed", fixed)
    assert result.exit_code == 1
    assert report["status"] == "auto_fixed" and not report["checks"]["legal"]["passed"]
    assert report["auto_fix"]["qa_score"] >= 0.8 and report["auto_fix"]["fixes"]
    assert "Unsubscribe" in fixed.read_text() and fixed.read_text().startswith("---\n")


def test_bad_arguments_exit_2(data_dir, tmp_path):
    draft = tmp_path / "post.md"
    draft.write_text("Hello")
    result, _ = qa(draft, "--platform", "myspace", "--content-type", "social_post")
    assert result.exit_code == 2 and "myspace" in result.output
    result, _ = qa(draft, "--platform", "twitter", "--content-type", "blog")
    assert result.exit_code == 2 and "cannot be published" in result.output


def test_brief_supplies_facts_and_source_roles_and_lists_each_claim(data_dir, tmp_path):
    brief = data_dir / "campaigns" / "compostable-pods-launch.yaml"
    draft = tmp_path / "post.md"
    draft.write_text(
        "The Hearth & Bean starter pack holds 30 compostable coffee pods and costs £12. Save 15% on every "
        "delivery. Pre-order the starter pack: https://hearthandbean.example/pods\n"
    )
    result, report = qa(draft, "--platform", "facebook", "--content-type", "social_post", "--brief", brief)
    assert result.exit_code == 1, result.output
    claims = {f["claim"]["text"]: f for f in report["checks"]["factual"]["findings"] if "claim" in f}
    assert claims["30 compostable"]["supported"] is True and claims["30 compostable"]["support"] == "brief:1"
    assert claims["£12"]["supported"] is True
    competitor = claims["15%"]
    assert competitor["supported"] is False and competitor["code"] == "competitor_only"
    assert "competitor page sources/competitor-" in competitor["message"]
