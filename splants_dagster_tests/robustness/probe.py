"""Issue #14's "Keep it so" probe: a table of bad inputs tried on the real ``splants`` command, as a careful
operator would, each on a fresh copy of the demo data dir and a fresh Dagster instance.

Every case writes its bad file(s) next to the good demo inputs, runs one ``splants`` subprocess (or, for
brief sources, the research loader in a subprocess) and checks what the operator sees:

- the exit code (non-zero for a refused input; zero where the right behaviour is to skip the bad file and
  carry on, e.g. ``campaign sync`` with one bad brief among good ones, or rows quarantined in a file);
- no ``Traceback`` in stdout or stderr;
- the file name and the field / variable / column named in the output (``named``), and secrets or hostile
  payloads never echoed (``absent``);
- nothing else lost (``kept``): the good campaigns registered in the Dagster instance, the good file's rows
  loadable or loaded in the warehouse, the good sources read.

``run_matrix()`` runs a list of cases and returns the figures of the issue's closing note (cases tried,
clear errors, tracebacks, data lost). The whole matrix runs with ``make probe`` (``bench/probe.py``, a few
minutes); ``test_probe_matrix.py`` runs a representative subset and the summary of the whole one.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from splants_dagster.paths import PROJECT_ROOT

SPLANTS = str(Path(sys.executable).parent / "splants")
DEMO_INPUTS = ("brand.yaml", "models.yaml", "campaigns", "sources")
GOOD_IDS = ("compostable-pods-launch", "origin-club-subscription")
DEMO_BRIEF = PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml"
GOOD_BRIEF = "{data}/campaigns/origin-club-subscription.yaml"
CASE_TIMEOUT_S = 240
# the environment a case starts from: the caller's, minus every setting and credential the code reads
CLEARED = re.compile(r"^(SPLANTS_|DAGSTER_HOME$|OPENAI_|ANTHROPIC_)")

Check = Callable[[Path, str], str | None]  # (case root, combined output) -> problem, or None when kept


@dataclass(frozen=True)
class Case:
    """One bad input. ``files``: paths under the data dir -> content (``None``: a FIFO; ``"->target"``
    as bytes ``b"->..."``: a symlink). ``argv``: after ``splants`` (or ``python -c`` when ``python``), with
    ``{data}`` and ``{root}`` filled in. ``named``: each entry (or one of a tuple of alternatives) must
    appear in stdout+stderr. ``exit``: the expected exit code(s)."""

    name: str
    item: str  # the issue #14 item it covers
    group: str
    argv: tuple[str, ...]
    exit: tuple[int, ...]
    named: tuple[str | tuple[str, ...], ...] = ()
    files: dict[str, str | bytes | None] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    kept: Check | None = None
    kept_what: str = ""
    python: bool = False


@dataclass
class Outcome:
    name: str
    group: str
    item: str
    exit_code: int | None
    seconds: float
    exit_ok: bool
    traceback: bool
    missing: list[str]
    echoed: list[str]
    lost: str | None
    output: str

    @property
    def clear(self) -> bool:
        return self.exit_ok and not self.traceback and not self.missing and not self.echoed

    def problem(self) -> str:
        parts = []
        if not self.exit_ok:
            parts.append(f"exit {self.exit_code}")
        if self.traceback:
            parts.append("traceback")
        if self.missing:
            parts.append(f"not named: {self.missing}")
        if self.echoed:
            parts.append(f"echoed: {self.echoed}")
        if self.lost:
            parts.append(f"lost: {self.lost}")
        return "; ".join(parts)


# ------------------------------------------------------------------------------------- "nothing lost"


def registered(*ids: str) -> Check:
    """The good campaigns are dynamic partitions of the case's instance after the command."""

    def check(root: Path, _out: str) -> str | None:
        import dagster as dg

        with dg.DagsterInstance.from_config(str(root / "home")) as instance:
            known = set(instance.get_dynamic_partitions("campaigns"))
        missing = [i for i in ids if i not in known]
        return f"campaigns not registered: {missing} (registered: {sorted(known)})" if missing else None

    return check


def validated(*ids: str) -> Check:
    """``campaign validate`` still reports each good brief given beside the bad one as valid."""

    def check(_root: Path, out: str) -> str | None:
        missing = [i for i in ids if not re.search(rf"valid \S+: id={re.escape(i)},", out)]
        return f"good brief not reported valid: {missing}" if missing else None

    return check


def loadable(file: str, rows: int) -> Check:
    """``engagement import --dry-run``: the good file beside the bad one still has all its rows loadable."""

    def check(_root: Path, out: str) -> str | None:
        pattern = rf"{re.escape(file)}: preset \w+, \d+ rows: {rows} loadable"
        return None if re.search(pattern, out) else f"{file}: not '{rows} loadable'"

    return check


def loaded(source_file: str, rows: int) -> Check:
    """A real import: the warehouse holds ``rows`` loaded rows for the good file (``source_file`` is its
    path in the inbox, ``<preset>/<name>``)."""

    def check(root: Path, _out: str) -> str | None:
        from splants_dagster.paths import DataPaths
        from splants_dagster.warehouse.store import Warehouse

        found = Warehouse(DataPaths.at(root / "data")).query(
            "SELECT coalesce(sum(rows_loaded), 0) AS n FROM engagement_file_loads WHERE source_file = ?",
            [source_file],
        )
        n = found[0]["n"] if found else 0
        return None if n == rows else f"{source_file}: {n} rows loaded in the warehouse, expected {rows}"

    return check


def sources_read(*refs: str) -> Check:
    def check(_root: Path, out: str) -> str | None:
        missing = [r for r in refs if f"ok {r}" not in out]
        return f"good sources not read: {missing}" if missing else None

    return check


def warehouse_readable(_root: Path, out: str) -> str | None:
    from splants_dagster.paths import DataPaths
    from splants_dagster.warehouse.store import Warehouse

    try:
        Warehouse(DataPaths.at(_root / "data")).query("SELECT count(*) AS n FROM analytics.campaigns")
    except Exception as exc:  # the probe reports it as data lost
        return f"analytics.duckdb unreadable after the command: {type(exc).__name__}: {exc}"
    return None


# ------------------------------------------------------------------------------------------- briefs

DEMO_TEXT = DEMO_BRIEF.read_text()


def brief_with(name: str, **fields: str | None) -> str:
    """The demo brief with id ``name`` and each given top-level field replaced by raw YAML (``None``:
    removed). Everything else in it stays valid."""
    text = DEMO_TEXT
    for key, raw in {"id": name, **fields}.items():
        block = re.compile(rf"^{key}:.*\n(?:[ \-].*\n)*", re.MULTILINE)
        text = block.sub("", text)
        if raw is not None:
            text += f"{key}: {raw}\n"
    return text


ANCHOR_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

# (name, bad file content, the field its error names); each is run with `campaign validate BAD GOOD`
BRIEF_FIELDS: list[tuple[str, str | bytes, str | tuple[str, ...]]] = [
    ("date-month-13", brief_with("date-month-13", start_date="2026-13-02"), "start_date"),
    ("date-feb-30", brief_with("date-feb-30", start_date="2026-02-30"), "start_date"),
    ("date-year-9999", brief_with("date-year-9999", start_date="9999-12-20"), "start_date"),
    ("date-year-1900", brief_with("date-year-1900", start_date="1900-01-01"), "start_date"),
    ("date-window-ended", brief_with("date-window-ended", start_date="2020-01-06"), "start_date"),
    ("date-with-time", brief_with("date-with-time", start_date="2027-03-01T10:00:00"), "start_date"),
    ("date-relative-not-demo", brief_with("date-relative-not-demo", demo=None), "start_date"),
    ("date-number", brief_with("date-number", start_date="20270301"), "start_date"),
    ("duration-bool", brief_with("duration-bool", duration_days="true"), "duration_days"),
    ("duration-1e9", brief_with("duration-1e9", duration_days="1e9"), "duration_days"),
    ("duration-negative", brief_with("duration-negative", duration_days="-3"), "duration_days"),
    ("duration-zero", brief_with("duration-zero", duration_days="0"), "duration_days"),
    ("duration-5000-digits", brief_with("duration-5000-digits", duration_days="9" * 5000), "duration_days"),
    ("duration-text", brief_with("duration-text", duration_days="three weeks"), "duration_days"),
    ("id-not-slug", brief_with("Bad_ID!"), "id"),
    ("id-list", brief_with("x", id="[a, b]"), "id"),
    ("topic-number", brief_with("topic-number", topic="12345"), "topic"),
    ("topic-too-short", brief_with("topic-too-short", topic="ab"), "topic"),
    ("goal-mapping", brief_with("goal-mapping", goal="{a: 1}"), "goal"),
    ("keywords-string", brief_with("keywords-string", keywords='"coffee"'), "keywords"),
    (
        "keywords-eleven",
        brief_with("keywords-eleven", keywords=str([f"k{i}" for i in range(11)])),
        "keywords",
    ),
    ("platform-unknown", brief_with("platform-unknown", platforms="[myspace]"), "platforms[0]"),
    ("platforms-empty", brief_with("platforms-empty", platforms="[]"), "platforms"),
    ("content-type-unknown", brief_with("content-type-unknown", content_types="[poem]"), "content_types[0]"),
    ("tone-number", brief_with("tone-number", tone="42"), "tone"),
    ("tone-markup", brief_with("tone-markup", tone='"[/oops]"'), "tone"),
    ("demo-string", brief_with("demo-string", demo='"yes"'), "demo"),
    ("link-javascript", brief_with("link-javascript", link='"javascript:alert(1)"'), "link"),
    ("sources-number", brief_with("sources-number", sources="5"), "sources"),
    ("sources-21", brief_with("sources-21", sources=str([f"sources/s{i}.md" for i in range(21)])), "sources"),
    ("source-bad-role", brief_with("source-bad-role", sources="[{ref: x.md, role: boss}]"), "sources[0]"),
    ("fact-too-long", brief_with("fact-too-long", facts=str(["x" * 400])), "facts"),
    (
        "testimonial-consent-text",
        brief_with(
            "testimonial-consent-text", testimonials='[{quote: "Great pods", author: A, consent: "yes"}]'
        ),
        "testimonials[0]",
    ),
    ("variants-99", brief_with("variants-99", variants="99"), "variants"),
    (
        "length-min-over-max",
        brief_with("length-min-over-max", length="{blog: {min_words: 900, max_words: 100}}"),
        "length.blog",
    ),
    ("cta-too-long", brief_with("cta-too-long", call_to_action="x" * 300), "call_to_action"),
    ("unknown-field", brief_with("unknown-field", budget_usd="5"), "budget_usd"),
    ("anchor-bomb", ANCHOR_BOMB, "(yaml)"),
    ("deep-nesting", "a: " + "[" * 3000 + "]" * 3000 + "\n", "(yaml)"),
    ("huge-file", DEMO_TEXT + "# padding\n" * 40_000, "(file)"),
    (
        "nul-bytes",
        DEMO_TEXT.encode().replace(b"tone: friendly", b"tone: fri\x00endly"),
        ("(yaml)", "(file)", "tone"),
    ),
    ("binary-garbage", bytes(range(256)) * 8, ("(yaml)", "(file)")),
    (
        "latin-1",
        brief_with("latin-1", topic="Café pods for people who love coffee").encode("latin-1"),
        ("(yaml)", "(file)"),
    ),
    ("tab-indent", "id: tab-indent\nkeywords:\n\t- coffee\n", "(yaml)"),
    ("empty-file", "", "(file)"),
    ("null-document", "~\n", "(file)"),
    ("list-at-top", "- just\n- a list\n", "(file)"),
    ("scalar-at-top", "just a sentence\n", "(file)"),
    ("two-documents", brief_with("two-documents") + "---\nid: other\n", "(yaml)"),
    ("python-tag", "!!python/object/apply:os.system ['echo PWNED_$((6*7))']\n", "(yaml)"),
]


def _brief_validate_case(name: str, content: str | bytes, field: str | tuple[str, ...]) -> Case:
    alternatives = field if isinstance(field, tuple) else (field,)
    return Case(
        name=f"brief/{name}",
        item="2 briefs",
        group="brief YAML",
        argv=("campaign", "validate", f"{{data}}/campaigns/{name}.yaml", GOOD_BRIEF),
        exit=(1,),
        # a prefix: a nested field is named by its path, e.g. field 'testimonials[0].consent'
        named=(f"{name}.yaml", tuple(f"field '{f}" for f in alternatives)),
        files={f"campaigns/{name}.yaml": content},
        absent=("PWNED_42",),
        kept=validated("origin-club-subscription"),
        kept_what="the good brief given beside it is still reported valid",
    )


def _sync_case(name: str, files: dict, named: tuple, exit: tuple[int, ...] = (0,), **kw) -> Case:
    kw.setdefault("kept", registered(*GOOD_IDS))
    kw.setdefault("kept_what", "both demo campaigns registered")
    return Case(
        name=f"sync/{name}",
        item="2 briefs",
        group="brief YAML",
        argv=("campaign", "sync"),
        exit=exit,
        named=named,
        files=files,
        **kw,
    )


SYNC_CASES = [
    _sync_case(
        "bad-month-among-good",
        {"campaigns/bad-month.yaml": brief_with("bad-month", start_date="2026-13-02")},
        ("bad-month.yaml", "field 'start_date'", "2026-13-02"),
    ),
    _sync_case(
        "anchor-bomb-among-good", {"campaigns/bomb.yaml": ANCHOR_BOMB}, ("bomb.yaml", "field '(yaml)'")
    ),
    _sync_case(
        "duplicate-id-in-second-file",
        {"campaigns/zz-copy.yaml": DEMO_TEXT},
        ("zz-copy.yaml", "field 'id'", "already used by compostable-pods-launch.yaml"),
    ),
    _sync_case(
        "utf16-brief",
        {"campaigns/utf16.yaml": brief_with("utf16-brief").encode("utf-16")},
        ("utf16.yaml",),
    ),
    _sync_case(
        "markup-in-file-name",
        {"campaigns/[bold]oops.yaml": brief_with("markup-name", tone='"[/oops]"')},
        ("[bold]oops.yaml", "field 'tone'", "[/oops]"),
    ),
    _sync_case("fifo-named-yaml", {"campaigns/pipe.yaml": None}, ()),
    _sync_case("symlink-to-etc-passwd", {"campaigns/passwd.yaml": b"->/etc/passwd"}, ("passwd.yaml",)),
    _sync_case(
        "every-brief-invalid",
        {
            "campaigns/compostable-pods-launch.yaml": "",
            "campaigns/origin-club-subscription.yaml": "- a\n",
        },
        ("compostable-pods-launch.yaml", "origin-club-subscription.yaml", "field '(file)'"),
        exit=(1,),
        kept=None,  # nothing good left to keep: the exit code is the point
    ),
]


# ----------------------------------------------------------------------------------------- settings

SETTINGS_BAD: list[tuple[str, str]] = [
    ("SPLANTS_MONTHLY_BUDGET_USD", "abc"),
    ("SPLANTS_MONTHLY_BUDGET_USD", "-5"),
    ("SPLANTS_MONTHLY_BUDGET_USD", "nan"),
    ("SPLANTS_MONTHLY_BUDGET_USD", "inf"),
    ("SPLANTS_MONTHLY_BUDGET_USD", "1e400"),
    ("SPLANTS_EXECUTOR", "bogus"),
    ("SPLANTS_LLM_CONCURRENCY", "abc"),
    ("SPLANTS_LLM_CONCURRENCY", "0"),
    ("SPLANTS_LLM_CONCURRENCY", "-1"),
    ("SPLANTS_LLM_TIMEOUT_S", "-1"),
    ("SPLANTS_LLM_STEP_DEADLINE_S", "soon"),
    ("SPLANTS_LLM_FORCE_REFRESH", "maybe"),
    ("SPLANTS_LLM_STRATEGY", "cheapest-ever"),
    ("SPLANTS_STRATEGY", "[/oops]"),
    ("SPLANTS_QA_MAX_BYTES", "-1"),
    ("SPLANTS_SOURCE_ALLOW", "10.0.0.0/99"),
    ("SPLANTS_ENGAGEMENT_SIM_START", "2026-13-01"),
    ("SPLANTS_ML_MIN_ROWS", "many"),
]


def _setting_case(var: str, value: str) -> Case:
    slug = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-") or "x"
    return Case(
        name=f"settings/{var}={slug}",
        item="13 settings",
        group="settings env vars",
        argv=("budget",),
        exit=(2,),
        named=(var, value),
        env={var: value},
    )


SECRET = "https://hooks.example/T0KEN-s3cret"
SETTINGS_CASES = [_setting_case(var, value) for var, value in SETTINGS_BAD] + [
    Case(
        name="settings/secret-webhook-not-echoed",
        item="13 settings",
        group="settings env vars",
        argv=("budget",),
        exit=(2,),
        named=("SPLANTS_ALERT_WEBHOOK_URL", "SPLANTS_EXECUTOR"),
        env={"SPLANTS_ALERT_WEBHOOK_URL": SECRET.replace("https", "gopher"), "SPLANTS_EXECUTOR": "bogus"},
        absent=("T0KEN-s3cret",),
    ),
]


# ----------------------------------------------------------------------------------------- budget.yaml

BUDGET_CASES = [
    Case(
        name=f"budget-yaml/{name}",
        item="13 settings",
        group="budget.yaml",
        argv=("budget",),
        exit=(1,),
        named=("budget.yaml", named),
        files={"budget.yaml": text},
    )
    for name, text, named in [
        ("budget-text", "monthly_budget_usd: abc\n", "monthly_budget_usd"),
        ("budget-negative", "monthly_budget_usd: -5\n", "monthly_budget_usd"),
        ("thresholds-not-list", "alert_thresholds_pct: 50\n", "alert_thresholds_pct"),
        ("unknown-key", "monthly_budgt_usd: 50\n", "monthly_budgt_usd"),
        ("anchor-bomb", ANCHOR_BOMB, "budget.yaml"),
        ("binary", bytes(range(256)) * 10, "budget.yaml"),
        ("utf16", "monthly_budget_usd: 5\n".encode("utf-16"), "budget.yaml"),
        ("list-at-top", "- 50\n", "mapping"),
        ("campaign-cap-text", "campaign_caps_usd: {pods: abc}\n", "campaign_caps_usd.pods"),
    ]
]


# ----------------------------------------------------------------------------------------- qa drafts

QA_ALIAS_BOMB = (
    "---\n"
    + "".join(
        f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ).replace("b: &b", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b', 1)
    + "title: [*i, *i]\n---\nbody\n"
)
BODY = "# Pods\n\nCompostable coffee pods break down in home compost within twelve weeks.\n"

QA_DRAFTS: list[tuple[str, str | bytes, tuple]] = [
    ("hashtags-number", "---\nhashtags: 5\n---\n" + BODY, ("hashtags",)),
    ("title-mapping", "---\ntitle: {a: 1}\n---\n" + BODY, ("title",)),
    ("unknown-front-matter-field", "---\nauthorr: me\n---\n" + BODY, ("authorr",)),
    ("front-matter-list", "---\n- a\n- b\n---\n" + BODY, ("front matter",)),
    ("front-matter-malformed", '---\ntitle: "unclosed\n---\n' + BODY, ("front matter",)),
    ("front-matter-alias-bomb", QA_ALIAS_BOMB, ("front matter",)),
    ("front-matter-deep", "---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\n" + BODY, ("front matter",)),
    ("over-size-cap", BODY * 4000, ("SPLANTS_QA_MAX_BYTES",)),
    ("not-utf8", ("# Café\n\n" + BODY).encode("latin-1"), ("UTF-8",)),
    ("utf16", BODY.encode("utf-16"), ("UTF-8",)),
    ("nul-bytes", BODY.encode() + b"\x00\x00", ("NUL",)),
]


def _qa_case(name: str, content: str | bytes, named: tuple) -> Case:
    return Case(
        name=f"qa/{name}",
        item="10/11 qa drafts",
        group="splants qa drafts",
        argv=("qa", f"{{data}}/drafts/{name}.md", "-p", "blog", "-t", "blog"),
        exit=(2,),
        named=(f"{name}.md", *named),
        files={f"drafts/{name}.md": content},
    )


QA_CASES = [_qa_case(*d) for d in QA_DRAFTS] + [
    Case(
        name="qa/dev-zero",
        item="10/11 qa drafts",
        group="splants qa drafts",
        argv=("qa", "/dev/zero", "-p", "blog", "-t", "blog"),
        exit=(2,),
        named=("/dev/zero", "SPLANTS_QA_MAX_BYTES"),
    ),
    Case(
        name="qa/unknown-platform",
        item="10/11 qa drafts",
        group="splants qa drafts",
        argv=("qa", "{data}/drafts/ok.md", "-p", "myspace", "-t", "blog"),
        exit=(2,),
        named=("--platform", "myspace"),
        files={"drafts/ok.md": BODY},
    ),
    Case(
        name="qa/bad-brief-option",
        item="10/11 qa drafts",
        group="splants qa drafts",
        argv=("qa", "{data}/drafts/ok.md", "-p", "blog", "-t", "blog", "--brief", "{data}/bad-brief.yaml"),
        exit=(1, 2),
        named=("bad-brief.yaml", "field 'start_date'"),
        files={"drafts/ok.md": BODY, "bad-brief.yaml": brief_with("bad-brief", start_date="2026-02-30")},
    ),
]


# --------------------------------------------------------------------------------------- engagement

HEADER = "date,external_id,platform,impressions,reach\n"
GOOD_CSV = HEADER + "2026-11-20,g1,twitter,10,5\n2026-11-21,g2,twitter,20,9\n"
ROW_OK = "2026-11-20,ok1,twitter,30,3\n"

# (name, file name, content, exit, named) -- the good file good.csv is always given after the bad one
ENGAGEMENT_FILES: list[tuple[str, str, str | bytes, tuple[int, ...], tuple]] = [
    (
        "count-over-int64",
        "big.csv",
        HEADER + "2026-11-20,a,twitter,99999999999999999999999,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "'impressions'"),
    ),
    (
        "count-1e300",
        "e300.csv",
        HEADER + "2026-11-20,a,twitter,1e300,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "'impressions'"),
    ),
    (
        "count-negative",
        "neg.csv",
        HEADER + "2026-11-20,a,twitter,-5,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "'impressions'"),
    ),
    (
        "count-text",
        "text.csv",
        HEADER + "2026-11-20,a,twitter,lots,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "'impressions'"),
    ),
    (
        "date-month-13",
        "date13.csv",
        HEADER + "2026-13-45,a,twitter,5,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "'date'", "2026-13-45"),
    ),
    (
        "date-year-9999",
        "date9999.csv",
        HEADER + "9999-12-31,a,twitter,5,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "9999-12-31", "in the future"),
    ),
    (
        "platform-unknown",
        "myspace.csv",
        HEADER + "2026-11-20,a,myspace,5,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "myspace"),
    ),
    (
        "json-count-1e300",
        "e300.json",
        json.dumps(
            [
                {"date": "2026-11-20", "external_id": "a", "platform": "twitter", "impressions": 1e300},
                {"date": "2026-11-20", "external_id": "b", "platform": "twitter", "impressions": 3},
            ]
        ),
        (0,),
        ("impressions",),
    ),
    ("utf16-csv", "utf16.csv", (HEADER + ROW_OK).encode("utf-16"), (0,), ("utf16.csv",)),
    (
        "latin1-csv",
        "latin1.csv",
        (HEADER + "2026-11-20,café,twitter,5,1\n").encode("latin-1"),
        (0,),
        ("latin1.csv",),
    ),
    ("binary-garbage", "garbage.csv", bytes(range(256)) * 40, (1,), ("garbage.csv", "rejected")),
    (
        "json-nested-200k",
        "deep.json",
        "[" * 200_000 + "]" * 200_000,
        (1,),
        ("deep.json", "nested too deeply"),
    ),
    ("json-not-a-list", "scalar.json", '"just a string"', (1,), ("scalar.json", "JSON")),
    ("json-malformed", "broken.json", '[{"date": "2026-11-20",', (1,), ("broken.json", "malformed JSON")),
    ("missing-columns", "nocols.csv", "foo,bar\n1,2\n", (1,), ("nocols.csv", "missing column")),
    ("empty-file", "empty.csv", "", (1,), ("empty.csv", "empty file")),
    ("header-only", "header.csv", HEADER, (1,), ("header.csv", "no data rows")),
    (
        "duplicate-columns",
        "dupes.csv",
        "date,date,external_id,platform,impressions\n2026-11-20,2026-11-20,a,twitter,1\n",
        (1,),
        ("dupes.csv", "duplicate column"),
    ),
    (
        "json-5000-digit-int",
        "digits.json",
        json.dumps(
            [
                {"date": "2026-11-20", "external_id": "a", "platform": "twitter"},
                {"date": "2026-11-20", "external_id": "b", "platform": "twitter", "impressions": 3},
            ]
        ).replace('"twitter"}', '"twitter", "impressions": ' + "9" * 5000 + "}", 1),
        (0,),
        ("1 quarantined", "'impressions'"),
    ),
    (
        "csv-5000-digit-count",
        "digits.csv",
        HEADER + "2026-11-20,a,twitter," + "9" * 5000 + ",1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "'impressions'"),
    ),
    (
        "json-nan-infinity",
        "nan.json",
        '[{"date": "2026-11-20", "external_id": "a", "platform": "twitter", "impressions": NaN}, {"date": "2026-11-20", "external_id": "b", "platform": "twitter", "impressions": -Infinity}, {"date": "2026-11-20", "external_id": "c", "platform": "twitter", "impressions": 3}]',
        (0,),
        ("2 quarantined", "'impressions'"),
    ),
    (
        "csv-300k-field",
        "wide.csv",
        HEADER + "2026-11-20," + "x" * 300_000 + ",twitter,5,1\n" + ROW_OK,
        (0,),
        ("1 quarantined", "field limit"),
    ),
    (
        "csv-unbalanced-quote",
        "quote.csv",
        HEADER + '2026-11-20,"abc,twitter,5,1\n' + ROW_OK,
        (1,),
        ("line 2",),
    ),
    (
        "observed-at-hour-25",
        "hour.csv",
        "date,observed_at,external_id,platform,impressions\n2026-11-20,2026-11-20T25:00:00,a,twitter,5\n2026-11-20,,b,twitter,30\n",
        (0,),
        ("1 quarantined", "'observed_at'"),
    ),
    ("json-list-of-numbers", "numbers.json", "[1, 2, 3]", (1,), ("missing column",)),
    (
        "json-record-not-object",
        "mixed.json",
        '[1, {"date": "2026-11-20", "external_id": "c", "platform": "twitter", "impressions": 3}]',
        (0,),
        ("1 quarantined", "not an object"),
    ),
    (
        "nul-bytes",
        "nul.csv",
        (HEADER + "2026-11-20,a\x00b,twitter,5,1\n" + ROW_OK).encode(),
        (0, 1),
        ("nul.csv",),
    ),
]


def _engagement_case(name: str, fname: str, content, exit, named) -> Case:
    return Case(
        name=f"engagement/{name}",
        item="7/8/12 engagement files",
        group="engagement files",
        argv=("engagement", "import", "--dry-run", f"{{data}}/exports/{fname}", "{data}/exports/good.csv"),
        exit=exit,
        named=(fname, *named),
        files={f"exports/{fname}": content, "exports/good.csv": GOOD_CSV},
        kept=loadable("good.csv", 2),
        kept_what="good.csv beside it: 2 rows loadable",
    )


ENGAGEMENT_CASES = [_engagement_case(*e) for e in ENGAGEMENT_FILES] + [
    Case(
        name="engagement/unknown-preset",
        item="7/8/12 engagement files",
        group="engagement files",
        argv=("engagement", "import", "--dry-run", "--preset", "[/oops]", "{data}/exports/good.csv"),
        exit=(2,),
        named=("unknown preset", "[/oops]"),
        files={"exports/good.csv": GOOD_CSV},
    ),
    Case(
        name="engagement/a-directory",
        item="7/8/12 engagement files",
        group="engagement files",
        argv=("engagement", "import", "--dry-run", "{data}/sources"),
        exit=(2,),
        named=("sources",),
    ),
    Case(
        name="engagement/real-load-poison-and-mixed",
        item="7/8/12 engagement files",
        group="engagement files",
        argv=(
            "engagement",
            "import",
            "{data}/exports/a_good.csv",
            "{data}/exports/b_huge.csv",
            "{data}/exports/c_mixed.csv",
            "{data}/exports/d_binary.csv",
        ),
        exit=(1,),
        named=("d_binary.csv", "c_mixed.csv", "impressions"),
        files={
            "exports/a_good.csv": GOOD_CSV,
            "exports/b_huge.csv": HEADER + "2026-11-20,h,twitter,99999999999999999999999,1\n",
            "exports/c_mixed.csv": HEADER + "2026-11-20,m,twitter,1e300,1\n2026-11-20,n,twitter,30,3\n",
            "exports/d_binary.csv": b"\x00\x01\x02\xff" * 50,
        },
        kept=lambda root, out: (
            loaded("generic/a_good.csv", 2)(root, out) or loaded("generic/c_mixed.csv", 1)(root, out)
        ),
        kept_what="a_good.csv 2 rows and c_mixed.csv's good row in the warehouse",
    ),
]


# --------------------------------------------------------------------------------------- sources

SOURCES_SCRIPT = r"""
import json, sys
from pathlib import Path
from splants_dagster.research.analysis import http_client, load_sources
data = Path(sys.argv[1]); refs = json.loads(sys.argv[2])
with http_client() as fetcher:
    docs = load_sources(refs, data, fetcher)
for doc in docs:
    print(("ok " if doc.ok else "failed ") + doc.ref + ("" if doc.ok else ": " + str(doc.error)))
"""
GOOD_SOURCES = ("sources/competitor-podco.html", "sources/hearth-origin-club.md")
HOSTILE_SOURCES: list[tuple[str, str, str]] = [
    ("etc-passwd", "/etc/passwd", "inside the data directory"),
    ("dot-dot-passwd", "../../etc/passwd", "'..'"),
    ("file-url", "file:///etc/passwd", "scheme 'file'"),
    ("loopback-db-port", "http://127.0.0.1:5432/", "127.0.0.1"),
    ("cloud-metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("ftp", "ftp://127.0.0.1/pub/x.html", "scheme 'ftp'"),
    ("gopher", "gopher://127.0.0.1:6379/_INFO", "scheme 'gopher'"),
    ("localhost-name", "http://localhost:8080/admin", "localhost"),
]

SOURCE_CASES = [
    Case(
        name=f"sources/{name}",
        item="4 sources",
        group="brief sources",
        argv=(SOURCES_SCRIPT, "{data}", json.dumps([ref, *GOOD_SOURCES])),
        exit=(0,),
        named=(f"failed {ref}: refused", why),
        env={"SPLANTS_SOURCE_DEADLINE_S": "5"},
        absent=("root:x:0:0",),
        kept=sources_read(*GOOD_SOURCES),
        kept_what="the brief's good sources are read",
        python=True,
    )
    for name, ref, why in HOSTILE_SOURCES
]


# ------------------------------------------------------------------------------------- other commands

CLI_CASES = [
    Case(
        name="cli/sql-markup-in-result",
        item="11 markup",
        group="other commands",
        argv=("sql", "SELECT '[/oops]' AS x, '[bold red]y' AS y"),
        exit=(0,),
        named=("[/oops]", "[bold red]y"),
    ),
    Case(
        name="cli/sql-unknown-table",
        item="11 markup",
        group="other commands",
        argv=("sql", "SELECT * FROM no_such_table"),
        exit=(1,),
        named=("no_such_table",),
    ),
    Case(
        name="cli/sql-write-refused",
        item="11 markup",
        group="other commands",
        argv=("sql", "DROP VIEW campaigns"),
        exit=(1,),
        named=("read-only",),
        kept=warehouse_readable,
        kept_what="analytics.campaigns still readable",
    ),
    Case(
        name="cli/status-garbage-analytics-db",
        item="11 markup",
        group="other commands",
        argv=("status",),
        exit=(0,),
        files={"analytics.duckdb": b"not a duckdb file\x00" * 100},
        kept=warehouse_readable,
        kept_what="the snapshot is rebuilt and readable",
    ),
    Case(
        name="cli/demo-unknown-campaign",
        item="2 briefs",
        group="other commands",
        argv=("demo", "--campaign", "unknown"),
        exit=(1,),
        named=("'unknown'", "compostable-pods-launch"),
        kept=registered(*GOOD_IDS),
        kept_what="both demo campaigns registered",
    ),
    Case(
        name="cli/demo-invalid-campaign",
        item="2 briefs",
        group="other commands",
        argv=("demo", "--campaign", "bad-dates"),
        exit=(1,),
        named=("bad-dates.yaml", "field 'start_date'"),
        files={"campaigns/bad-dates.yaml": brief_with("bad-dates", start_date="2026-02-30")},
        kept=registered(*GOOD_IDS),
        kept_what="both demo campaigns registered",
    ),
    Case(
        name="cli/validate-missing-file",
        item="2 briefs",
        group="other commands",
        argv=("campaign", "validate", "{data}/campaigns/nope.yaml"),
        exit=(2,),
        named=("nope.yaml",),
    ),
    Case(
        name="cli/new-bad-id",
        item="2 briefs",
        group="other commands",
        argv=(
            "campaign",
            "new",
            "--id",
            "Bad_ID",
            "--topic",
            "Pods for all",
            "--goal",
            "sell",
            "--audience",
            "people",
            "--keywords",
            "pods",
            "--platforms",
            "blog",
            "--content-types",
            "blog",
            "--start-date",
            "2099-01-05",
            "--duration-days",
            "7",
        ),
        exit=(1,),
        named=("id", "Bad_ID"),
    ),
    Case(
        name="cli/new-feb-30",
        item="2 briefs",
        group="other commands",
        argv=(
            "campaign",
            "new",
            "--id",
            "feb-thirty",
            "--topic",
            "Pods for all",
            "--goal",
            "sell",
            "--audience",
            "people",
            "--keywords",
            "pods",
            "--platforms",
            "blog",
            "--content-types",
            "blog",
            "--start-date",
            "2027-02-30",
            "--duration-days",
            "7",
        ),
        exit=(1,),
        named=("start_date", "2027-02-30"),
    ),
]


GARBAGE = b"not a duckdb file\x00" * 100


def unchanged(rel: str, content: bytes) -> Check:
    """The file the command could not use is still there, byte for byte (nothing removed or rebuilt)."""

    def check(root: Path, _out: str) -> str | None:
        path = root / "data" / rel
        if not path.is_file() or path.read_bytes() != content:
            return f"{rel} was changed or removed"
        return None

    return check


CORRUPT_WAREHOUSE_CASES = [
    Case(
        name=f"cli/{command}-corrupt-warehouse",
        item="11 markup",
        group="other commands",
        argv=argv,
        exit=(1,),
        named=("cannot open the warehouse", "not a valid DuckDB"),
        files={"warehouse/splants.duckdb": GARBAGE},
        kept=unchanged("warehouse/splants.duckdb", GARBAGE),
        kept_what="the unreadable warehouse file is left as it was",
    )
    for command, argv in [("status", ("status",)), ("sql", ("sql", "SELECT 1")), ("budget", ("budget",))]
] + [
    Case(
        name="settings/SPLANTS_DATA_DIR-is-a-file",
        item="13 settings",
        group="settings env vars",
        argv=("status",),
        exit=(2,),
        named=("SPLANTS_DATA_DIR", "/etc/hostname"),
        env={"SPLANTS_DATA_DIR": "/etc/hostname"},
    ),
    Case(
        name="qa/brief-option-anchor-bomb",
        item="10/11 qa drafts",
        group="splants qa drafts",
        argv=("qa", "{data}/drafts/ok.md", "-p", "blog", "-t", "blog", "--brief", "{data}/bomb.yaml"),
        exit=(1, 2),
        named=("bomb.yaml", "field '(yaml)'"),
        files={"drafts/ok.md": BODY, "bomb.yaml": ANCHOR_BOMB},
    ),
]


ALL_CASES: list[Case] = (
    [_brief_validate_case(*b) for b in BRIEF_FIELDS]
    + SYNC_CASES
    + SETTINGS_CASES
    + BUDGET_CASES
    + QA_CASES
    + ENGAGEMENT_CASES
    + SOURCE_CASES
    + CLI_CASES
    + CORRUPT_WAREHOUSE_CASES
)
CASES: dict[str, Case] = {c.name: c for c in ALL_CASES}
assert len(CASES) == len(ALL_CASES), "case names must be unique"


# ------------------------------------------------------------------------------------------ runner


def _limit_memory() -> None:  # a bomb that gets through must fail the case, not take the machine
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


_TEMPLATE_HOME: dict[str, Path] = {}
_TEMPLATE_LOCK = threading.Lock()


def _template_home() -> Path:
    """An empty, initialised Dagster instance (the one `make home` sets up), created once per process and
    copied for every case: each case still gets a fresh instance, without paying ~5 s to create one."""
    with _TEMPLATE_LOCK:
        if "home" not in _TEMPLATE_HOME:
            _TEMPLATE_HOME["home"] = _new_home()
    return _TEMPLATE_HOME["home"]


def _new_home() -> Path:
    import dagster as dg

    home = Path(tempfile.mkdtemp(prefix="probe-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_dynamic_partitions("campaigns")
    return home


def prepare(case: Case, root: Path) -> dict[str, str]:
    """The fresh data dir and instance of ``case`` under ``root``; returns the environment to run it in."""
    data = root / "data"
    data.mkdir(parents=True)
    for name in DEMO_INPUTS:
        src = PROJECT_ROOT / "data" / name
        if src.is_dir():
            shutil.copytree(src, data / name)
        elif src.exists():
            shutil.copy(src, data / name)
    shutil.copytree(_template_home(), root / "home")
    for rel, content in case.files.items():
        target = data / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            os.mkfifo(target)
        elif isinstance(content, bytes) and content.startswith(b"->"):
            target.symlink_to(content[2:].decode())
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    env = {k: v for k, v in os.environ.items() if not CLEARED.match(k)}
    env.update({"SPLANTS_DATA_DIR": str(data), "DAGSTER_HOME": str(root / "home"), **case.env})
    return env


def run_case(case: Case, root: Path) -> Outcome:
    env = prepare(case, root)

    def fill(arg: str) -> str:
        return arg.replace("{data}", str(root / "data")).replace("{root}", str(root))

    argv = [fill(a) for a in case.argv]
    command = [sys.executable, "-c", *argv] if case.python else [SPLANTS, *argv]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            env=env,
            cwd=root,
            timeout=CASE_TIMEOUT_S,
            preexec_fn=_limit_memory,
            stdin=subprocess.DEVNULL,
        )
        code: int | None = proc.returncode
        output = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        code = None
        output = f"(no answer within {CASE_TIMEOUT_S}s)\n" + (exc.stdout or b"").decode("utf-8", "replace")
    seconds = time.perf_counter() - started
    missing = []
    for want in case.named:
        options = want if isinstance(want, tuple) else (want,)
        if not any(o in output for o in options):
            missing.append(" | ".join(options))
    lost = None
    if case.kept is not None and code is not None:
        try:
            lost = case.kept(root, output)
        except Exception as exc:  # the check itself failing means we cannot show nothing was lost
            lost = f"check failed: {type(exc).__name__}: {exc}"
    return Outcome(
        name=case.name,
        group=case.group,
        item=case.item,
        exit_code=code,
        seconds=round(seconds, 1),
        exit_ok=code in case.exit,
        traceback="Traceback (most recent call last)" in output,
        missing=missing,
        echoed=[a for a in case.absent if a in output],
        lost=lost,
        output="\n".join(line for line in output.splitlines() if " - DEBUG - " not in line)[-3000:],
    )


def run_one(case: Case) -> Outcome:
    root = Path(tempfile.mkdtemp(prefix="probe-"))
    try:
        return run_case(case, root)
    except Exception as exc:  # the probe's own failure: reported as the case's, the others still run
        problem = f"probe error: {type(exc).__name__}: {exc}"
        return Outcome(case.name, case.group, case.item, None, 0.0, False, False, [problem], [], None, "")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def summarize(outcomes: Iterable[Outcome]) -> dict:
    outcomes = list(outcomes)
    groups: dict[str, dict[str, int]] = {}
    for o in outcomes:
        g = groups.setdefault(o.group, {"tried": 0, "clear": 0, "tracebacks": 0, "lost": 0})
        g["tried"] += 1
        g["clear"] += o.clear
        g["tracebacks"] += o.traceback
        g["lost"] += o.lost is not None
    return {
        "cases_tried": len(outcomes),
        "clear_errors": sum(o.clear for o in outcomes),
        "tracebacks": sum(o.traceback for o in outcomes),
        "data_lost": sum(o.lost is not None for o in outcomes),
        "by_group": groups,
        "failures": [
            {
                "case": o.name,
                "item": o.item,
                "problem": o.problem(),
                "exit_code": o.exit_code,
                "output": o.output,
            }
            for o in outcomes
            if not o.clear or o.lost
        ],
        "seconds": {o.name: o.seconds for o in outcomes},
    }


def run_matrix(
    cases: Iterable[Case], workers: int = 2, progress: Callable[[Outcome], None] | None = None
) -> tuple[list[Outcome], dict]:
    def one(case: Case) -> Outcome:
        outcome = run_one(case)
        if progress is not None:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(one, list(cases)))
    return outcomes, summarize(outcomes)


def summary_table(summary: dict) -> str:
    lines = [f"{'group':<22} {'tried':>5} {'clear':>5} {'tracebacks':>10} {'data lost':>9}"]
    for name, g in summary["by_group"].items():
        lines.append(f"{name:<22} {g['tried']:>5} {g['clear']:>5} {g['tracebacks']:>10} {g['lost']:>9}")
    lines.append(
        f"{'total':<22} {summary['cases_tried']:>5} {summary['clear_errors']:>5} "
        f"{summary['tracebacks']:>10} {summary['data_lost']:>9}"
    )
    for f in summary["failures"]:
        lines.append(f"FAILED {f['case']} ({f['item']}): {f['problem']}")
    return "\n".join(lines)


def write_summary(summary: dict, path: Path | None = None) -> Path:
    path = path or PROJECT_ROOT / "test-artifacts" / "probe-summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return path
