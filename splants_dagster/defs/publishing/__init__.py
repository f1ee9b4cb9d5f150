"""Publishing: the schedule per campaign, the publishing step, its job and sensor."""
