"""DynamoDB items of a run: one summary item and one item per ranked recommendation.

Single-table layout (documented in the README):

- ``pk = RUN#<run_id>``, ``sk = SUMMARY``: the run (status, model, job, winner, error).
- ``pk = RUN#<run_id>``, ``sk = REC#<rank:04d>``: one recommendation, in rank order, so a
  ``Query`` on the run's pk with ``begins_with(sk, "REC#")`` returns the ranked table.
- Indexes on summary items: ``ByModel`` (model_name, created_at), ``ByJobName`` (job_name),
  ``ByStatus`` (status, updated_at).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from neo_runtime.ranking import Recommendation

SUMMARY_SK = "SUMMARY"
_serializer = TypeSerializer()


def run_key(run_id: str) -> dict[str, dict[str, str]]:
    """Key of the run's summary item, in DynamoDB's attribute-value form."""
    return {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": SUMMARY_SK}}


def now_iso() -> str:
    """UTC timestamp with millisecond precision; sorts as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def recommendation_item(run_id: str, rank: int, rec: Recommendation) -> dict[str, Any]:
    """A recommendation as a DynamoDB item (attribute-value form), floats stored as exact decimals."""
    item = {
        "pk": f"RUN#{run_id}",
        "sk": f"REC#{rank:04d}",
        "entity": "recommendation",
        "run_id": run_id,
        "rank": rank,
        "recommendation_id": rec.recommendation_id,
        "compiled": rec.compiled,
        "compilation_job_name": rec.compilation_job_name,
        "cpu_utilization": rec.cpu_utilization,
        "memory_utilization": rec.memory_utilization,
        "model_setup_time": rec.model_setup_time,
        **rec.row(),
    }
    return to_attribute_values(item)


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """Serialize a plain dict for the low-level DynamoDB client, dropping None values."""
    return {key: _serializer.serialize(_decimalize(value))
            for key, value in item.items() if value is not None}


def _decimalize(value: Any) -> Any:
    # str() keeps the shortest repr of the float, so 1.2e-06 is stored as exactly 0.0000012.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_decimalize(v) for v in value]
    return value
