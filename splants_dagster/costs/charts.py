"""Small PNG charts for asset metadata: rendered with matplotlib and embedded in Markdown as a data URI
(the Dagster UI shows them inline), plus a text fallback for CLIs and logs."""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Mapping, Sequence

from splants_dagster.costs.policy import BudgetStatus, month_end, month_start


def _png_markdown(fig, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![{alt}](data:image/png;base64,{encoded})"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def budget_chart(daily: Mapping[dt.date, float], status: BudgetStatus) -> str:
    """Spend per day (bars), cumulative spend (line), the budget and the month-end forecast."""
    plt = _pyplot()
    start = month_start(status.as_of).date()
    last = (month_end(status.as_of) - dt.timedelta(days=1)).date()
    today = status.as_of.date()
    days = [start + dt.timedelta(days=i) for i in range((today - start).days + 1)]
    values = [daily.get(d, 0.0) for d in days]
    cumulative, total = [], 0.0
    for v in values:
        total += v
        cumulative.append(total)
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    try:
        ax.bar(days, values, color="#9ecae1", label="spend per day")
        ax.plot(days, cumulative, color="#08519c", marker="o", markersize=3, label="month to date")
        ax.plot(
            [today, last],
            [status.spent_usd, status.forecast_usd],
            color="#08519c",
            linestyle="--",
            label=f"forecast ${status.forecast_usd:,.2f}",
        )
        if status.limited:
            ax.axhline(status.budget_usd, color="#cb181d", label=f"budget ${status.budget_usd:,.2f}")
        ax.set_xlim(start - dt.timedelta(days=1), last + dt.timedelta(days=1))
        ax.set_ylabel("USD")
        ax.set_title(f"LLM spend {status.month}")
        ax.legend(loc="upper left", fontsize=8)
        fig.autofmt_xdate()
        return _png_markdown(fig, f"LLM spend {status.month}")
    finally:
        plt.close(fig)


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * max(3, len(labels)) + 0.8))
    try:
        ax.barh(list(labels)[::-1], list(values)[::-1], color="#6baed6")
        ax.set_xlabel("USD")
        ax.set_title(title)
        return _png_markdown(fig, title)
    finally:
        plt.close(fig)


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    if not values:
        return ""
    high = max(values) or 1.0
    return "".join(SPARK[min(7, int(v / high * 7.999))] for v in values)
