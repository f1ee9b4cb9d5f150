"""Where a report goes and what is said about it: the file layout the desk reads, the JSON sidecar, the
warehouse row (``analytics.reports``), the alert and the Dagster summary.

Layout: ``$SPLANTS_DATA_DIR/reports/<brand-slug>/<kind>-<period>.html`` plus ``<same>.json``:
``{kind, period, period_start, period_end, brand, brand_slug, timezone, demo, generated_at, sections, path,
counts}``. Files are replaced atomically (written beside, then renamed), so a reader never sees half a
report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splants_dagster.alerts.channels import Alert
from splants_dagster.publishing.render import slugify
from splants_dagster.reports.figures import Figures
from splants_dagster.reports.render import SECTIONS, fmt_int, fmt_pct, fmt_usd, render_html


def brand_slug(brand: str) -> str:
    """The brand's folder: "Hearth & Bean" → ``hearth-and-bean``."""
    return slugify(brand.replace("&", " and ")) or "brand"


def reports_dir(data_dir: Path) -> Path:
    return data_dir / "reports"


@dataclass(frozen=True)
class WrittenReport:
    html_path: Path
    sidecar_path: Path
    sidecar: dict[str, Any]
    figures: Figures
    brand: str

    @property
    def report_id(self) -> str:
        return f"{self.sidecar['brand_slug']}/{self.sidecar['kind']}-{self.sidecar['period']}"


def counts(figures: Figures) -> dict[str, Any]:
    eng = figures.engagement
    return {
        "publications": len(figures.publications),
        "posts": figures.posts_published,
        "impressions": int(eng.get("impressions") or 0),
        "engagements": int(eng.get("engagements") or 0),
        "engagement_rate": eng.get("engagement_rate"),
        "baseline_engagement_rate": eng.get("baseline_engagement_rate"),
        "anomalies": len(figures.anomalies),
        "ab_decided": len(figures.ab_decided),
        "spend_usd": figures.spend_usd,
        "budget_usd": figures.budget["budget_usd"] if figures.budget else None,
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(
    figures: Figures, brand: str, data_dir: Path, generated_at: dt.datetime | None = None
) -> WrittenReport:
    """Render the report and write the HTML and its sidecar; returns where they are."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    slug = brand_slug(brand)
    folder = reports_dir(data_dir) / slug
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{figures.period.kind}-{figures.period.label}"
    html_path, sidecar_path = folder / f"{stem}.html", folder / f"{stem}.json"
    sidecar = {
        "kind": figures.period.kind,
        "period": figures.period.label,
        "period_start": figures.period.start.isoformat(),
        "period_end": figures.period.end.isoformat(),
        "brand": brand,
        "brand_slug": slug,
        "timezone": figures.timezone,
        "demo": figures.demo,
        "generated_at": generated_at.isoformat(),
        "sections": list(SECTIONS),
        "path": str(html_path),
        "counts": counts(figures),
    }
    _atomic_write(html_path, render_html(figures, brand, generated_at))
    _atomic_write(sidecar_path, json.dumps(sidecar, indent=2, default=str) + "\n")
    return WrittenReport(html_path, sidecar_path, sidecar, figures, brand)


def record_row(report: WrittenReport, alert_channels: list[str], run_id: str | None) -> dict[str, Any]:
    """The ``reports`` warehouse row (one per brand, kind and period; a re-run replaces it)."""
    s, c = report.sidecar, report.sidecar["counts"]
    return {
        "report_id": report.report_id,
        "brand": s["brand"],
        "brand_slug": s["brand_slug"],
        "kind": s["kind"],
        "period": s["period"],
        "period_start": report.figures.period.start,
        "period_end": report.figures.period.end,
        "timezone": s["timezone"],
        "demo": s["demo"],
        "path": str(report.html_path),
        "sidecar_path": str(report.sidecar_path),
        "sections": s["sections"],
        "publications": c["publications"],
        "posts": c["posts"],
        "impressions": c["impressions"],
        "engagements": c["engagements"],
        "engagement_rate": c["engagement_rate"],
        "baseline_engagement_rate": c["baseline_engagement_rate"],
        "anomalies": c["anomalies"],
        "ab_decided": c["ab_decided"],
        "spend_usd": c["spend_usd"],
        "budget_usd": c["budget_usd"],
        "alert_channels": ",".join(alert_channels) or None,
        "generated_at": dt.datetime.fromisoformat(s["generated_at"]),
        "run_id": run_id,
    }


def headline(report: WrittenReport) -> str:
    c = report.sidecar["counts"]
    if report.figures.empty:
        return f"no publications this {report.figures.period.noun} and no engagement recorded"
    return (
        f"{c['publications']} published by splants, {c['posts']} posts with engagement data, "
        f"{fmt_int(c['impressions'])} impressions, engagement rate {fmt_pct(c['engagement_rate'])} "
        f"(baseline {fmt_pct(c['baseline_engagement_rate'])}), {c['anomalies']} anomalies, "
        f"{c['ab_decided']} A/B tests decided, LLM spend {fmt_usd(c['spend_usd'])}"
    )


def report_alert(report: WrittenReport, source: str) -> Alert:
    """A short message with the path, for the log/webhook/Slack channels."""
    s = report.sidecar
    demo = "[DEMO] " if s["demo"] else ""
    return Alert(
        source=source,
        title=f"{demo}{s['brand']}: {s['kind']} report {s['period']}",
        severity="info",
        text=f"{headline(report)}. Report: {report.html_path}",
        items=[{"report": str(report.html_path), "period": f"{s['period_start']} to {s['period_end']}"}],
    )


def summary_markdown(report: WrittenReport, plot_png_b64: str | None) -> str:
    s = report.sidecar
    c = s["counts"]
    lines = [
        f"**{'DEMO · ' if s['demo'] else ''}{s['brand']}, {s['kind']} report {s['period']}** "
        f"({s['period_start']} to {s['period_end']}, {s['timezone']})",
        "",
        f"`{report.html_path}`",
        "",
        "| figure | value |",
        "|---|---|",
        f"| published by splants | {c['publications']} |",
        f"| posts with engagement data | {c['posts']} |",
        f"| impressions | {fmt_int(c['impressions'])} |",
        f"| engagement rate | {fmt_pct(c['engagement_rate'])} |",
        f"| baseline | {fmt_pct(c['baseline_engagement_rate'])} |",
        f"| anomalies | {c['anomalies']} |",
        f"| A/B tests decided | {c['ab_decided']} |",
        f"| LLM spend | {fmt_usd(c['spend_usd'])} |",
    ]
    if plot_png_b64:
        lines += ["", f"![engagement against baseline](data:image/png;base64,{plot_png_b64})"]
    return "\n".join(lines)
