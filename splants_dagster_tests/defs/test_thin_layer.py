"""The Dagster layer stays thin (issue #17): no SQL text under ``splants_dagster/defs/`` (statements live in
``splants_dagster/warehouse/queries/`` beside the tables) and no asset body longer than a screen (metadata
is built by named functions beside the asset).

Both are read from the source with ``ast``, so a failure names the file and line to fix."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFS = ROOT / "splants_dagster" / "defs"

# a statement, not a word in prose: SELECT needs a FROM after it; docstrings are not checked
SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(OR\s+REPLACE\s+)?(TABLE|VIEW)\b",
    re.IGNORECASE,
)

# lines of an asset function's body, docstring excluded. Before issue #17 content_suite had 149 and
# qa_report 120; after it the longest is publications (54 lines).
MAX_ASSET_BODY_LINES = 60
ASSET_DECORATORS = {"dg.asset", "dg.multi_asset", "dg.graph_asset", "asset", "multi_asset"}


def _modules() -> list[Path]:
    return sorted(DEFS.rglob("*.py"))


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _texts(tree: ast.Module) -> list[tuple[int, str]]:
    """Every string literal (an f-string's literal parts joined, so a split statement is still seen)."""
    skip = _docstrings(tree)
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            skip.update(id(v) for v in parts)
            texts.append((node.lineno, " ? ".join(str(v.value) for v in parts)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append((node.lineno, node.value))
    return texts


def sql_in(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(root)
    return [f"{rel}:{line}: {text.strip()[:80]!r}" for line, text in _texts(tree) if SQL.search(text)]


def long_assets(path: Path, limit: int, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(root)
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        names = {ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
        if not names & ASSET_DECORATORS:
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        lines = (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1 if body else 0
        if lines > limit:
            found.append(f"{rel}:{node.lineno}: {node.name} body is {lines} lines (> {limit})")
    return found


def test_no_sql_text_in_the_dagster_layer():
    found = [hit for path in _modules() for hit in sql_in(path)]
    assert not found, "SQL belongs in splants_dagster/warehouse/queries/<domain>.py:\n" + "\n".join(found)


def test_no_asset_body_longer_than_the_limit():
    found = [hit for path in _modules() for hit in long_assets(path, MAX_ASSET_BODY_LINES)]
    assert not found, "build metadata and inputs in named functions beside the asset:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'rows = store.query("SELECT * FROM content_pieces WHERE campaign_id = ?", [cid])',
        'conn.execute(f"DELETE FROM {table} WHERE {where}", params)',
        'conn.execute(f"UPDATE content_pieces SET {cols} WHERE piece_id = ?", values)',
        'SQL = """\n  insert into budget_events (month) values (?)\n"""',
        'q = (f"SELECT {cols}, is_demo " "FROM analytics.goal_progress")',
        'DDL = "CREATE OR REPLACE VIEW main.x AS SELECT 1"',
    ],
)
def test_the_sql_scan_sees_statements(tmp_path, source):
    path = tmp_path / "probe.py"
    path.write_text(source + "\n")
    assert sql_in(path, root=tmp_path)


def test_the_sql_scan_skips_docstrings_and_comments(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(
        '"""Reads SELECT ... FROM the snapshot."""\n\n\n'
        "def f():\n"
        '    """DELETE FROM the inbox, then INSERT INTO the table."""\n'
        "    # SELECT * FROM comments is not code\n"
        '    return "select a campaign", "update the brief"\n'
    )
    assert sql_in(path, root=tmp_path) == []


def test_the_long_asset_scan_counts_the_body_without_the_docstring(tmp_path):
    path = tmp_path / "probe.py"
    body = "".join(f"    x{i} = {i}\n" for i in range(12))
    path.write_text(f'@dg.asset(group_name="g")\ndef a():\n    """Doc.\n\n    More."""\n{body}')
    assert long_assets(path, 12, root=tmp_path) == []
    assert long_assets(path, 11, root=tmp_path) == ["probe.py:2: a body is 12 lines (> 11)"]
