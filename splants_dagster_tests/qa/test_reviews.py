"""Human decisions in reviews/<campaign>.yaml: validation, and what each decision does."""

import pytest

from splants_dagster.qa.reviews import ReviewEntry, ReviewFileError, apply_decision, load_reviews


def write(tmp_path, text: str):
    path = tmp_path / "camp.yaml"
    path.write_text(text)
    return path


def test_missing_or_empty_file_means_no_decisions(tmp_path):
    assert load_reviews(tmp_path / "nope.yaml") == {}
    assert load_reviews(write(tmp_path, "# nothing yet\n")) == {}


def test_valid_file(tmp_path):
    entries = load_reviews(
        write(
            tmp_path,
            "camp:twitter:ad_copy:\n  decision: approve\n  by: maria\n  note: checked\n"
            "camp:email:email~v1: {decision: reject, by: sam}\n",
        )
    )
    assert (
        entries["camp:twitter:ad_copy"].decision == "approve"
        and entries["camp:twitter:ad_copy"].by == "maria"
    )
    assert entries["camp:email:email~v1"].decision == "reject" and entries["camp:email:email~v1"].note is None


@pytest.mark.parametrize(
    "text,field,value",
    [
        ("camp:x:y:\n  decision: maybe\n  by: maria\n", "camp:x:y.decision", "'maybe'"),
        ("camp:x:y:\n  decision: approve\n", "camp:x:y.by", "None"),
        ("camp:x:y:\n  decision: approve\n  by: maria\n  approver: sam\n", "camp:x:y.approver", "'sam'"),
        ("camp:x:y: approve\n", "camp:x:y", "'approve'"),
        ("- camp:x:y\n", "(file)", "'list'"),
        ("camp:x:y:\n  decision: [approve\n", "(yaml)", "line"),
    ],
)
def test_bad_file_names_file_field_and_value(tmp_path, text, field, value):
    path = write(tmp_path, text)
    with pytest.raises(ReviewFileError) as caught:
        load_reviews(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and f"field '{field}'" in message and value in message


def entry(decision="approve", note="ok") -> ReviewEntry:
    return ReviewEntry(decision=decision, by="maria", note=note)


def test_approve_turns_flagged_into_approved_and_keeps_publishable_ones():
    applied = apply_decision(entry(), "flagged", True, "hash-a", None)
    assert (applied.status, applied.decided_by, applied.outcome, applied.record) == (
        "approved",
        "human:maria",
        "approved",
        True,
    )
    confirmed = apply_decision(entry(), "auto_fixed", True, "hash-a", None)
    assert confirmed.status == "auto_fixed" and confirmed.decided_by == "human:maria"


def test_reject_always_applies():
    assert apply_decision(entry("reject"), "approved", True, "h", None).status == "rejected"
    assert apply_decision(entry("reject"), "flagged", False, "h", None).status == "rejected"


def test_approval_of_a_legal_failure_is_refused():
    applied = apply_decision(entry(), "flagged", False, "h", None)
    assert applied.status == "flagged" and applied.outcome == "refused_legal" and not applied.record
    assert "legal" in applied.note


def test_approval_given_for_another_text_is_stale_until_the_entry_changes():
    e = entry()
    previous = {"entry_hash": e.fingerprint(), "text_hash": "old-text"}
    stale = apply_decision(e, "flagged", True, "new-text", previous)
    assert stale.status == "flagged" and stale.outcome == "stale"
    same_text = apply_decision(e, "flagged", True, "old-text", previous)
    assert same_text.status == "approved"
    edited = apply_decision(entry(note="re-checked the new text"), "flagged", True, "new-text", previous)
    assert edited.status == "approved"
