"""DynamoDB items of a run: one summary item and one item per ranked recommendation.

Single-table layout (documented in docs/results-and-cli.md, DynamoDB):

- ``pk = RUN#<run_id>``, ``sk = SUMMARY``: the run (status, model, job, decision, error).
- ``pk = RUN#<run_id>``, ``sk = REC#<rank:04d>``: one recommendation, in rank order, so a
  ``Query`` on the run's pk with ``begins_with(sk, "REC#")`` returns the ranked table.
- Indexes on summary items only (recommendation items lack their keys): ``ByModel``
  (model_name, created_at), ``ByJobName`` (job_name), ``ByExecution`` (execution_arn),
  ``ByStatus`` (status, updated_at).

Every item stays far below DynamoDB's 400 KB item limit: a recommendation item is a few hundred
bytes, and the summary's lists are trimmed to ``SUMMARY_BUDGET_BYTES`` (their full length is
kept in ``*_omitted`` counters).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:  # only the results step has decisions; every step that records a run imports this module
    from collections.abc import Callable

    from neo_runtime.decision import Decision
    from neo_runtime.ranking import Recommendation

SUMMARY_SK = "SUMMARY"
#: The summary item is trimmed to this size; DynamoDB's limit is 400 KB.
SUMMARY_BUDGET_BYTES = 96 * 1024
#: Summary lists that may be shortened to fit the budget, longest first.
TRIMMABLE_LISTS = ("failed_steps", "findings", "comparisons", "recommendation_explanation", "pareto_ranks")
#: Environment variable holding the number of days results are kept (unset or 0: forever).
RETENTION_ENV = "RESULTS_RETENTION_DAYS"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def run_key(run_id: str) -> dict[str, dict[str, str]]:
    """Key of the run's summary item, in DynamoDB's attribute-value form."""
    return {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": SUMMARY_SK}}


def now_iso() -> str:
    """UTC timestamp with millisecond precision; sorts as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expiry_fields(now: float | None = None) -> dict[str, int]:
    """``{"expires_at": <epoch seconds>}`` when the function's environment sets a retention, else ``{}``."""
    days = int(os.environ.get(RETENTION_ENV) or 0)
    if days <= 0:
        return {}
    return {"expires_at": int((time.time() if now is None else now) + days * 86400)}


def recommendation_item(run_id: str, rank: int, rec: Recommendation, decision: Decision | None = None,
                        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A recommendation as a DynamoDB item (attribute-value form), floats stored as exact decimals.

    With ``decision``, the item also says whether the recommendation is on the Pareto frontier,
    meets the constraints (and which it breaks), and is the recommended one.
    """
    item: dict[str, Any] = {
        "pk": f"RUN#{run_id}",
        "sk": f"REC#{rank:04d}",
        "entity": "recommendation",
        "run_id": run_id,
        "rank": rank,
        "recommendation_id": rec.recommendation_id,
        "compiled": rec.compiled,
        "compiled_flag": rec.compiled_flag,
        "compilation_job_name": rec.compilation_job_name,
        "cpu_utilization": rec.cpu_utilization,
        "memory_utilization": rec.memory_utilization,
        "model_setup_time": rec.model_setup_time,
        "environment_parameters": [{"Key": key, "Value": value} for key, value in rec.environment_parameters] or None,
        "serverless_config": ({"MemorySizeInMB": rec.serverless_memory_mb,
                               "MaxConcurrency": rec.serverless_max_concurrency} if rec.serverless else None),
        **rec.row(),
    }
    if decision is not None:
        violations = decision.violations(rec)
        item.update(pareto_optimal=decision.is_pareto(rec), meets_constraints=not violations,
                    violations=violations or None, recommended=rec is decision.recommended)
    return to_attribute_values({**item, **(extra or {})})


def recommendation_items(run_id: str, decision: Decision, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every recommendation of the decision as an item, in rank order (``REC#0001`` first)."""
    return [recommendation_item(run_id, position, rec, decision, extra)
            for position, rec in enumerate(decision.ranked, start=1)]


def decision_fields(decision: Decision) -> dict[str, Any]:
    """What the run's summary item says about the decision (plain values, ``None`` for absent)."""
    ranks = {id(rec): position for position, rec in enumerate(decision.ranked, start=1)}

    def with_rank(rec: Recommendation | None) -> dict[str, Any] | None:
        return None if rec is None else {"Rank": ranks[id(rec)], "Compiled": rec.compiled, **rec.row()}

    return {
        "recommendation_count": len(decision.ranked),
        "compiled_count": sum(1 for rec in decision.ranked if rec.compiled),
        "best": with_rank(decision.ranked[0] if decision.ranked else None),
        "recommended": with_rank(decision.recommended),
        "recommendation_explanation": decision.explanation(),
        "constraints": decision.constraints.to_dict() or None,
        "excluded_count": len(decision.excluded),
        "pareto_ranks": [ranks[id(rec)] for rec in decision.pareto],
        "comparisons": [comparison.to_dict() for comparison in decision.comparisons],
        "comparison_overall": decision.overall_comparison(),
    }


def fit_summary(fields: dict[str, Any], budget: int = SUMMARY_BUDGET_BYTES) -> dict[str, Any]:
    """Shorten the summary's longest lists until the item fits ``budget``; ``<name>_omitted`` counts the cut."""
    return trim_to_fit(fields, TRIMMABLE_LISTS, lambda item: item_size(to_attribute_values(item)) <= budget,
                       lambda name, value: item_size(to_attribute_values({name: value})))


def trim_to_fit(fields: dict[str, Any], lists: tuple[str, ...], fits: Callable[[dict[str, Any]], bool],
                weight: Callable[[str, list[Any]], int]) -> dict[str, Any]:
    """A copy of ``fields`` whose heaviest ``lists`` are halved until it ``fits``; ``<name>_omitted`` counts the cut.

    Shared by the run's summary item (DynamoDB's item limit) and its SNS message (SNS's message limit).
    A list of one item is never cut, so the result may still not fit.
    """
    fields = dict(fields)
    while not fits(fields):
        names = [name for name in lists if len(fields.get(name) or []) > 1]
        if not names:
            break
        name = max(names, key=lambda candidate: weight(candidate, fields[candidate]))
        keep = len(fields[name]) // 2
        fields[f"{name}_omitted"] = fields.get(f"{name}_omitted", 0) + len(fields[name]) - keep
        fields[name] = fields[name][:keep]
    return fields


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of an item's size as DynamoDB counts it (attribute names plus values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(key.encode()) + _value_size(element) for key, element in inner.items())
    scalar_sizes = {"S": lambda: len(inner.encode()), "N": lambda: len(inner) // 2 + 2, "B": lambda: len(inner),
                    "BOOL": lambda: 1, "NULL": lambda: 1}
    if kind in scalar_sizes:
        return scalar_sizes[kind]()
    return 3 + sum(len(str(element)) + 1 for element in inner)  # SS, NS, BS


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """Serialize a plain dict for the low-level DynamoDB client, dropping None values."""
    return {key: _serializer.serialize(_decimalize(value))
            for key, value in item.items() if value is not None}


def from_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """Inverse of ``to_attribute_values`` (numbers come back as ``Decimal``)."""
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _decimalize(value: Any) -> Any:
    # str() keeps the shortest repr of the float, so 1.2e-06 is stored as exactly 0.0000012.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_decimalize(v) for v in value]
    return value
