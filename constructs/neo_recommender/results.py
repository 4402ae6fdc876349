"""Read a run's results back from the results table (used by the demo and the command line)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_deserializer = TypeDeserializer()


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def run_summary(dynamodb: Any, table: str, run_id: str) -> dict[str, Any] | None:
    """The run's summary item, or None."""
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "SUMMARY"}},
                             ConsistentRead=True).get("Item")
    return _plain(item) if item else None


def ranked_recommendations(dynamodb: Any, table: str, run_id: str) -> list[dict[str, Any]]:
    """The run's recommendation items, in rank order."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :rec)",
        "ExpressionAttributeValues": {":pk": {"S": f"RUN#{run_id}"}, ":rec": {"S": "REC#"}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**request)
        items += [_plain(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
