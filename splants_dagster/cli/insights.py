"""The end of ``splants demo``: the ``content_insights`` asset over the demo's engagement, and its table."""

from __future__ import annotations

from rich.table import Table

from splants_dagster.cli.console import console, dagster_instance, err_console, run_with_progress, styled
from splants_dagster.paths import DataPaths


def demo_insights() -> bool:
    """Materialize ``content_insights`` in this process and print the table (supported first); False
    (and a message) when the run fails."""
    from splants_dagster.definitions import resolve_job_def
    from splants_dagster.warehouse.store import Warehouse

    result = run_with_progress(
        resolve_job_def("insights_job"),
        dagster_instance(),
        "content insights",
        tags={"splants/trigger": "splants demo"},
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(
            styled(
                (f"content insights: run {result.run_id} failed", "red"), " (full record in the Dagster UI)"
            )
        )
        return False
    rows = Warehouse(DataPaths.at()).query(
        "SELECT platform, metric, feature, level, n_with, n_without, supported, demo, sentence "
        "FROM analytics.content_insights ORDER BY supported DESC, platform, abs(effect) DESC"
    )
    demo = any(r["demo"] for r in rows)
    title = f"content_insights: {sum(r['supported'] for r in rows)} supported of {len(rows)} tested"
    table = Table(
        "platform", "feature", "level", "n", "supported", "insight", title=title + (" (DEMO)" if demo else "")
    )
    for r in rows[:15]:
        table.add_row(
            r["platform"],
            r["feature"],
            r["level"],
            f"{r['n_with']} vs {r['n_without']}",
            "yes" if r["supported"] else "no",
            r["sentence"],
        )
    console.print(table)
    if demo:
        console.print(
            "demo insights: learned from simulated engagement (demo = true); real campaigns never use them"
        )
    return True
