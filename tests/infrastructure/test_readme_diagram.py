"""The README's architecture diagram names what the synthesized template really contains.

The diagram is plain text (PyPI renders no mermaid): inside the ``Step Functions`` box each state is drawn as
``[TaskOrWait]`` or ``<Choice?>``; the resources around it are named in words.
"""

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
    "RunEndedRule": "AWS::Events::Rule",
    "WatchJobs": "AWS::Lambda::Function",
    "RecordEndedRun": "AWS::Lambda::Function",
    "Step Functions": "AWS::StepFunctions::StateMachine",
    "DynamoDB results table": "AWS::DynamoDB::Table",
    "SNS topic": "AWS::SNS::Topic",
    "SNS alarm topic": "AWS::SNS::Topic",
    "SQS dead-letter queue": "AWS::SQS::Queue",
    "CloudWatch alarms": "AWS::CloudWatch::Alarm",
}
#: States that are plumbing (Pass/Succeed/Fail markers), not boxes of the diagram.
UNDRAWN = {"SubmissionRejected", "AlreadyHandled", "RunCompleted", "RunFailed"}
#: The box of the workflow: from its titled top edge to its bottom edge.
WORKFLOW_BOX = re.compile(r"^\+-- Step Functions: .*?^\+-+\+$", re.MULTILINE | re.DOTALL)
#: A drawn state: ``[ValidateSubmission]`` (a task or wait) or ``<JobStarted?>`` (a choice).
DRAWN_STATE = re.compile(r"\[([A-Z][A-Za-z]+)\]|<([A-Z][A-Za-z]+\?)>")


def _diagram() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```text\n")
    return text[start:text.index("```", start + 3)]


def _drawn_states(diagram: str) -> set[str]:
    match = WORKFLOW_BOX.search(diagram)
    assert match, "the diagram has no 'Step Functions' box"
    return {task or choice for task, choice in DRAWN_STATE.findall(match.group(0))}


def _states(synthesized: Any) -> dict[str, Any]:
    (machine,) = [r for r in synthesized.template_json["Resources"].values()
                  if r["Type"] == "AWS::StepFunctions::StateMachine"]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = "".join(p if isinstance(p, str) else "ref" for p in parts)
    return json.loads(definition)["States"]


def test_every_state_of_the_workflow_is_drawn_and_every_drawn_state_exists(synthesized: Any) -> None:
    drawn = _drawn_states(_diagram())
    states = _states(synthesized)
    step_states = {name for name, state in states.items() if state["Type"] in ("Task", "Wait", "Choice")}
    assert step_states - UNDRAWN - drawn == set(), "states missing from the diagram"
    assert drawn - set(states) == set(), "diagram boxes that are not states"
    # Failures of every task lead to RecordFailure, as the dotted edge says (the last Catch takes every error).
    for name, state in states.items():
        if state["Type"] == "Task" and name != "RecordFailure":
            assert state["Catch"][-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                          "Next": f"{name}Failed"}


def test_every_drawn_resource_is_in_the_template(synthesized: Any) -> None:
    diagram = _diagram()
    resources = synthesized.template_json["Resources"]
    types = {resource["Type"] for resource in resources.values()}
    for words, resource_type in RESOURCES.items():
        assert words in diagram and resource_type in types, words
        if re.fullmatch(r"[A-Z][A-Za-z]+", words):  # a construct's own name: that very resource exists
            assert any(words in logical_id and resource["Type"] == resource_type
                       for logical_id, resource in resources.items()), words
