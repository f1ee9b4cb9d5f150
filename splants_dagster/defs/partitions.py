"""Partitions shared across domains."""

import dagster as dg

CAMPAIGNS = "campaigns"

# One partition per campaign brief id; the brief sensor (and `splants campaign sync`) adds them.
campaign_partitions = dg.DynamicPartitionsDefinition(name=CAMPAIGNS)

# Tag on every campaign-partitioned asset, so jobs select them without listing each one.
CAMPAIGN_SCOPE = {"splants/scope": "campaign"}
