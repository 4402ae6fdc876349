"""A stack update while a job runs: the shared poller's schedule stays on, and the waiting run is answered by it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import DeployedPipeline, deployed, wait_until


@pytest.fixture(scope="module")
def stack(synthesized: Any) -> Iterator[DeployedPipeline]:
    with deployed(synthesized.assembly_dir) as deployment:
        yield deployment


def _schedule_state(stack: DeployedPipeline) -> str:
    (rule,) = [r for r in stack.aws.client("events").list_rules()["Rules"] if "ScheduleExpression" in r]
    return str(rule["State"])


def test_a_stack_update_while_a_job_runs_leaves_the_poller_on(stack: DeployedPipeline, synthesized: Any) -> None:
    # CloudFormation writes the template's State on each update of the rule; it was DISABLED, so an update during a
    # job silenced the poller, and the run waited for its own hourly check instead.
    stack.aws.recommender.durations["nr-xgb-updated"] = 45 * 60  # a Default job (a run checks itself after 1 h)
    before = set(stack.executions())
    stack.upload("xgb-updated")
    wait_until(lambda: any(j["JobName"].startswith("nr-xgb-updated") for j in stack.aws.recommender.jobs()))
    wait_until(lambda: _schedule_state(stack) == "ENABLED")

    # What CloudFormation does when an update changes the rule's Description: an update in place ("Update requires: No
    # interruption", AWS::Events::Rule in the CloudFormation reference), a PutRule on the same rule with every
    # property of the template, State included (PutRule's default State is ENABLED). moto's update_stack instead
    # replaces the rule under a new name, which is not what AWS does, so the update is applied here as AWS does.
    template = json.loads((synthesized.assembly_dir / "NeoRecommenderStack.template.json").read_text())
    (properties,) = [r["Properties"] for name, r in template["Resources"].items()
                     if "JobWatchSchedule" in name and r["Type"] == "AWS::Events::Rule"]
    (rule,) = [r for r in stack.aws.client("events").list_rules()["Rules"] if "ScheduleExpression" in r]
    stack.aws.client("events").put_rule(Name=rule["Name"], ScheduleExpression=properties["ScheduleExpression"],
                                        Description=properties["Description"] + " (updated)",
                                        State=properties.get("State", "ENABLED"))
    assert _schedule_state(stack) == "ENABLED"

    finished = stack.aws.wait_for_executions(stack.outputs["StateMachineArn"], count=len(before) + 1)
    (execution,) = [e for e in finished if e["executionArn"] not in before]
    outcome = stack.outcome(execution)
    assert outcome.summary["status"] == "COMPLETED"
    # Answered by the poller, not by the run's own check an hour later.
    assert "CheckRecommendationJob" not in outcome.states_entered()
