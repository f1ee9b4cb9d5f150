"""The review queue over the loopback fakes: nothing reaches a configured platform before a person
approves the exact text (unless the channel is auto), WordPress gets drafts, template text is held,
rejections stop even the outbox, edits are re-checked by QA, and the YAML review file still works."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from splants_dagster.campaigns.briefs import load_brief
from splants_dagster.cli import app
from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.publishing.sensors import publish_due_sensor
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.publishing import review
from splants_dagster.publishing.config import build_publishers
from splants_dagster.publishing.review import PublishingConfigError, ReviewPolicy, load_policy
from splants_dagster.publishing.runner import publish_due
from splants_dagster_tests.publishing.fakes import FakeWordPress, FakeX
from splants_dagster_tests.publishing.seeding import CAMPAIGN, piece, publications, seed, settings

NOW = dt.datetime(2026, 1, 6, 12, tzinfo=dt.UTC)
REVIEW = ReviewPolicy()  # the default: every channel waits for a person


def run(store, s, **kw):
    pset = build_publishers(s)
    try:
        return publish_due(store, pset, now=NOW, clock=lambda: NOW, **kw)
    finally:
        pset.close()


def cli(*args: str, **env: str):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250", **env})
    assert "Traceback" not in result.output
    return result


def decisions(store) -> list[dict]:
    return store.query("SELECT * FROM review_decisions ORDER BY decided_at, decision_id")


def test_nothing_is_sent_before_approval_then_each_blog_piece_is_one_draft(store, data_dir):
    blog1 = piece("blog", 1, is_pillar=True)
    variant = piece("blog", 1, variant_of=blog1["piece_id"], qa=None, title="Blog piece 1, another headline")
    variant["piece_id"] += "~v1"
    ids = seed(store, [blog1, piece("blog", 2), variant, piece("twitter", 1), piece("instagram", 1)])
    with FakeWordPress() as wp, FakeX() as x:
        s = settings(data_dir, wp=wp, x=x, review=REVIEW)
        dry = run(store, s, force_now=True, dry_run=True)
        assert dry.counts == {"held": 4, "dry_run": 1}
        blog = next(i for i in dry.items if i.piece_id == ids[0])
        assert blog.preview["json"]["status"] == "draft" and blog.error.startswith("pending_review: awaiting")
        assert set(publications(store)) == {ids[4]}  # a dry run records nothing for held items
        report = run(store, s, force_now=True)
        assert not wp.requests and not x.requests
        assert report.counts == {"held": 4, "published": 1}  # instagram: the outbox is always auto
        rows = publications(store)
        assert rows[ids[4]]["publisher"] == "outbox" and rows[ids[4]]["status"] == "published"
        for pid in (ids[0], ids[1], ids[3]):
            assert rows[pid]["status"] == "pending_review"
            assert rows[pid]["held_reason"].startswith("awaiting approval (channel mode review)")
        assert rows[ids[2]]["status"] == "held" and "variant" in rows[ids[2]]["held_reason"]

        listed = cli("review", "list", "--campaign", CAMPAIGN, "--status", "pending_review")
        assert listed.exit_code == 0 and ids[0] in listed.output and ids[4] not in listed.output
        approved = cli("review", "approve", "--campaign", CAMPAIGN, "--all", "--by", "maria")
        assert approved.exit_code == 0, approved.output
        assert "5 approved" in approved.output  # the variant too: approving it never makes a second post

        report = run(store, s, force_now=True)
        assert report.counts == {"published": 3, "held": 1}
        assert len(wp.posts) == 2 and {p["status"] for p in wp.posts.values()} == {"draft"}
        assert sorted(p["title"]["raw"] for p in wp.posts.values()) == sorted(
            [blog1["title"], piece("blog", 2)["title"]]
        )
        assert len(x.tweets) == 1
        creates = dict(wp.creates)

        again = run(store, s, force_now=True)  # a rerun adds nothing
        assert again.counts == {"held": 1} and wp.creates == creates and len(wp.posts) == 2
    rows = publications(store)
    assert rows[ids[0]]["held_reason"] is None and rows[ids[0]]["status"] == "published"
    assert {d["decided_by"] for d in decisions(store)} == {"maria"}
    view = store.query("SELECT * FROM analytics.review_decisions")
    assert len(view) == 5 and all(len(d["text_sha256"]) == 64 and d["decision"] == "approve" for d in view)


def test_changed_text_needs_approval_again_and_auto_channels_need_none(store, data_dir):
    ids = seed(store, [piece("twitter", 1), piece("blog", 1)])
    with FakeX() as x, FakeWordPress() as wp:
        assert cli("review", "approve", ids[0], "--by", "sam").exit_code == 0
        with store.write() as conn:
            conn.execute(
                "UPDATE content_pieces SET rendered = rendered || ' Now 20% off.' WHERE piece_id = ?",
                [ids[0]],
            )
        s = settings(data_dir, x=x, wp=wp, review=ReviewPolicy({"blog": "auto"}))
        report = run(store, s, force_now=True)
        assert report.counts == {"held": 1, "published": 1}
        assert not x.requests and len(wp.posts) == 1  # blog is auto: no approval needed
        held = publications(store)[ids[0]]
        assert (
            held["status"] == "pending_review" and "text changed after sam approved it" in held["held_reason"]
        )
        assert cli("review", "approve", ids[0], "--by", "sam").exit_code == 0
        assert run(store, s, force_now=True).counts == {"published": 1}
        [tweet] = x.tweets.values()
        assert tweet["text"].endswith("Now 20% off.")


def test_template_text_is_held_unless_allowed_and_the_outbox_takes_it(store, data_dir, monkeypatch):
    ids = seed(store, [piece("twitter", 1), piece("instagram", 1)])
    with store.write() as conn:
        conn.execute("UPDATE content_pieces SET provider = 'offline', model = 'offline'")
    with FakeX() as x:
        s = settings(data_dir, x=x, review=ReviewPolicy.all_auto(allow_template_content=False))
        assert run(store, s, force_now=True).counts == {"held": 1, "published": 1}
        assert not x.requests
        row = publications(store)[ids[0]]
        assert row["status"] == "pending_review"
        assert row["held_reason"] == "template/offline content: set SPLANTS_ALLOW_TEMPLATE_CONTENT=1 to allow"
        assert cli("review", "approve", ids[0]).exit_code == 0
        assert run(store, s, force_now=True).counts == {"held": 1}  # an approval does not lift it
        monkeypatch.setenv("SPLANTS_ALLOW_TEMPLATE_CONTENT", "1")
        allowed = review.policy_for_data_dir(data_dir)
        assert allowed.allow_template_content and allowed.mode("twitter") == "review"
        assert run(store, settings(data_dir, x=x, review=allowed), force_now=True).counts == {"published": 1}
        assert len(x.tweets) == 1


def test_a_rejection_stops_even_the_outbox_and_is_kept_with_who_and_why(store, data_dir):
    ids = seed(store, [piece("instagram", 1), piece("instagram", 2)])
    refused = cli("review", "reject", ids[0])
    assert refused.exit_code != 0  # --reason is required
    done = cli("review", "reject", ids[0], "--reason", "wrong product photo", "--by", "ana")
    assert done.exit_code == 0, done.output
    assert run(store, settings(data_dir, review=REVIEW), force_now=True).counts == {"held": 1, "published": 1}
    row = publications(store)[ids[0]]
    assert row["status"] == "rejected" and row["held_reason"] == "rejected by ana: wrong product photo"
    assert len(list((data_dir / "outbox" / "instagram").glob("*.json"))) == 1
    [d] = decisions(store)
    assert (d["decision"], d["decided_by"], d["reason"], d["source"]) == (
        "reject",
        "ana",
        "wrong product photo",
        "cli",
    )
    skipped = cli("review", "approve", "--campaign", CAMPAIGN, "--all")
    assert "rejected (approve it by id to override)" in skipped.output


def _real_brief(store) -> None:
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    with store.write() as conn:
        conn.execute(
            "UPDATE campaigns SET brief_json = ? WHERE campaign_id = ?", [brief.model_dump_json(), CAMPAIGN]
        )


def _editor(tmp_path: Path, text: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(f"import sys, pathlib\npathlib.Path(sys.argv[1]).write_text({text!r})\n")
    return f"{sys.executable} {script}"


@pytest.mark.slow
def test_an_edit_is_rechecked_by_qa_kept_and_published_once_approved(store, data_dir, tmp_path):
    ids = seed(store, [piece("twitter", 1)])
    _real_brief(store)
    bad = "Our compostable pods cure cancer and are guaranteed to make you lose weight. #HearthAndBean"
    blocked = cli("review", "edit", ids[0], "--by", "lee", EDITOR=_editor(tmp_path, bad))
    assert blocked.exit_code == 1 and "fails the legal check" in blocked.output
    refused = cli("review", "approve", ids[0])
    assert refused.exit_code == 1 and "legal/factual gate" in refused.output

    good = (
        "Compostable coffee pods from Hearth & Bean: brew your morning cup and put the pod in your home "
        "compost. #HearthAndBean"
    )
    kept = cli("review", "edit", ids[0], "--by", "lee", "--reason", "tone", EDITOR=_editor(tmp_path, good))
    assert kept.exit_code == 0, kept.output
    edits = [d for d in decisions(store) if d["decision"] == "edit"]
    assert [(e["decided_by"], e["qa_passed"]) for e in edits] == [("lee", False), ("lee", True)]
    assert edits[1]["edited_text"] == good and edits[1]["reason"] == "tone" and edits[1]["qa_score"] > 0.6
    shown = cli("review", "show", ids[0])
    assert (
        shown.exit_code == 0 and "edited by lee" in shown.output and '"path": "/2/tweets"' not in shown.output
    )

    with FakeX() as x:
        s = settings(data_dir, x=x, review=REVIEW)
        assert run(store, s, force_now=True).counts == {"held": 1}  # the edit itself is not an approval
        assert cli("review", "approve", ids[0], "--by", "maria").exit_code == 0
        assert run(store, s, force_now=True).counts == {"published": 1}
        assert [t["text"] for t in x.tweets.values()] == [good]


def test_yaml_review_file_is_imported_once_as_decisions(store, data_dir):
    ids = seed(store, [piece("twitter", 1), piece("twitter", 2)])
    (data_dir / "reviews").mkdir(exist_ok=True)
    (data_dir / "reviews" / f"{CAMPAIGN}.yaml").write_text(
        f"{ids[0]}:\n  decision: approve\n  by: maria\n  note: checked\n", encoding="utf-8"
    )
    with FakeX() as x:
        s = settings(data_dir, x=x, review=REVIEW)
        assert run(store, s, force_now=True).counts == {"published": 1, "held": 1}
        assert run(store, s, force_now=True).counts == {"held": 1}
        assert len(x.tweets) == 1
    [d] = decisions(store)
    assert (d["piece_id"], d["decided_by"], d["reason"], d["source"]) == (
        ids[0],
        "maria",
        "checked",
        f"yaml:{CAMPAIGN}.yaml",
    )


def test_approval_is_refused_while_qa_fails_the_legal_gate(store, data_dir):
    ids = seed(store, [piece("twitter", 1), piece("twitter", 2)])
    with store.write() as conn:
        conn.execute(
            'INSERT INTO qa_results (piece_id, campaign_id, "check", score, passed, round, is_final)'
            " VALUES (?, ?, 'legal', 0.2, false, 0, true)",
            [ids[0], CAMPAIGN],
        )
    result = cli("review", "approve", ids[0], ids[1])
    assert result.exit_code == 1
    assert f"refused {ids[0]}: fails the legal check" in result.output and "1 approved" in result.output
    assert [d["piece_id"] for d in decisions(store)] == [ids[1]]


def test_publishing_yaml_is_validated_with_file_field_and_value(data_dir):
    path = data_dir / "publishing.yaml"
    path.write_text(
        "channels:\n  twitter: {mode: yolo}\n  myspace: auto\ndefault_mode: auto\n", encoding="utf-8"
    )
    with pytest.raises(PublishingConfigError) as err:
        load_policy(path)
    message = str(err.value)
    assert str(path) in message and "channels.twitter.mode" in message and "yolo" in message
    assert "channels.myspace" in message
    result = cli("publish", "--now")
    assert result.exit_code == 2 and "bad publishing config" in result.output
    path.write_text(
        "default_mode: review\nchannels:\n  twitter: auto\n  blog: {mode: review}\n", encoding="utf-8"
    )
    policy = load_policy(path, "1")
    assert (policy.mode("twitter"), policy.mode("blog"), policy.mode("email")) == ("auto", "review", "review")
    assert policy.allow_template_content
    shipped = load_policy(PROJECT_ROOT / "data" / "publishing.yaml")
    assert shipped.default == "review" and not shipped.allow_template_content


def test_sensor_skips_held_items_until_a_decision_arrives(instance, store, data_dir):
    ids = seed(store, [piece("twitter", 1)])
    with store.write() as conn:
        conn.execute("UPDATE schedule SET publish_at = ?", [dt.datetime(2020, 1, 1, tzinfo=dt.UTC)])
    resources = build_all_resources(data_dir)

    def tick(cursor=None):
        with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
            return publish_due_sensor(context)

    first = tick()
    assert len(first.run_requests) == 1  # never looked at: a run decides
    with FakeX() as x:
        pset = build_publishers(settings(data_dir, x=x, review=REVIEW))
        try:
            publish_due(store, pset)  # the real clock: the hold is newer than the files it depends on
        finally:
            pset.close()
        assert not x.requests
    skipped = tick(first.cursor)
    assert isinstance(skipped, dg.SkipReason) and "nothing due" in skipped.skip_message
    assert cli("review", "approve", ids[0]).exit_code == 0
    picked = tick(first.cursor)
    assert (
        len(picked.run_requests) == 1
        and picked.run_requests[0].run_key != json.loads(first.cursor)["run_key"]
    )


def test_wordpress_gets_drafts_by_default_and_the_post_status_is_validated(data_dir, monkeypatch):
    def wp_status() -> str:
        publishing = build_all_resources(data_dir)["publishing"]
        with dg.build_resources({"publishing": publishing}) as built:
            return built.publishing.settings().wordpress_status

    assert wp_status() == "draft"
    monkeypatch.setenv("WORDPRESS_POST_STATUS", "future")
    assert wp_status() == "future"
    monkeypatch.setenv("WORDPRESS_POST_STATUS", "live")
    with pytest.raises(PublishingConfigError, match=r"WORDPRESS_POST_STATUS.*live.*draft, publish or future"):
        wp_status()


@pytest.mark.slow
def test_a_decision_taken_while_a_run_writes_waits_for_the_writer_and_is_kept(store, data_dir):
    """A real ``splants review approve`` process while another session holds the warehouse writer lock."""
    ids = seed(store, [piece("twitter", 1)])
    script = Path(sys.executable).parent / "splants"
    env = {**os.environ, "SPLANTS_DATA_DIR": str(data_dir), "USER": "night-shift"}
    with store.write() as conn:  # a run's write session
        proc = subprocess.Popen(
            [str(script), "review", "approve", ids[0]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with contextlib.suppress(subprocess.TimeoutExpired):  # still waiting for the writer, as it should
            proc.wait(timeout=5)
        assert proc.returncode is None, proc.communicate()
        assert conn.execute("SELECT count(*) FROM review_decisions").fetchone()[0] == 0
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    [d] = decisions(store)
    assert (d["piece_id"], d["decided_by"], d["decision"]) == (ids[0], "night-shift", "approve")
