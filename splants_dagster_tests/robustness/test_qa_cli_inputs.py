"""``splants qa`` on hostile input (issue #14 items 10 and 11): a size cap read without reading the rest
(``/dev/zero``), non-UTF-8 and NUL bytes, and front matter of the wrong types, too deep or built from YAML
aliases; each is one line naming the file and field, exit 2, no traceback."""

from __future__ import annotations

import os
import resource
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.cli.qa import InputError, parse_document, read_text

SPLANTS = str(Path(os.sys.executable).parent / "splants")
GOOD_BODY = "Compostable coffee pods break down in home compost within twelve weeks.\n"
ALIAS_BOMB = (
    "---\n"
    "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "title: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "---\nbody\n"
)


def _limit_memory() -> None:  # the child may not read /dev/zero into memory: it would die, not answer
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run_qa(path: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SPLANTS, "qa", path, "-p", "blog", "-t", "blog"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        preexec_fn=_limit_memory,
    )


def qa_in_process(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["qa", str(path), "-p", "blog", "-t", "blog"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_dev_zero_is_refused_without_reading_it(data_dir):
    out = run_qa("/dev/zero")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip() == (
        "/dev/zero: input (not a regular file) is larger than 262,144 bytes, the most splants qa checks "
        "(SPLANTS_QA_MAX_BYTES)"
    )


def test_the_cap_is_a_setting_and_a_file_at_the_cap_is_checked(data_dir, tmp_path):
    text = ("# Pods\n\n" + GOOD_BODY * 40)[:2000]
    at_cap = tmp_path / "at_cap.md"
    at_cap.write_text(text)
    over = tmp_path / "over.md"
    over.write_text(text + "x")
    env = {"SPLANTS_QA_MAX_BYTES": "2000"}
    checked = CliRunner().invoke(app, ["qa", str(at_cap), "-p", "blog", "-t", "blog"], env=env)
    assert checked.exit_code in (0, 1), checked.output
    assert '"qa_score"' in checked.output
    refused = run_qa(str(over), env)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"{over}: file is larger than 2,000 bytes, the most splants qa checks (SPLANTS_QA_MAX_BYTES)"
    )


def test_read_text_reads_at_most_cap_plus_one_bytes():
    tracemalloc.start()
    with pytest.raises(InputError, match="larger than 1,024 bytes"):
        read_text(Path("/dev/zero"), max_bytes=1024)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfehello", "is not UTF-8 text (byte 0xff at offset 0); save it as UTF-8"),
        (b"# Title\n\nbody\x00more", "contains NUL bytes (offset 13): not a text file"),
        (b"---\nhashtags: 5\n---\nbody\n", "front matter hashtags=5: must be a list of hashtags"),
        (b"---\ntitle: {a: 1}\n---\nbody\n", "front matter title={'a': 1}: must be text"),
        (b"---\ntitle: [1, 2]\n---\nbody\n", "front matter title=[1, 2]: must be text"),
        (b"---\nhashtags: [[x]]\n---\nbody\n", "front matter hashtags=[['x']]: must be a list of hashtags"),
        (b"---\nauthor: me\n---\nbody\n", "unknown front matter field 'author'; known: title, seo_title"),
        (b"---\n7: x\n---\nbody\n", "front matter field name 7: must be one of title"),
        (b"---\n- a\n- b\n---\nbody\n", "front matter must be a mapping of field: value, not ['a', 'b']"),
        (b"---\ntitle: [unclosed\n---\nbody\n", "front matter is not valid YAML"),
        (
            b"---\ntitle: " + b"[" * 100_000 + b"]" * 100_000 + b"\n---\nbody\n",
            "front matter nests too deeply to be field: value pairs",
        ),
        (ALIAS_BOMB.encode(), "front matter title=[[[...], [...], [...], [...], ...], "),
    ],
)
def test_bad_input_is_one_line_naming_file_and_field(data_dir, tmp_path, content, expected):
    path = tmp_path / "piece.md"
    path.write_bytes(content)
    code, output = qa_in_process(path)
    assert code == 2
    line = output.strip()
    assert "\n" not in line and len(line) < 400
    assert line.startswith(f"{path}: ") and expected in line


def test_good_front_matter_types(data_dir, tmp_path):
    fields = parse_document(
        "---\ntitle: 2026\nhashtags: [coffee, 7]\ncta: Order now\n---\nThe body.\n", "blog"
    )
    assert (
        fields["title"] == "2026" and fields["hashtags"] == ["#coffee", "#7"] and fields["cta"] == "Order now"
    )
    assert parse_document("---\nhashtags: 'a, #b c'\n---\nx\n", "social_post")["hashtags"] == [
        "#a",
        "#b",
        "#c",
    ]


def test_alias_bomb_is_refused_in_bounded_memory():
    tracemalloc.start()
    with pytest.raises(InputError, match="front matter title="):
        parse_document(ALIAS_BOMB, "blog")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 << 20
