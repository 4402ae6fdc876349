"""``EmbeddedAws.wait_for_executions``: what tests wait on, read once per ended execution, and given up on cue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from neo_recommender.emulator import EmbeddedAws

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "states.amazonaws.com"}}]}


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws(speedup=50, skip_idle=True) as emulated:
        yield emulated


def _machine(aws: EmbeddedAws, name: str, states: dict[str, Any]) -> str:
    role = aws.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    definition = {"StartAt": next(iter(states)), "States": states}
    return str(aws.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role["Role"]["Arn"])["stateMachineArn"])


def test_ended_executions_are_described_once_and_returned_as_copies(aws: EmbeddedAws,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _machine(aws, "passes", {"Pass": {"Type": "Pass", "End": True}})
    stepfunctions = aws.client("stepfunctions")
    stepfunctions.start_execution(stateMachineArn=machine, name="first", input='{"n": 1}')
    (first,) = aws.wait_for_executions(machine)
    first["status"] = "changed by the caller"
    stepfunctions.start_execution(stateMachineArn=machine, name="second", input='{"n": 2}')
    described: list[str] = []
    stepfunctions.meta.events.register("before-parameter-build.sfn.DescribeExecution",
                                       lambda params, **_: described.append(params["executionArn"]))
    monkeypatch.setattr(aws, "client", lambda service: stepfunctions)  # the wait's only client: this one, counted
    again, second = aws.wait_for_executions(machine, count=2)
    assert again["status"] == "SUCCEEDED" and json.loads(again["input"]) == {"n": 1}
    assert described == [second["executionArn"]]  # the first had ended already: its description is kept


def test_give_up_ends_the_wait_early(aws: EmbeddedAws) -> None:
    machine = _machine(aws, "once", {"Pass": {"Type": "Pass", "End": True}})
    aws.client("stepfunctions").start_execution(stateMachineArn=machine)
    seen: list[list[str]] = []

    def give_up(listed: list[dict[str, Any]]) -> bool:
        seen.append([execution["status"] for execution in listed])
        return True

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="gave up waiting for 2 executions"):  # a second one never starts
        aws.wait_for_executions(machine, count=2, timeout_seconds=30, give_up=give_up)
    assert time.monotonic() - started < 5 and len(seen) == 1 and len(seen[0]) == 1
