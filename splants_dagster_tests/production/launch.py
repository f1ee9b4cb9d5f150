"""Launch one campaign_job run on the instance of $DAGSTER_HOME, as the daemon's run worker would;
prints the run id and result as JSON. Used by the production tests as a separate process.

A failed run also reports *why* (``failure``: the RUN_FAILURE message and every error the engine logged),
so a test that sees ``success: False`` without a step error still says what happened."""

import json
import sys

import dagster as dg

from splants_dagster.definitions import reconstructable_campaign_job


def _error_text(event) -> str | None:
    error = getattr(event.event_specific_data, "error", None)
    if error is None:
        return None
    return error.to_string().strip()[-3000:]


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
        failure = []
        if not result.success:
            for record in instance.all_logs(result.run_id):
                event = record.dagster_event
                if event is None or event.event_type_value not in ("RUN_FAILURE", "ENGINE_EVENT"):
                    continue
                error = _error_text(event)
                if event.event_type_value == "RUN_FAILURE" or error:
                    failure.append(f"{event.event_type_value}: {event.message} {error or ''}".strip())
        print(
            json.dumps(
                {"run_id": result.run_id, "success": result.success, "errors": errors, "failure": failure}
            )
        )


if __name__ == "__main__":
    main(sys.argv[1])
