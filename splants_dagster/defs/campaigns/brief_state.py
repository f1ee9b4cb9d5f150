"""Helpers the campaign-partitioned assets share: the stored brief and the campaign's status."""

import datetime as dt

import dagster as dg
import duckdb

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.warehouse.store import Warehouse


def stored_brief(store: Warehouse, campaign_id: str) -> CampaignBrief:
    """The brief as ``campaign_brief`` validated it for this run (not the file, which may have changed)."""
    rows = store.query("SELECT brief_json FROM campaigns WHERE campaign_id = ?", [campaign_id])
    if not rows:
        raise dg.Failure(
            f"campaign {campaign_id!r} has no registered brief: materialize campaign_brief for this partition first"
        )
    return CampaignBrief.model_validate_json(rows[0]["brief_json"])


def set_status(conn: duckdb.DuckDBPyConnection, campaign_id: str, status: str) -> None:
    conn.execute(
        "UPDATE campaigns SET status = ?, updated_at = ? WHERE campaign_id = ?",
        [status, dt.datetime.now(dt.UTC), campaign_id],
    )
