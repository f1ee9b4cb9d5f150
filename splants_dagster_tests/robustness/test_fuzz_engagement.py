"""Property-based fuzz of engagement CSV/JSON files (issue #14): whatever the bad cells, parsing never
raises anything but :class:`FileRejected` (no traceback reaches a user), a wholly bad file is rejected
naming the file and the field, good rows load and are counted, bad rows are quarantined with a reason,
and a streamed parse holds at most one chunk at a time (memory bounded by the chunk, not the file)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from splants_dagster.engagement.files import FileRejected, LoadContext, parse_file

from .test_engagement_inputs import SPLANTS

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
COLUMNS = ["date", "external_id", "platform", "impressions", "likes"]

good_row = st.fixed_dictionaries(
    {
        "date": st.dates(dt.date(2015, 1, 1), dt.date(2026, 11, 30)).map(str),
        "external_id": st.text("abcdef0123456789", min_size=1, max_size=12),
        "platform": st.sampled_from(["twitter", "facebook", "x", "linkedin", "email"]),
        "impressions": st.integers(100, 2**62).map(str),
        "likes": st.integers(0, 99).map(str),
    }
)
bad_count = st.one_of(
    st.integers(2**63, 10**30).map(str),
    st.integers(-(10**9), -1).map(str),
    st.sampled_from(["1e300", "NaN", "inf", "12x", "1.5", "--3", "0x10", "½"]),
    # a letter makes any text a non-number (Unicode digits such as "١٢" are numbers, as for int())
    st.text(min_size=1, max_size=20).filter(lambda s: any(c.isalpha() for c in s)),
)
bad_row = st.tuples(good_row, bad_count).map(lambda pair: {**pair[0], "impressions": pair[1]})
rows = st.lists(
    st.tuples(st.booleans(), st.booleans()).flatmap(
        lambda flags: good_row.map(lambda r: (True, r)) if flags[0] else bad_row.map(lambda r: (False, r))
    ),
    min_size=1,
    max_size=40,
)


def _write(directory: Path, kind: str, data: list[dict]) -> Path:
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
        path = directory / "fuzz.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
        return path
    path = directory / ("fuzz.json" if kind == "json" else "fuzz.jsonl")
    values = [{**r, "impressions": _json_value(r["impressions"])} for r in data]
    text = json.dumps(values) if kind == "json" else "\n".join(json.dumps(v) for v in values)
    path.write_text(text, encoding="utf-8")
    return path


def _json_value(text: str):
    """Counters as JSON numbers where they are numbers (1e300, 10**30 as in the issue), else strings."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows, kind=st.sampled_from(["csv", "json", "jsonl"]), chunk=st.integers(1, 7))
def test_any_mix_of_good_and_bad_rows(data, kind, chunk):
    good = [r for ok, r in data if ok]
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), kind, [r for _, r in data])
        ctx = LoadContext(path.name, NOW, NOW, last_date=NOW.date())
        seen = []
        try:
            parsed = parse_file(path, ctx, "generic", sink=seen.append, chunk_rows=chunk)
        except FileRejected as err:
            assert not good
            assert str(path) in str(err) and "'impressions'" in str(err)
            assert err.bad_rows == len(data)
            return
    assert all(len(c.rows) + len(c.quarantined) <= chunk for c in seen)  # one chunk at a time
    assert parsed.loaded == len(good) == sum(len(c.rows) for c in seen)
    assert parsed.bad == len(data) - len(good) == sum(len(c.quarantined) for c in seen)
    assert sorted(r["impressions"] for c in seen for r in c.rows) == sorted(
        int(r["impressions"]) for r in good
    )
    for q in (q for c in seen for q in c.quarantined):
        assert "'impressions'" in q["reason"] and q["reason_code"] and q["line"] >= 1


@settings(max_examples=25, deadline=None)
@given(data=st.binary(min_size=0, max_size=400), suffix=st.sampled_from([".csv", ".json", ".jsonl"]))
def test_arbitrary_bytes_never_raise_anything_but_a_rejection(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"noise{suffix}"
        path.write_bytes(data)
        ctx = LoadContext(path.name, NOW, NOW, last_date=NOW.date())
        try:
            parsed = parse_file(path, ctx)
        except FileRejected as err:
            assert str(path) in str(err)
        else:
            assert parsed.loaded >= 1 and "�" not in str(parsed.rows)


def test_cli_on_a_wholly_bad_file_names_file_and_field_without_traceback(tmp_path, data_dir):
    bad = tmp_path / "all_bad.csv"
    bad.write_text(
        "date,external_id,platform,impressions\n2026-11-20,a,twitter,1e300\n2026-11-20,b,twitter,-4\n"
    )
    run = subprocess.run(
        [SPLANTS, "engagement", "import", str(bad), "--dry-run"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "SPLANTS_DATA_DIR": str(data_dir)},
        timeout=120,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "all_bad.csv: line 2: unparseable number in 'impressions'" in " ".join(run.stderr.split())
