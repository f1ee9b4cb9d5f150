"""The publishing job. Its runs carry ``splants/publishing``, which the instance limits to one at a time
(``tag_concurrency_limits`` in deploy/dagster.yaml)."""

import dagster as dg

PUBLISHING_TAGS = {"splants/publishing": "true"}

publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.assets("publications"),
    tags=PUBLISHING_TAGS,
    description="Publish every due, approved item (and deliver queued webhooks).",
)
