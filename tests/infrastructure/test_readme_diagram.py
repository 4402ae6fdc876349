"""The README's architecture diagram names what the synthesized template really contains."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
#: Diagram words for the template's resource types.
RESOURCES = {
    "S3 submission bucket": "AWS::S3::Bucket",
    "EventBridge rule": "AWS::Events::Rule",
    "EventBridge schedule": "AWS::Events::Rule",
    "WatchJobs": "AWS::Lambda::Function",
    "Step Functions": "AWS::StepFunctions::StateMachine",
    "DynamoDB results table": "AWS::DynamoDB::Table",
    "SNS topic": "AWS::SNS::Topic",
    "SQS dead-letter queue": "AWS::SQS::Queue",
    "CloudWatch alarms": "AWS::CloudWatch::Alarm",
}
#: States that are plumbing (Pass/Succeed/Fail markers), not boxes of the diagram.
UNDRAWN = {"SubmissionRejected", "AlreadyHandled", "RunCompleted", "RunFailed"}


def _diagram() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("```mermaid"):text.index("```", text.index("```mermaid") + 3)]


def _states(synthesized: Any) -> dict[str, Any]:
    (machine,) = [r for r in synthesized.template_json["Resources"].values()
                  if r["Type"] == "AWS::StepFunctions::StateMachine"]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = "".join(p if isinstance(p, str) else "ref" for p in parts)
    return json.loads(definition)["States"]


def test_every_state_of_the_workflow_is_drawn_and_every_drawn_state_exists(synthesized: Any) -> None:
    diagram = _diagram()
    workflow = diagram[diagram.index("subgraph SM"):diagram.index("\n  end\n")]
    states = _states(synthesized)
    drawn = set(re.findall(r"[\[{]([A-Z][A-Za-z]+\??)(?:<br/>|[\]}])", workflow))
    step_states = {name for name, state in states.items() if state["Type"] in ("Task", "Wait", "Choice")}
    assert step_states - UNDRAWN - drawn == set(), "states missing from the diagram"
    assert drawn - set(states) == set(), "diagram boxes that are not states"
    # Failures of every task lead to RecordFailure, as the dotted edges say (the last Catch takes every error).
    for name, state in states.items():
        if state["Type"] == "Task" and name != "RecordFailure":
            assert state["Catch"][-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                          "Next": f"{name}Failed"}


def test_every_drawn_resource_is_in_the_template(synthesized: Any) -> None:
    diagram = _diagram()
    types = {resource["Type"] for resource in synthesized.template_json["Resources"].values()}
    for words, resource_type in RESOURCES.items():
        assert words in diagram and resource_type in types, words
