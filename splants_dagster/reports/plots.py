"""The report's charts, drawn with matplotlib (imported here, lazily: loading the code location never pays
for it) as inline SVG, so the HTML needs no external file. A small PNG of the first chart goes into the
Dagster materialization's markdown."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

BLUE, GREY, ORANGE = "#2b6cb0", "#a0aec0", "#dd6b20"
# no RDF block (creator, date, format): reports are reproducible and read as the chart alone
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: runs in daemons and tests
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "splants-report", "font.size": 9})
    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata=NO_METADATA)
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG sits inside HTML


def _pct(values: Sequence[Any]) -> list[float]:
    return [float(v) * 100 if v is not None else float("nan") for v in values]


def _engagement_figure(by_platform: Sequence[dict[str, Any]]) -> Any:
    plt = _pyplot()
    names = [r["platform"] for r in by_platform]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    width = 0.38
    ax.bar(
        [i - width / 2 for i in x],
        _pct([r["engagement_rate"] for r in by_platform]),
        width,
        label="engagement rate",
        color=BLUE,
    )
    ax.bar(
        [i + width / 2 for i in x],
        _pct([r["baseline_engagement_rate"] for r in by_platform]),
        width,
        label="baseline",
        color=GREY,
    )
    ax.set_xticks(list(x), names)
    ax.set_ylabel("% of impressions")
    ax.set_title("Engagement rate against baseline, by platform")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def engagement_by_platform_svg(by_platform: Sequence[dict[str, Any]]) -> str:
    return _svg(_engagement_figure(by_platform))


def engagement_by_platform_png(by_platform: Sequence[dict[str, Any]]) -> str:
    """The same chart as a small base64 PNG (for the Dagster UI's markdown metadata)."""
    fig = _engagement_figure(by_platform)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def engagement_by_day_svg(by_day: Sequence[dict[str, Any]]) -> str:
    plt = _pyplot()
    days = [r["date"].strftime("%a %d") if len(by_day) <= 10 else r["date"].strftime("%d") for r in by_day]
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    ax.plot(
        days, _pct([r["engagement_rate"] for r in by_day]), marker="o", color=BLUE, label="engagement rate"
    )
    ax.plot(
        days,
        _pct([r["baseline_engagement_rate"] for r in by_day]),
        linestyle="--",
        color=GREY,
        label="baseline",
    )
    ax2 = ax.twinx()
    ax2.bar(days, [int(r["impressions"] or 0) for r in by_day], color=ORANGE, alpha=0.18, label="impressions")
    ax2.set_ylabel("impressions")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_ylabel("% of impressions")
    ax.set_title("Day by day: engagement rate, baseline and impressions")
    ax.legend(frameon=False, loc="upper left")
    ax.spines[["top"]].set_visible(False)
    return _svg(fig)


def spend_by_day_svg(by_day: Sequence[dict[str, Any]], budget_per_day: float | None) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.4))
    days = [r["date"].strftime("%d %b") for r in by_day]
    ax.bar(days, [float(r["cost_usd"] or 0) for r in by_day], color=BLUE, label="LLM spend")
    if budget_per_day:
        ax.axhline(budget_per_day, color=ORANGE, linestyle="--", label="monthly budget ÷ days in month")
    ax.set_ylabel("USD")
    ax.set_title("LLM spend per day")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
