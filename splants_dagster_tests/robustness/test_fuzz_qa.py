"""Property-based fuzz of ``splants qa`` front matter (issue #14, keep-it-so): whatever YAML a person puts in
the front matter, no traceback reaches them; a bad field is refused with one line naming it (exit 2); a good
document yields typed fields; and parsing stays bounded in memory."""

from __future__ import annotations

import tracemalloc

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.cli.qa import FIELDS, InputError, parse_document

TEXT_FIELDS = tuple(f for f in FIELDS if f != "hashtags")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
field_names = st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=12))
front_matters = st.dictionaries(field_names, values, max_size=5)
raw_blocks = st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#,\n 0123456789%@`?")), max_size=120)


def document(block: str) -> str:
    return f"---\n{block}\n---\nCompostable pods for the morning brew.\n"


def check(raw: str) -> None:
    """The parser's contract: typed fields, or an InputError of one bounded line."""
    try:
        fields = parse_document(raw, "blog")
    except InputError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 400
        return
    assert isinstance(fields["title"], str) and isinstance(fields["body"], str)
    assert isinstance(fields["hashtags"], list) and all(isinstance(t, str) for t in fields["hashtags"])
    for name in TEXT_FIELDS:
        assert fields.get(name) is None or isinstance(fields[name], str)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front_matters)
def test_structured_front_matter(meta):
    check(document(yaml.safe_dump(meta, allow_unicode=True)))


@settings(max_examples=100, deadline=None)
@given(raw_blocks)
def test_arbitrary_front_matter_text(block):
    check(document(block))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from((*TEXT_FIELDS, "hashtags")), values)
def test_a_wrong_type_names_the_field(name, value):
    raw = document(yaml.safe_dump({name: value}))
    try:
        fields = parse_document(raw, "blog")
    except InputError as exc:
        assert str(exc).startswith(f"front matter {name}=")
        return
    # accepted: text (numbers read as text) or, for hashtags, a string or a list of texts
    if name == "hashtags":
        assert value is None or isinstance(value, (str, list))
    else:
        assert value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))
        assert value is None or isinstance(fields[name], str)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(front_matters.map(lambda m: yaml.safe_dump(m, allow_unicode=True)), raw_blocks))
def test_the_command_never_shows_a_traceback(data_dir, tmp_path, block):
    path = tmp_path / "piece.md"
    path.write_text(document(block), encoding="utf-8")
    result = CliRunner().invoke(app, ["qa", str(path), "-p", "blog", "-t", "blog"])
    # anything but a clean exit (SystemExit from typer) is an exception that would print a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 2:
        (line,) = result.output.strip().splitlines()
        assert line.startswith(f"{path}: ")
    assert "Traceback" not in result.output


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.integers(2, 6))
def test_alias_expansion_stays_bounded_in_memory(width, depth):
    lines = ["a0: &a0 [x]"]
    for level in range(1, depth + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"title: *a{depth}")
    tracemalloc.start()
    try:
        check(document("\n".join(lines)))
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 20 << 20


@pytest.mark.parametrize("block", ["0000-00-00", "title: 2026-13-45", "x: 9999-99-99 99:99:99"])
def test_values_yaml_cannot_construct_are_clear_errors(block):
    """Found by the fuzz in CI: YAML's timestamp constructor raised ValueError for '0000-00-00'."""
    check(document(block))
