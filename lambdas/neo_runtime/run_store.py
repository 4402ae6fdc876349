"""Reads and writes of run records in the results table (layout in ``records``)."""

from __future__ import annotations

import os
import time
from typing import Any

from botocore.exceptions import ClientError

from neo_runtime import environment_names as names
from neo_runtime.aws import client, error_code
from neo_runtime.records import expiry_fields, from_attribute_values, now_iso, run_key, to_attribute_values

_BATCH_SIZE = 25  # BatchWriteItem's limit
_BATCH_ATTEMPTS = 8


def table_name() -> str:
    """The results table, from the function's environment."""
    return os.environ["TABLE_NAME"]


def release_job_slot(run_id: str) -> None:
    """Give back ``run_id``'s job slot and wake the next in line, when the deployment limits concurrent jobs."""
    if os.environ.get(names.MAX_CONCURRENT_JOBS):
        from neo_runtime import job_slots  # noqa: PLC0415 - only deployments with a limit load the queue

        job_slots.release_if_limited(table_name(), run_id)


def claim_run(run_id: str, execution_arn: str, fields: dict[str, Any]) -> bool:
    """Create the run's summary item unless another execution already owns it.

    Returns False for a duplicate delivery of the same object version. The same execution
    may claim again (a retried Lambda), so the condition accepts its own earlier claim.
    """
    now = now_iso()
    item = {"entity": "run", "run_id": run_id, "execution_arn": execution_arn, "created_at": now,
            "updated_at": now, **expiry_fields(), **fields}
    try:
        client("dynamodb").put_item(
            TableName=table_name(),
            Item={**run_key(run_id), **to_attribute_values(item)},
            ConditionExpression="attribute_not_exists(pk) OR execution_arn = :me",
            ExpressionAttributeValues={":me": {"S": execution_arn}},
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_run(run_id: str) -> dict[str, Any] | None:
    """The run's summary item (plain values), read consistently; None when there is none."""
    item = client("dynamodb").get_item(TableName=table_name(), Key=run_key(run_id), ConsistentRead=True).get("Item")
    return from_attribute_values(item) if item else None


def update_run(run_id: str, execution_arn: str, fields: dict[str, Any]) -> bool:
    """Set fields on the run's summary item if this execution owns the run (or it does not exist yet).

    Fields whose value is None are left as they are (a later step never erases what an earlier
    one recorded). Returns False when another execution owns the run, in which case nothing is written.
    """
    return _update_summary(run_id, execution_arn, fields, {}, "NONE") is not None


def update_run_returning_old(run_id: str, execution_arn: str, fields: dict[str, Any],
                             first_only: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``update_run``, returning the summary as it was before this write (plain values, empty for a new run), or
    None when another execution owns the run. ``first_only`` fields are set only where the summary has none yet.

    The old item comes with the write, atomically and at no read capacity ("No read capacity units are consumed":
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#DDB-UpdateItem-request-ReturnValues).
    """
    return _update_summary(run_id, execution_arn, fields, first_only or {}, "ALL_OLD")


def _update_summary(run_id: str, execution_arn: str, fields: dict[str, Any], first_only: dict[str, Any],
                    return_values: str) -> dict[str, Any] | None:
    """One conditional ``UpdateItem`` of the run's summary; its ``Attributes`` (plain values), or None when refused."""
    values = {name: value for name, value in fields.items() if value is not None}
    values.update(updated_at=now_iso(), run_id=run_id, execution_arn=execution_arn)
    kept = {name: value for name, value in first_only.items() if value is not None}
    names = {**{f"#f{i}": name for i, name in enumerate(values)}, **{f"#k{i}": name for i, name in enumerate(kept)}}
    attribute_values = to_attribute_values({**{f":v{i}": value for i, value in enumerate(values.values())},
                                            **{f":k{i}": value for i, value in enumerate(kept.values())}})
    expression = "SET " + ", ".join([f"#f{i} = :v{i}" for i in range(len(values))]
                                    + [f"#k{i} = if_not_exists(#k{i}, :k{i})" for i in range(len(kept))])
    try:
        response = client("dynamodb").update_item(
            TableName=table_name(),
            Key=run_key(run_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(pk) OR execution_arn = :me",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**attribute_values, ":me": {"S": execution_arn}},
            ReturnValues=return_values,
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return None
        raise
    return from_attribute_values(response.get("Attributes") or {})


def put_items(items: list[dict[str, Any]]) -> None:
    """Write items (attribute-value form) in batches, retrying unprocessed ones with backoff."""
    dynamodb = client("dynamodb")
    for start in range(0, len(items), _BATCH_SIZE):
        pending = [{"PutRequest": {"Item": item}} for item in items[start:start + _BATCH_SIZE]]
        for attempt in range(_BATCH_ATTEMPTS):
            response = dynamodb.batch_write_item(RequestItems={table_name(): pending})
            pending = response.get("UnprocessedItems", {}).get(table_name(), [])
            if not pending:
                break
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
        if pending:
            raise RuntimeError(f"DynamoDB left {len(pending)} recommendation item(s) unprocessed")
