"""The README's data dictionary covers every analytics view and every one of its columns (the views are the
analysts' public API: a change must show up here)."""

import re

import duckdb

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.warehouse import schema
from splants_dagster.warehouse.store import apply_schema


def view_columns() -> dict[str, list[str]]:
    conn = duckdb.connect()
    apply_schema(conn)
    return {name: [r[0] for r in conn.execute(f"DESCRIBE main.{name}").fetchall()] for name in schema.views()}


def test_every_view_and_column_is_documented():
    readme = (PROJECT_ROOT / "README.md").read_text()
    dictionary = readme.split("### Data dictionary", 1)[1].split("\n## ", 1)[0]
    sections = dict(
        re.findall(r"\*\*`analytics\.(\w+)`\*\*(.*?)(?=\n\*\*`analytics\.|\n#### |\Z)", dictionary, re.S)
    )
    missing = []
    for name, columns in view_columns().items():
        if name not in sections:
            missing.append(f"view {name}")
            continue
        missing += [f"{name}.{c}" for c in columns if f"`{c}`" not in sections[name]]
    assert missing == [], "document these in the README's data dictionary: " + ", ".join(missing)


def test_readme_starts_with_the_two_commands():
    readme = (PROJECT_ROOT / "README.md").read_text()
    first = readme.index("## The two commands")
    assert readme.index("make run") > first and readme.index("make test") > first
    assert first < readme.index("## What happens to a brief")
