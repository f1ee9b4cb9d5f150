"""Launch one campaign_job run on the instance of $DAGSTER_HOME, as the daemon's run worker would;
prints the run id and result as JSON. Used by the production tests as a separate process."""

import json
import sys

import dagster as dg

from splants_dagster.defs.campaigns.jobs import reconstructable_campaign_job


def main(campaign_id: str) -> None:
    with dg.DagsterInstance.get() as instance:
        if campaign_id not in instance.get_dynamic_partitions("campaigns"):
            instance.add_dynamic_partitions("campaigns", [campaign_id])
        result = dg.execute_job(
            dg.reconstructable(reconstructable_campaign_job),
            instance=instance,
            tags={"dagster/partition": campaign_id, "splants/campaign": campaign_id},
            raise_on_error=False,
        )
        errors = [
            f"{e.step_key}: {e.event_specific_data.error.message.strip()[:2000]}"
            for e in result.all_events
            if e.event_type_value == "STEP_FAILURE" and e.event_specific_data and e.event_specific_data.error
        ]
        print(json.dumps({"run_id": result.run_id, "success": result.success, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1])
