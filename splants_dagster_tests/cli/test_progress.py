"""``run_with_progress``: the CLI's runs with a progress bar read from the run's own step events."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from splants_dagster.cli import console as cli_console


@dg.op
def first() -> int:
    time.sleep(0.7)  # long enough for the bar to be redrawn while the run executes
    return 1


@dg.op
def second(value: int) -> int:
    return value + 1


@dg.op
def third(value: int) -> int:
    return value * 10


@dg.op
def broken(value: int) -> int:
    raise ValueError(f"bad value {value}")


@dg.job
def three_steps():
    third(second(first()))


@dg.job
def fails_in_second_step():
    broken(first())


def test_bar_counts_every_step_and_returns_the_runs_result():
    with dg.instance_for_test() as instance:
        with cli_console.console.capture() as captured:
            result = cli_console.run_with_progress(three_steps, instance, "tiny job")
        assert result.success
        assert result.output_for_node("third") == 20
        # the run is the instance's own, with its step events
        assert instance.get_run_by_id(result.run_id) is not None
        successes = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        assert len(successes) == 3
    assert "tiny job" in captured.get()
    assert "3/3" in captured.get()


def test_failure_is_returned_or_raised_as_execute_in_process_would():
    with dg.instance_for_test() as instance:
        with cli_console.console.capture():
            result = cli_console.run_with_progress(
                fails_in_second_step, instance, "failing", raise_on_error=False
            )
        assert not result.success
        assert [e.step_key for e in result.get_step_failure_events()] == ["broken"]
        with cli_console.console.capture(), pytest.raises(Exception, match="bad value 1"):
            cli_console.run_with_progress(fails_in_second_step, instance, "failing")
