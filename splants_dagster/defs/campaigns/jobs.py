"""Jobs over campaign assets."""

import dagster as dg

from splants_dagster.defs.partitions import CAMPAIGN_SCOPE

((_scope_key, _scope_value),) = CAMPAIGN_SCOPE.items()

campaign_job = dg.define_asset_job(
    "campaign_job",
    selection=dg.AssetSelection.tag(_scope_key, _scope_value),
    description="Everything one campaign needs, brief to content (and, as they land, QA and schedule).",
)

campaign_catalog_job = dg.define_asset_job(
    "campaign_catalog_job",
    selection=dg.AssetSelection.assets("campaign_catalog"),
    description="Re-validate every brief file and list the bad ones.",
)
