"""Read runs back from the results table, one function per question users ask.

Used by the demo, the tests and ``neo-recommender results``. Each function takes a low-level
DynamoDB client and the table name, and returns plain dicts (numbers as ``Decimal``, exactly as
stored). The layout is described in ``neo_runtime.records`` and docs/results-and-cli.md.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from neo_runtime.decision import Constraints, Decision, decide
from neo_runtime.ir_results import Baseline
from neo_runtime.ranking import Recommendation
from neo_runtime.run_status import RUN_STATUSES

__all__ = ["RUN_STATUSES"]  # the statuses a run can be listed by (the runtime's own tuple)
_deserializer = TypeDeserializer()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values (numbers as ``Decimal``)."""
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _summary_key(run_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "SUMMARY"}}


def run_summary(dynamodb: Any, table: str, run_id: str) -> dict[str, Any] | None:
    """The run's summary item, or None."""
    item = dynamodb.get_item(TableName=table, Key=_summary_key(run_id), ConsistentRead=True).get("Item")
    return plain(item) if item else None


def ranked_recommendations(dynamodb: Any, table: str, run_id: str) -> list[dict[str, Any]]:
    """The run's recommendation items, in rank order."""
    return _query_all(dynamodb, {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :rec)",
        "ExpressionAttributeValues": {":pk": {"S": f"RUN#{run_id}"}, ":rec": {"S": "REC#"}},
        "ConsistentRead": True,
    })


def runs_of_model(dynamodb: Any, table: str, model_name: str, limit: int = 10) -> list[dict[str, Any]]:
    """The model's latest runs, newest first (index ``ByModel``)."""
    return _query_newest(dynamodb, table, "ByModel", "model_name", model_name, limit)


def runs_by_status(dynamodb: Any, table: str, status: str, limit: int = 10) -> list[dict[str, Any]]:
    """Runs in ``status``, most recently updated first (index ``ByStatus``)."""
    return _query_newest(dynamodb, table, "ByStatus", "status", status, limit)


def run_by_job_name(dynamodb: Any, table: str, job_name: str) -> dict[str, Any] | None:
    """The run that created the Inference Recommender job ``job_name`` (index ``ByJobName``)."""
    found = _query_newest(dynamodb, table, "ByJobName", "job_name", job_name, 1)
    return found[0] if found else None


def run_by_execution(dynamodb: Any, table: str, execution_arn: str) -> dict[str, Any] | None:
    """The run a Step Functions execution owns (index ``ByExecution`` holds keys only, then a read)."""
    found = _query_newest(dynamodb, table, "ByExecution", "execution_arn", execution_arn, 1)
    return run_summary(dynamodb, table, found[0]["pk"].removeprefix("RUN#")) if found else None


def run_decision(summary: dict[str, Any], rows: list[dict[str, Any]]) -> Decision:
    """The decision of a stored run, rebuilt from its items and the constraints it was made with."""
    stored = summary.get("constraints") or {}
    constraints = Constraints(
        float(stored["MaxModelLatencyMs"]) if "MaxModelLatencyMs" in stored else None,
        float(stored["MinInvocationsPerMinute"]) if "MinInvocationsPerMinute" in stored else None,
        tuple(stored.get("AllowedInstanceTypes") or ()))
    baselines = [Baseline(str(item.get("endpoint_name") or ""), _integer(item.get("max_invocations")),
                          _integer(item.get("model_latency")))
                 for item in summary.get("endpoint_performances") or []]
    return decide([Recommendation.from_row(row) for row in rows], constraints, baselines)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def run_notes(summary: dict[str, Any], decision: Decision) -> list[str]:
    """The sentences shown under a run's table: the decision, the overall comparison, each pair's changes."""
    overall = [summary["comparison_overall"]] if summary.get("comparison_overall") else []
    return decision.explanation() + overall + [pair.detail() for pair in decision.comparisons]


def table_from_stack(cloudformation: Any, stack_name: str) -> str:
    """The results table named in the stack's ``ResultsTableName`` output; ``LookupError`` when absent."""
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == "ResultsTableName":
            return str(output["OutputValue"])
    raise LookupError(f"stack {stack_name} has no ResultsTableName output")


def _query_newest(dynamodb: Any, table: str, index: str, attribute: str, value: str,
                  limit: int) -> list[dict[str, Any]]:
    page = dynamodb.query(
        TableName=table, IndexName=index, KeyConditionExpression="#a = :v",
        ExpressionAttributeNames={"#a": attribute}, ExpressionAttributeValues={":v": {"S": value}},
        ScanIndexForward=False, Limit=limit)
    return [plain(item) for item in page.get("Items", [])]


def _query_all(dynamodb: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = dynamodb.query(**request)
        items += [plain(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
