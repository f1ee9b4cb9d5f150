"""Helpers the campaign-partitioned assets share: the stored brief and the campaign's status."""

import dagster as dg

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.warehouse.queries import campaigns
from splants_dagster.warehouse.queries.campaigns import set_status
from splants_dagster.warehouse.store import Warehouse

__all__ = ["set_status", "stored_brief"]


def stored_brief(store: Warehouse, campaign_id: str) -> CampaignBrief:
    """The brief as ``campaign_brief`` validated it for this run (not the file, which may have changed)."""
    found = campaigns.brief_json(store, campaign_id)
    if found is None:
        raise dg.Failure(
            f"campaign {campaign_id!r} has no registered brief: materialize campaign_brief for this partition first"
        )
    return CampaignBrief.model_validate_json(found)
