"""Campaign briefs and the brand profile: YAML files validated with pydantic.

A bad file raises :class:`BriefError`, whose message names the file, each bad field and its value, so a
marketer can fix it without reading a traceback. One bad brief never stops the others: callers scan with
:func:`scan_briefs`, which returns valid briefs and errors side by side.

Reading is bounded (file size, nesting depth, alias expansion) so that a hostile or broken file costs
milliseconds, not minutes, in the sensor and in every run that scans the folder. Dates are read as text
and parsed by pydantic, so a bad date is a field error like any other.

"Today" is always passed in (``today=``; :func:`current_date` at the entry points), never read deep
inside validation: the checks that depend on it (a window that has already ended, relative demo dates)
are testable on any day. See ``docs/briefs.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from splants_dagster.conversions.presets import CONVERSION_SOURCES
from splants_dagster.platforms import WORD_TARGETS, ContentType, Platform, Tone

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
URL = re.compile(r"^https?://", re.IGNORECASE)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RELATIVE_DATE = re.compile(r"^(?:today|\+(\d{1,3})d|next (" + "|".join(WEEKDAYS) + "))$", re.IGNORECASE)

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000  # YAML nodes after alias expansion: a real brief has < 200
EARLIEST_START = dt.date(2000, 1, 1)
LATEST_START = dt.date(2100, 12, 31)

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4
_short.maxlevel = 2


def shown(value: Any, limit: int = 80) -> str:
    """``repr`` of a value from a file, bounded in time and size whatever its size or nesting."""
    try:
        text = _short.repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def current_date() -> dt.date:
    """Today (UTC): the default ``today`` of the entry points (tests pass their own)."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class FieldProblem:
    field: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"field '{self.field}' = {shown(self.value)}: {self.message}"


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
            {"file": self.path, "field": p.field, "value": shown(p.value, 200), "message": p.message}
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


SourceRole = Literal["own", "competitor", "reference"]
GoalMetric = Literal["orders", "revenue", "signups", "leads", "conversions"]
MAX_FACTS = 50


class SourceRef(BaseModel):
    """A research source with its role: ``own`` pages (the brand's) support claims, ``competitor`` pages are
    evidence about competitors only, ``reference`` pages (a study, a standard) support only what they
    literally say, with the citation kept. A plain string in ``sources:`` means role ``reference``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ref: str = Field(min_length=1, max_length=2000, description="a URL or a file under the data dir")
    role: SourceRole = "reference"


class Testimonial(BaseModel):
    """A customer quote; only ``consent: true`` ones may be quoted in copy."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quote: str = Field(min_length=3, max_length=600)
    author: str = Field(min_length=1, max_length=120)
    consent: bool = Field(default=False, strict=True)


def _facts(value: list[str]) -> list[str]:
    """Approved statements: each 3-300 characters, duplicates dropped (order kept)."""
    cleaned = [f.strip() for f in value]
    for fact in cleaned:
        if not 3 <= len(fact) <= 300:
            raise ValueError(f"each fact must be 3-300 characters (got {len(fact)}: {shown(fact, 50)})")
    return list(dict.fromkeys(cleaned))


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
    demo: bool = Field(
        default=False, strict=True, description="a demo brief: may give start_date relative to today"
    )
    allow_past: bool = Field(
        default=False, strict=True, description="accept a window that has already ended (backfills)"
    )
    start_date: dt.date = Field(ge=EARLIEST_START, le=LATEST_START)
    duration_days: int = Field(ge=1, le=365, strict=True)
    sources: list[str | SourceRef] = Field(
        default_factory=list, max_length=20, description="a URL/file (role reference) or {ref, role}"
    )
    facts: list[str] = Field(
        default_factory=list, max_length=MAX_FACTS, description="approved statements the copy may rely on"
    )
    testimonials: list[Testimonial] = Field(default_factory=list, max_length=20)
    length: dict[ContentType, LengthTarget] = Field(default_factory=dict)
    paid: bool = Field(default=False, description="sponsored / paid placement: needs a disclosure")
    call_to_action: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, description="landing URL the pieces point to")
    variants: int = Field(default=2, ge=0, le=5, strict=True, description="A/B variants per approved piece")
    sequential_test: bool = Field(
        default=False,
        strict=True,
        description="publish blog/social A/B variants in turn on different days (a sequential test)",
    )
    email_segment: str | None = Field(
        default=None, max_length=100, description="Mailchimp saved segment id the emails go to"
    )
    email_tag: str | None = Field(default=None, max_length=100, description="Mailchimp tag the emails go to")
    parent_piece_id: str | None = Field(default=None, description="set when derived from a winning piece")
    # the measurable goal (optional; the free-text ``goal`` stays): e.g. goal_metric: orders, goal_target: 500.
    # Without them the number is read from the goal text (docs/attribution.md).
    goal_metric: GoalMetric | None = Field(default=None, description="what the goal counts")
    goal_target: float | None = Field(
        default=None,
        gt=0,
        le=1e12,
        validate_default=True,
        description="how many (or how much revenue) by the end of the goal window",
    )
    # the goal's system of record when the same purchases are imported from two systems (a Shopify and a
    # Stripe export): only conversions imported with this preset count toward the goal
    conversion_source: str | None = Field(
        default=None,
        description="the conversions the goal counts: those imported with this preset "
        f"({', '.join(CONVERSION_SOURCES)}); default: every source",
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a slug: 3-64 lowercase letters, digits or dashes, e.g. 'spring-launch'")
        return value

    @field_validator("start_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            raise ValueError("must be a date without a time, written YYYY-MM-DD")
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            raise ValueError("must be a date written YYYY-MM-DD, e.g. 2027-03-01")
        text = value.strip()
        if RELATIVE_DATE.match(text):
            raise ValueError(
                "relative dates ('+7d', 'today', 'next monday') are only for demo briefs (demo: true); "
                "write the date as YYYY-MM-DD"
            )
        if not ISO_DATE.match(text):
            raise ValueError("must be a date written YYYY-MM-DD, e.g. 2027-03-01")
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"is not a calendar date ({exc})") from None

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

    @field_validator("goal_target")
    @classmethod
    def _goal_pair(cls, value: float | None, info: ValidationInfo) -> float | None:
        if "goal_metric" not in info.data:
            return value  # goal_metric itself is invalid: reported on its own
        metric = info.data["goal_metric"]
        if metric is not None and value is None:
            raise ValueError(
                f"is required with goal_metric {metric!r}: give both (e.g. goal_target: 500) or neither"
            )
        if metric is None and value is not None:
            raise ValueError(
                "needs goal_metric (orders, revenue, signups, leads or conversions): give both or neither "
                "(without them the number is read from the goal text)"
            )
        return value

    @field_validator("conversion_source")
    @classmethod
    def _conversion_source(cls, value: str | None) -> str | None:
        if value is not None and value not in CONVERSION_SOURCES:
            raise ValueError(
                f"is not a conversion source: use one of {', '.join(CONVERSION_SOURCES)} (the preset the "
                "goal's conversions are imported with; analytics.conversions.source)"
            )
        return value

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.duration_days)

    def word_targets(self) -> dict[str, tuple[int, int]]:
        targets = dict(WORD_TARGETS)
        targets.update({k: (v.min_words, v.max_words) for k, v in self.length.items()})
        return targets

    def source_entries(self) -> list[SourceRef]:
        """Every source with its role (a plain string is a ``reference``)."""
        return [s if isinstance(s, SourceRef) else SourceRef(ref=s) for s in self.sources]

    def url_sources(self) -> list[str]:
        return [s.ref for s in self.source_entries() if URL.match(s.ref)]

    def quotable_testimonials(self) -> list[Testimonial]:
        return [t for t in self.testimonials if t.consent]

    @field_validator("facts")
    @classmethod
    def _approved_facts(cls, value: list[str]) -> list[str]:
        return _facts(value)


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
    facts: list[str] = Field(
        default_factory=list, max_length=MAX_FACTS, description="brand-wide approved statements"
    )
    testimonials: list[Testimonial] = Field(default_factory=list, max_length=20)

    @field_validator("facts")
    @classmethod
    def _approved_facts(cls, value: list[str]) -> list[str]:
        return _facts(value)

    def quotable_testimonials(self) -> list[Testimonial]:
        return [t for t in self.testimonials if t.consent]

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


# pydantic names the member of a union (``str | SourceRef``) in an error's location; one problem per value is
# clearer: a mapping is reported against SourceRef's fields, anything else against the plain-string form
_STR_TAGS = {"str", "constrained-str"}
_MODEL_TAGS = {"SourceRef"}


def _problems(exc: ValidationError, data: Any) -> list[FieldProblem]:
    problems = []
    for err in exc.errors():
        loc = err.get("loc", ())
        tags = [p for p in loc if isinstance(p, str) and p in _STR_TAGS | _MODEL_TAGS]
        if tags:
            member_input = err.get("input")
            is_mapping_error = tags[-1] in _MODEL_TAGS
            if (
                err.get("type") != "extra_forbidden"
                and not is_mapping_error
                and isinstance(member_input, dict)
            ):
                continue  # "should be a valid string" for a mapping: the SourceRef errors say what's wrong
            if is_mapping_error and err.get("type") in ("model_type", "dict_type"):
                continue  # "should be a dictionary" for a string/number: the string error says it
            loc = tuple(p for p in loc if p not in tags)
        name = ""
        for part in loc:
            name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        value = err.get("input")
        if isinstance(value, dt.date):
            value = value.isoformat()
        if err.get("type") == "missing":
            value = None
            message = "is required but missing"
        elif err.get("type") == "extra_forbidden":
            message = "is not a known field (check the spelling)"
        problems.append(FieldProblem(name or "(file)", value, message))
    return problems


class _LimitError(yaml.MarkedYAMLError):
    """A YAML file over one of the reading limits (reported like a syntax error, with its position)."""


def _expanded(
    node: yaml.Node, memo: dict[int, tuple[int, int]], active: set[int], level: int = 1
) -> tuple[int, int]:
    """(nodes, depth) of ``node`` once every alias is expanded; a node shared by aliases is visited once
    (memo), so this is linear in the composed graph even for an alias bomb, and it stops at the first
    limit crossed, on the way down for depth."""
    if level > MAX_DEPTH:
        raise _LimitError(problem=f"nests more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark)
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _LimitError(
            problem="an alias refers to the node that contains it", problem_mark=node.start_mark
        )
    active.add(key)
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    size, depth = 1, 1
    for child in children:
        child_size, child_depth = _expanded(child, memo, active, level + 1)
        size, depth = size + child_size, max(depth, child_depth + 1)
        if size > MAX_NODES:
            raise _LimitError(
                problem=f"expands to more than {MAX_NODES} values (aliases: '*name')",
                problem_mark=node.start_mark,
            )
        if level + depth - 1 > MAX_DEPTH:
            raise _LimitError(
                problem=f"nests more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark
            )
    active.discard(key)
    memo[key] = (size, depth)
    return size, depth


# libyaml's C parser when PyYAML was built with it (the wheels are): composing a 256 KB file of tiny
# values takes milliseconds instead of seconds, and libyaml itself stops at 1000 levels of nesting
_SafeBase: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _BoundedLoader(_SafeBase):
    """PyYAML's safe loader with limits: nesting depth, alias expansion, and dates left as text."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # only the pure-Python parser calls this; libyaml composes in C (bounded by _nesting_guard)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitError(
                    problem=f"nests more than {MAX_DEPTH} levels deep",
                    problem_mark=self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _expanded(node, {}, set())
        return self.construct_document(node)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        # an integer Python refuses (thousands of digits) stays text, so pydantic names its field
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            return self.construct_scalar(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BriefError(
            str(path), [FieldProblem("(file)", path.name, f"cannot be read: {exc.strerror or exc}")]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise BriefError(
            str(path),
            [
                FieldProblem(
                    "(file)", f"> {MAX_FILE_BYTES} bytes", f"is too large (limit {MAX_FILE_BYTES} bytes)"
                )
            ],
        )
    return raw


_OPENS = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
)
_CLOSES = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _nesting_guard(raw: bytes) -> None:
    """Refuse deep nesting and too many values with libyaml's C scanner, before anything is composed: on
    a line of thousands of ``[`` the Python scanner spends ~1 s looking ahead for a possible mapping key,
    and composing 100 000 tiny values takes seconds."""
    if not yaml.__with_libyaml__:
        return
    depth = values = 0
    try:
        for token in yaml.scan(raw, Loader=yaml.CSafeLoader):
            if isinstance(token, (yaml.ScalarToken, yaml.AliasToken)):
                values += 1
                if values > MAX_NODES:
                    raise _LimitError(
                        problem=f"has more than {MAX_NODES} values", problem_mark=token.start_mark
                    )
            elif isinstance(token, _OPENS):
                depth += 1
                if depth > MAX_DEPTH + 1:
                    raise _LimitError(
                        problem=f"nests more than {MAX_DEPTH} levels deep", problem_mark=token.start_mark
                    )
            elif isinstance(token, _CLOSES):
                depth -= 1
    except _LimitError:
        raise
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in (exc.context or "") + (exc.problem or ""):  # libyaml's own limit (1000)
            raise _LimitError(
                problem=f"nests more than {MAX_DEPTH} levels deep", problem_mark=exc.problem_mark
            ) from None
        # any other syntax error: the loader below reports it, with the same wording as always
    except yaml.YAMLError:
        return


def _parse_yaml(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        _nesting_guard(raw)
        loader = _BoundedLoader(raw)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "YAML over the limits" if isinstance(exc, _LimitError) else "malformed YAML"
        raise BriefError(str(path), [FieldProblem("(yaml)", where, f"{kind}: {problem}")]) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise BriefError(
            str(path), [FieldProblem("(yaml)", type(exc).__name__, f"cannot be read: {str(exc)[:200]}")]
        ) from None
    if not isinstance(data, dict):
        raise BriefError(str(path), [FieldProblem("(file)", type(data).__name__, "must be a YAML mapping")])
    return data


def _load_yaml(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = _read_bytes(path)
    return _parse_yaml(raw, path), raw


def resolve_relative_date(expr: str, today: dt.date) -> dt.date:
    """``today``, ``+Nd`` (N days from today) or ``next <weekday>`` (the first one after today)."""
    match = RELATIVE_DATE.match(expr.strip())
    if not match:
        raise ValueError(f"not a relative date: {expr!r}")
    days, weekday = match.groups()
    if days is not None:
        return today + dt.timedelta(days=int(days))
    if weekday:
        ahead = (WEEKDAYS.index(weekday.lower()) - today.weekday() - 1) % 7 + 1
        return today + dt.timedelta(days=ahead)
    return today


@dataclass(frozen=True)
class BriefRegistry:
    """What registration recorded per campaign id: the file that owns it and the window it was given.

    It keeps a demo's relative window fixed once resolved, lets the file that registered an id keep it
    when another file claims the same id, and lets a campaign whose window has since ended stay valid.
    Losing it is harmless: windows are resolved again and the first file (sorted) owns an id.
    """

    path: Path

    @classmethod
    def beside(cls, campaigns_dir: Path) -> BriefRegistry:
        return cls(campaigns_dir.parent / "warehouse" / "brief_registry.json")

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}

    def save(self, entries: dict[str, dict[str, Any]]) -> bool:
        """Write atomically; ``False`` when the data dir is read-only (windows are then resolved per read)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))
            os.replace(tmp, self.path)
        except OSError:
            return False
        return True


def _anchor(
    data: dict[str, Any], path: Path, today: dt.date, entries: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], str | None]:
    """A demo brief's relative start_date replaced by its date: the recorded one while that window has
    not ended, else resolved from ``today``."""
    value = data.get("start_date")
    if data.get("demo") is not True or not isinstance(value, str) or not RELATIVE_DATE.match(value.strip()):
        return data, None
    expr = " ".join(value.strip().lower().split())
    record = entries.get(data["id"]) if isinstance(data.get("id"), str) else None
    start = None
    if record and record.get("file") == path.name and record.get("relative") == expr:
        try:
            recorded = dt.date.fromisoformat(record["start_date"])
            if recorded + dt.timedelta(days=int(record["duration_days"])) > today:
                start = recorded
        except (KeyError, TypeError, ValueError, OverflowError):
            start = None
    if start is None:
        start = resolve_relative_date(expr, today)
    return {**data, "start_date": start.isoformat()}, expr


def window_problem(
    brief: CampaignBrief, path: Path, today: dt.date, entries: dict[str, dict[str, Any]]
) -> FieldProblem | None:
    if brief.allow_past or brief.end_date > today:
        return None
    record = entries.get(brief.id) or {}
    if record.get("file") == path.name and record.get("start_date") == brief.start_date.isoformat():
        return None  # registered while it was current: a finished campaign, not a mistake
    last = brief.end_date - dt.timedelta(days=1)
    return FieldProblem(
        "start_date",
        brief.start_date.isoformat(),
        f"the window ({brief.start_date} to {last}) ended before today ({today}), so every item would be "
        "due at once; move start_date, or set allow_past: true to run it anyway",
    )


def load_brief(
    path: Path, *, today: dt.date | None = None, registry: BriefRegistry | None = None
) -> tuple[CampaignBrief, str]:
    """The validated brief in ``path`` and its version hash (sha256 of the bytes, plus the resolved start
    of a relative demo window). ``today`` defaults to :func:`current_date`."""
    registry = registry or BriefRegistry.beside(path.parent)
    scanned = read_brief(path, today=today or current_date(), entries=registry.load())
    if scanned.error is not None:
        raise scanned.error
    assert scanned.brief is not None
    return scanned.brief, scanned.sha256


def campaign_row(
    brief: CampaignBrief, path: Path, sha256: str, now: dt.datetime, status: str = "registered"
) -> dict[str, Any]:
    """The ``campaigns`` row of a brief read from ``path`` (``sha256``: its version hash)."""
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
    relative: str | None = None  # a demo brief's relative start_date, e.g. "next monday"

    @property
    def ok(self) -> bool:
        return self.brief is not None


def read_brief(path: Path, *, today: dt.date, entries: dict[str, dict[str, Any]]) -> ScannedBrief:
    """One file, valid or not (never raises). Duplicate ids across files are settled by the caller."""
    try:
        raw = _read_bytes(path)
    except BriefError as err:
        return ScannedBrief(path, content_hash(b""), None, err)
    digest = content_hash(raw)
    try:
        data = _parse_yaml(raw, path)
    except BriefError as err:
        return ScannedBrief(path, digest, None, err)
    data, relative = _anchor(data, path, today, entries)
    try:
        brief = CampaignBrief.model_validate(data)
    except ValidationError as exc:
        return ScannedBrief(path, digest, None, BriefError(str(path), _problems(exc, data)), relative)
    problem = window_problem(brief, path, today, entries)
    if problem is not None:
        return ScannedBrief(path, digest, None, BriefError(str(path), [problem]), relative)
    if relative:
        digest = content_hash(raw + f"\nstart_date resolved: {brief.start_date}".encode())
    return ScannedBrief(path, digest, brief, None, relative)


def id_owners(
    claims: dict[str, list[str]], entries: dict[str, dict[str, Any]], present: set[str]
) -> dict[str, str]:
    """For each campaign id claimed by valid files (by name), the file that keeps it: the one the registry
    recorded while it is still in the folder (even if it is invalid right now, so that breaking a brief
    for a moment does not hand its campaign to a copy), else the first claimant in sorted order. The owner
    is not among the claimants when the recorded file is invalid: then every claimant is a duplicate."""
    owners = {}
    for cid, names in claims.items():
        recorded = (entries.get(cid) or {}).get("file")
        owners[cid] = recorded if recorded in present else sorted(names)[0]
    return owners


def duplicate_problem(cid: str, owner: str) -> FieldProblem:
    return FieldProblem(
        "id", cid, f"is already used by {owner}, which keeps the campaign: give this file another id"
    )


def registry_entry(scanned: ScannedBrief) -> dict[str, Any]:
    assert scanned.brief is not None
    return {
        "file": scanned.path.name,
        "start_date": scanned.brief.start_date.isoformat(),
        "duration_days": scanned.brief.duration_days,
        "relative": scanned.relative,
    }


def brief_files(campaigns_dir: Path) -> list[Path]:
    if not campaigns_dir.is_dir():
        return []
    return sorted(p for p in campaigns_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def scan_briefs(
    campaigns_dir: Path,
    *,
    today: dt.date | None = None,
    registry: BriefRegistry | None = None,
    record: bool = False,
) -> list[ScannedBrief]:
    """Every brief file, valid or not. A second file claiming an id already taken is an error naming
    both files. ``record=True`` (registration: ``campaign sync``, the sensor, the ``campaign_brief``
    asset) writes each valid brief's file and window to the registry."""
    today = today or current_date()
    registry = registry or BriefRegistry.beside(campaigns_dir)
    entries = registry.load()
    scanned = [read_brief(path, today=today, entries=entries) for path in brief_files(campaigns_dir)]
    claims: dict[str, list[str]] = {}
    for item in scanned:
        if item.brief is not None:
            claims.setdefault(item.brief.id, []).append(item.path.name)
    owners = id_owners(claims, entries, {item.path.name for item in scanned})
    results = []
    for item in scanned:
        if item.brief is not None and owners[item.brief.id] != item.path.name:
            error = BriefError(str(item.path), [duplicate_problem(item.brief.id, owners[item.brief.id])])
            item = ScannedBrief(item.path, item.sha256, None, error, item.relative)
        results.append(item)
    if record:
        updated = {**entries, **{s.brief.id: registry_entry(s) for s in results if s.brief is not None}}
        if updated != entries:
            registry.save(updated)
    return results


def find_brief(
    campaigns_dir: Path,
    campaign_id: str,
    *,
    today: dt.date | None = None,
    registry: BriefRegistry | None = None,
    record: bool = False,
) -> tuple[Path, CampaignBrief, str]:
    """The file and validated brief for one campaign id; raises BriefError naming what went wrong."""
    scanned_all = scan_briefs(campaigns_dir, today=today, registry=registry, record=record)
    for scanned in scanned_all:
        if scanned.brief is not None and scanned.brief.id == campaign_id:
            return scanned.path, scanned.brief, scanned.sha256
    for scanned in scanned_all:
        if scanned.error is not None and scanned.path.stem == campaign_id:
            raise scanned.error
    valid = sorted(s.brief.id for s in scanned_all if s.brief is not None)
    raise BriefError(
        str(campaigns_dir),
        [
            FieldProblem(
                "id",
                campaign_id,
                "no valid brief with this id in the campaigns folder; valid campaigns: "
                + (", ".join(valid) or "none"),
            )
        ],
    )
