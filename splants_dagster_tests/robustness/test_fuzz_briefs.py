"""Property-based fuzz of brief YAML (issue #14, keep-it-so): whatever a brief file holds, reading it never
raises anything but a BriefError naming the file and a field, never disturbs the other campaigns in the
folder, and stays bounded in memory; through the real `splants campaign validate` no traceback reaches
the user and the exit code is non-zero with the file and field named."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import subprocess
import tracemalloc
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from splants_dagster.campaigns.briefs import BriefRegistry, read_brief, scan_briefs
from splants_dagster_tests.robustness.bad_briefs import DEMO_TEXT

TODAY = dt.date(2026, 12, 7)
GOOD_ID = "compostable-pods-launch"
FIELDS = [
    "id",
    "topic",
    "goal",
    "audience",
    "keywords",
    "platforms",
    "content_types",
    "tone",
    "demo",
    "allow_past",
    "start_date",
    "duration_days",
    "sources",
    "length",
    "paid",
    "call_to_action",
    "link",
    "variants",
    "platfroms",
]
NASTY = [
    "2026-13-02",
    "9999-12-31",
    "1900-01-01",
    "2026-02-30",
    "next monday",
    "+99999d",
    "true",
    "'[/oops]'",
    "[bold]x[/bold]",
    "&a [*a]",
    "*nowhere",
    "!!binary aGk=",
    "!!python/object/apply:os.system [id]",
    "{",
    "]",
    "9" * 5000,
    "1e99999",
    "-.inf",
    ".nan",
    "~",
    "0x1F",
    "0o777",
    "'\\x00'",
    '"\\ud800"',
    "|\n  block\n  text",
    "<<: {a: 1}",
    "? [complex, key]\n: v",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def set_field(field: str, rendered: str) -> str:
    """The demo brief with ``field`` (added if absent) set to ``rendered`` YAML text."""
    lines = [line for line in DEMO_TEXT.splitlines() if not line.startswith(f"{field}:")]
    indented = rendered.replace("\n", "\n  ")
    return "\n".join([*lines, f"{field}: {indented}"]) + "\n"


def bomb(levels: int, width: int) -> str:
    names = [f"n{i}" for i in range(levels)]
    text = f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]\n"
    for prev, name in itertools.pairwise(names):
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * width)}]\n"
    return text


brief_texts = st.one_of(
    st.tuples(st.sampled_from(FIELDS), values).map(
        lambda fv: set_field(
            fv[0], yaml.safe_dump(fv[1], default_flow_style=True).strip().removesuffix("\n...").strip()
        )
    ),
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(NASTY)).map(lambda fv: set_field(*fv)),
    st.tuples(st.integers(0, len(DEMO_TEXT)), st.integers(0, 40), st.text(max_size=20)).map(
        lambda cut: DEMO_TEXT[: cut[0]] + cut[2] + DEMO_TEXT[cut[0] + cut[1] :]
    ),
    st.tuples(st.integers(2, 12), st.integers(2, 12)).map(lambda lw: bomb(*lw)),
)


def check_one(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    item = read_brief(path, today=TODAY, entries={})
    if item.ok:
        return
    message = str(item.error)
    assert message.startswith(f"{path}: field '"), message
    assert item.error.problems and all(p.field for p in item.error.problems)
    assert len(message) < 600 * len(item.error.problems), message[:300]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=brief_texts)
def test_any_brief_text_gives_a_brief_or_a_named_error(tmp_path_factory, text):
    check_one(tmp_path_factory.mktemp("fuzz") / "fuzz.yaml", text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=brief_texts)
def test_a_bad_brief_never_disturbs_the_others(tmp_path_factory, text):
    campaigns = tmp_path_factory.mktemp("data") / "campaigns"
    campaigns.mkdir()
    (campaigns / f"{GOOD_ID}.yaml").write_text(DEMO_TEXT)
    (campaigns / "zz-fuzz.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    registry = BriefRegistry(campaigns.parent / "registry.json")
    scanned = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY, registry=registry, record=True)}
    good = scanned[f"{GOOD_ID}.yaml"]
    assert good.ok and good.brief.id == GOOD_ID
    fuzz = scanned["zz-fuzz.yaml"]
    assert fuzz.ok or str(fuzz.error).startswith(f"{campaigns / 'zz-fuzz.yaml'}: field '")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=st.integers(3, 30), width=st.integers(3, 30))
def test_alias_bombs_are_refused_in_bounded_memory(tmp_path_factory, levels, width):
    path = tmp_path_factory.mktemp("bomb") / "bomb.yaml"
    path.write_text(bomb(levels, width))
    tracemalloc.start()
    try:
        item = read_brief(path, today=TODAY, entries={})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not item.ok
    assert peak < 20 * 2**20  # the text is at most a few KB; expanding it would need gigabytes
    if width**levels > 20_000:
        assert "expands to more than" in str(item.error)


def test_the_real_command_never_shows_a_traceback(tmp_path):
    """40 mutated briefs through one `splants campaign validate` process (a seeded sample, not hypothesis:
    a subprocess per example would be too slow)."""
    rng = random.Random(14)
    files = []
    for i in range(40):
        field = rng.choice(FIELDS)
        text = set_field(field, rng.choice(NASTY)) if i % 4 else bomb(rng.randint(5, 10), rng.randint(5, 10))
        files.append(tmp_path / f"fuzz-{i:02}.yaml")
        files[-1].write_text(text)
    splants = str(Path(os.sys.executable).parent / "splants")
    out = subprocess.run(
        [splants, "campaign", "validate", *map(str, files)], capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in out.stdout + out.stderr
    assert out.returncode == 1
    named = {line.split(": field '")[0].removeprefix("invalid brief ") for line in out.stderr.splitlines()}
    valid = {
        line.split(": id=")[0].removeprefix("valid ") for line in out.stdout.splitlines() if ": id=" in line
    }
    assert named | valid == {str(f) for f in files}, (named, valid)
    assert not named & valid
