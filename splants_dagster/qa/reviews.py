"""Human review decisions, without code: ``$SPLANTS_DATA_DIR/reviews/<campaign_id>.yaml``.

```yaml
compostable-pods-launch:twitter:ad_copy:
  decision: approve        # approve | reject
  by: maria                # who decided (required)
  note: checked the claim with the supplier
compostable-pods-launch:email:email~v2:
  decision: reject
  by: sam
```

Decisions are applied by the next ``qa_report`` materialization and on every one after it, for as long as
the entry stays in the file. ``reject`` always applies. ``approve`` applies to the text the reviewer saw:
if the piece is regenerated (its text changes), the approval is reported as stale and not carried over
until the entry is edited (for example a new note). An approval is refused while the piece fails the
legal check: legal failures are never published; fix the brief or reject the piece.

The file is also an import path of the publishing review queue (``splants_dagster/publishing/review.py``):
each new entry becomes a ``review_decisions`` row on the text current when it is first seen, which is what
lets a piece out to a real platform; ``splants review`` records the same decisions from the command line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from splants_dagster.campaigns.briefs import BriefError, FieldProblem


class ReviewFileError(BriefError):
    """A review file that cannot be used; the message names the file, each bad field and its value."""


class ReviewEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["approve", "reject"]
    by: str = Field(min_length=1, max_length=120, description="who decided")
    note: str | None = Field(default=None, max_length=2000)

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.decision}|{self.by}|{self.note or ''}".encode()).hexdigest()[:16]


def review_file(reviews_dir: Path, campaign_id: str) -> Path:
    return reviews_dir / f"{campaign_id}.yaml"


def load_reviews(path: Path) -> dict[str, ReviewEntry]:
    """The entries of a review file by piece id (empty when the file does not exist)."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ReviewFileError(
            str(path), [FieldProblem("(yaml)", where, f"malformed YAML: {problem}")]
        ) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # undecodable, or e.g. the date 0000-00-00
        raise ReviewFileError(
            str(path), [FieldProblem("(yaml)", type(exc).__name__, f"cannot be read: {str(exc)[:200]}")]
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReviewFileError(
            str(path), [FieldProblem("(file)", type(data).__name__, "must map piece ids to decisions")]
        )
    entries: dict[str, ReviewEntry] = {}
    problems: list[FieldProblem] = []
    for piece_id, raw in data.items():
        if not isinstance(raw, dict):
            problems.append(
                FieldProblem(
                    str(piece_id), raw, "must be a mapping with 'decision' (approve|reject) and 'by'"
                )
            )
            continue
        try:
            entries[str(piece_id)] = ReviewEntry.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                name = ".".join(str(p) for p in err.get("loc", ()))
                message = err.get("msg", "invalid").removeprefix("Value error, ")
                value = err.get("input")
                if err.get("type") == "missing":
                    value, message = None, "is required but missing"
                elif err.get("type") == "extra_forbidden":
                    message = "is not a known field (use decision, by, note)"
                elif err.get("type") == "literal_error":
                    message = "must be 'approve' or 'reject'"
                problems.append(FieldProblem(f"{piece_id}.{name}", value, message))
    if problems:
        raise ReviewFileError(str(path), problems)
    return entries


@dataclass(frozen=True)
class Applied:
    """The status after a human decision, and what to record about it."""

    status: str
    decided_by: str
    note: str
    outcome: str  # approved | rejected | confirmed | refused_legal | stale
    record: bool  # whether the decision took effect (False: the automated status stands)


def apply_decision(
    entry: ReviewEntry,
    automated_status: str,
    legal_passed: bool,
    text_hash: str,
    previous: dict | None,
) -> Applied:
    """The outcome of ``entry`` for a piece QA decided ``automated_status`` about.

    ``previous`` is the row recorded the last time this entry was applied (``qa_reviews``), used to tell
    whether an approval was given for the current text.
    """
    who = f"human:{entry.by}"
    note = entry.note or ""
    if entry.decision == "reject":
        return Applied("rejected", who, note, "rejected", True)
    same_entry = previous is not None and previous.get("entry_hash") == entry.fingerprint()
    if same_entry and previous is not None and previous.get("text_hash") != text_hash:
        return Applied(
            automated_status,
            "qa",
            f"approval by {entry.by} was for an earlier version of this text; edit the review entry to "
            "approve the new text",
            "stale",
            False,
        )
    if not legal_passed:
        return Applied(
            automated_status,
            "qa",
            f"approval by {entry.by} refused: the piece fails the legal check (reject it or fix the brief)",
            "refused_legal",
            False,
        )
    if automated_status in ("approved", "auto_fixed"):
        return Applied(automated_status, who, note, "confirmed", True)
    return Applied("approved", who, note, "approved", True)
