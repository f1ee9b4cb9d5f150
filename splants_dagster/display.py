"""Small formatting helpers for UI metadata and CLI output (markdown tables, money, previews)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.3f}"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], limit: int = 50) -> str:
    rows = list(rows)
    if not rows:
        return "_(none)_"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    if len(rows) > limit:
        lines.append(f"\n_{len(rows) - limit} more rows not shown_")
    return "\n".join(lines)


def usd(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def preview(text: str, chars: int = 1200) -> str:
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"
