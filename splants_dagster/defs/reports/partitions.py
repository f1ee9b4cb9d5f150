"""The report periods as Dagster partitions, in the brand's timezone (``brand.yaml`` ``timezone``).

The timezone is read once, when the code location loads (Dagster needs it to define the partitions and
the schedules' ``execution_timezone``); a missing or invalid brand file gives UTC here, and the report
asset then fails with the brand file's own error. Changing the brand's timezone takes effect on reload.
"""

import dagster as dg

from splants_dagster.campaigns.briefs import BriefError, load_brand
from splants_dagster.paths import DataPaths

FIRST_PERIOD = "2024-01-01"  # a Monday and a first of the month


def brand_timezone() -> str:
    try:
        return load_brand(DataPaths.at().brand_file).timezone
    except BriefError:
        return "UTC"


BRAND_TIMEZONE = brand_timezone()

# keyed by the period's first day; a partition exists once its period has ended (end_offset=0)
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=FIRST_PERIOD, day_offset=1, timezone=BRAND_TIMEZONE
)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_PERIOD, timezone=BRAND_TIMEZONE)
