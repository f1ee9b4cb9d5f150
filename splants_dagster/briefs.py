"""Campaign briefs and the brand profile: YAML files validated with pydantic.

A bad file raises :class:`BriefError`, whose message names the file, each bad field and its value, so a
marketer can fix it without reading a traceback. One bad brief never stops the others: callers scan with
:func:`scan_briefs`, which returns valid briefs and errors side by side.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from splants_dagster.platforms import WORD_TARGETS, ContentType, Platform, Tone

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
URL = re.compile(r"^https?://", re.IGNORECASE)


@dataclass(frozen=True)
class FieldProblem:
    field: str
    value: Any
    message: str

    def __str__(self) -> str:
        shown = repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return f"field '{self.field}' = {shown}: {self.message}"


@dataclass
class BriefError(Exception):
    """A brief or brand file that cannot be used, with every problem found in it."""

    path: str
    problems: list[FieldProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = "; ".join(str(p) for p in self.problems)
        return f"{self.path}: {lines}"

    def as_rows(self) -> list[dict[str, Any]]:
        return [
            {"file": self.path, "field": p.field, "value": repr(p.value)[:200], "message": p.message}
            for p in self.problems
        ]


class LengthTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_words: int = Field(ge=5, le=5000)
    max_words: int = Field(ge=5, le=5000)

    @model_validator(mode="after")
    def _ordered(self) -> LengthTarget:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) is larger than max_words ({self.max_words})")
        return self


class CampaignBrief(BaseModel):
    """One campaign, as a marketer writes it in ``campaigns/<id>.yaml``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(description="slug: lowercase letters, digits and dashes")
    topic: str = Field(min_length=5, max_length=500)
    goal: str = Field(min_length=3, max_length=500)
    audience: str = Field(min_length=3, max_length=500)
    keywords: list[str] = Field(default_factory=list, max_length=10)
    platforms: list[Platform] = Field(min_length=1)
    content_types: list[ContentType] = Field(min_length=1)
    tone: Tone = "professional"
    start_date: dt.date
    duration_days: int = Field(ge=1, le=365)
    sources: list[str] = Field(default_factory=list, max_length=20)
    length: dict[ContentType, LengthTarget] = Field(default_factory=dict)
    paid: bool = Field(default=False, description="sponsored / paid placement: needs a disclosure")
    call_to_action: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, description="landing URL the pieces point to")
    variants: int = Field(default=2, ge=0, le=5, description="A/B variants per approved piece")
    parent_piece_id: str | None = Field(default=None, description="set when derived from a winning piece")

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a slug: 3-64 lowercase letters, digits or dashes, e.g. 'spring-launch'")
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value]
        if any(not k for k in cleaned):
            raise ValueError("keywords must not be empty strings")
        if any(len(k) > 80 for k in cleaned):
            raise ValueError("each keyword must be at most 80 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("platforms", "content_types")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is not None and not URL.match(value):
            raise ValueError("must be an http(s) URL")
        return value

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.duration_days)

    def word_targets(self) -> dict[str, tuple[int, int]]:
        targets = dict(WORD_TARGETS)
        targets.update({k: (v.min_words, v.max_words) for k, v in self.length.items()})
        return targets

    def url_sources(self) -> list[str]:
        return [s for s in self.sources if URL.match(s)]


class BrandProfile(BaseModel):
    """The brand every piece speaks for (``brand.yaml``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    voice: str = Field(min_length=3, description="how the brand sounds, in a sentence or two")
    tone_words: list[str] = Field(default_factory=list)
    avoid_words: list[str] = Field(default_factory=list)
    avoid_claims: list[str] = Field(default_factory=list)
    required_terms: list[str] = Field(default_factory=list)
    required_disclosures: dict[str, str] = Field(
        default_factory=dict, description="e.g. paid: '#ad', email: unsubscribe footer text"
    )
    default_hashtags: list[str] = Field(default_factory=list)
    timezone: str = "UTC"
    website: str | None = None
    postal_address: str | None = None
    reading_level: float | None = Field(default=None, description="target Flesch-Kincaid grade")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown IANA timezone, e.g. 'Europe/Berlin' or 'America/New_York'") from exc
        return value

    @field_validator("default_hashtags")
    @classmethod
    def _hashtags(cls, value: list[str]) -> list[str]:
        return [h if h.startswith("#") else f"#{h}" for h in (v.strip() for v in value) if h]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _problems(exc: ValidationError, data: Any) -> list[FieldProblem]:
    problems = []
    for err in exc.errors():
        loc = err.get("loc", ())
        name = ""
        for part in loc:
            name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        value = err.get("input")
        if err.get("type") == "missing":
            value = None
            message = "is required but missing"
        elif err.get("type") == "extra_forbidden":
            message = "is not a known field (check the spelling)"
        problems.append(FieldProblem(name or "(file)", value, message))
    return problems


def _load_yaml(path: Path) -> tuple[Any, bytes]:
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BriefError(str(path), [FieldProblem("(yaml)", where, f"malformed YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise BriefError(str(path), [FieldProblem("(file)", type(data).__name__, "must be a YAML mapping")])
    return data, raw


def load_brief(path: Path) -> tuple[CampaignBrief, str]:
    """The validated brief in ``path`` and the sha256 of its bytes."""
    data, raw = _load_yaml(path)
    try:
        brief = CampaignBrief.model_validate(data)
    except ValidationError as exc:
        raise BriefError(str(path), _problems(exc, data)) from None
    return brief, content_hash(raw)


def campaign_row(
    brief: CampaignBrief, path: Path, sha256: str, now: dt.datetime, status: str = "registered"
) -> dict[str, Any]:
    """The ``campaigns`` row of a brief read from ``path`` (``sha256``: of the file's bytes)."""
    return {
        "campaign_id": brief.id,
        "topic": brief.topic,
        "goal": brief.goal,
        "audience": brief.audience,
        "tone": brief.tone,
        "platforms": list(brief.platforms),
        "content_types": list(brief.content_types),
        "keywords": brief.keywords,
        "start_date": brief.start_date,
        "duration_days": brief.duration_days,
        "brief_file": str(path),
        "brief_sha256": sha256,
        "brief_json": brief.model_dump_json(),
        "status": status,
        "registered_at": now,
        "updated_at": now,
    }


def load_brand(path: Path) -> BrandProfile:
    if not path.exists():
        raise BriefError(str(path), [FieldProblem("(file)", str(path), "brand profile not found")])
    data, _ = _load_yaml(path)
    try:
        return BrandProfile.model_validate(data)
    except ValidationError as exc:
        raise BriefError(str(path), _problems(exc, data)) from None


@dataclass(frozen=True)
class ScannedBrief:
    path: Path
    sha256: str
    brief: CampaignBrief | None
    error: BriefError | None

    @property
    def ok(self) -> bool:
        return self.brief is not None


def brief_files(campaigns_dir: Path) -> list[Path]:
    if not campaigns_dir.is_dir():
        return []
    return sorted(p for p in campaigns_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def scan_briefs(campaigns_dir: Path) -> list[ScannedBrief]:
    """Every brief file, valid or not. A second file claiming an id already taken is an error."""
    results: list[ScannedBrief] = []
    seen: dict[str, Path] = {}
    for path in brief_files(campaigns_dir):
        raw = path.read_bytes()
        digest = content_hash(raw)
        try:
            brief, _ = load_brief(path)
        except BriefError as err:
            results.append(ScannedBrief(path, digest, None, err))
            continue
        if brief.id in seen:
            err = BriefError(
                str(path), [FieldProblem("id", brief.id, f"is already used by {seen[brief.id].name}")]
            )
            results.append(ScannedBrief(path, digest, None, err))
            continue
        seen[brief.id] = path
        results.append(ScannedBrief(path, digest, brief, None))
    return results


def find_brief(campaigns_dir: Path, campaign_id: str) -> tuple[Path, CampaignBrief, str]:
    """The file and validated brief for one campaign id; raises BriefError naming what went wrong."""
    scanned_all = scan_briefs(campaigns_dir)
    for scanned in scanned_all:
        if scanned.brief is not None and scanned.brief.id == campaign_id:
            return scanned.path, scanned.brief, scanned.sha256
    for scanned in scanned_all:
        if scanned.error is not None and scanned.path.stem == campaign_id:
            raise scanned.error
    raise BriefError(
        str(campaigns_dir),
        [FieldProblem("id", campaign_id, "no valid brief with this id in the campaigns folder")],
    )
