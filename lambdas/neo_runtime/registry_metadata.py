"""The run's recommendation as ``CustomerMetadataProperties`` of the model package version it benchmarked.

ML teams look at the SageMaker model registry; after a run, ``UpdateModelPackage`` writes the
recommended deployment beside the model. SageMaker's limits
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html, and the
botocore model's ``CustomerMetadataMap``): at most 50 entries; keys of 1 to 128 characters and
values of 1 to 256, both matching ``([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)``. botocore checks the sizes
but not the pattern, which SageMaker enforces: every key and value here keeps to its ASCII part.
"""

from __future__ import annotations

import re
from typing import Any

from neo_runtime.decision import Decision
from neo_runtime.ranking import Recommendation

MAX_ENTRIES = 50
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256
#: The ASCII characters SageMaker's pattern admits (letters, digits, space and ``_.:/=+-@``).
ALLOWED = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9 _.:/=+\-@]+")
PREFIX = "neo-recommender:"


def metadata_properties(decision: Decision, run_id: str, job_name: str, table: str,
                        completed_at: str | None) -> dict[str, str]:
    """The entries for the package version: the recommendation, its pair, the run, and the ranked table."""
    entries: dict[str, Any] = {"run-id": run_id, "job-name": job_name, "results-table": table,
                               "completed-at": completed_at, "recommendations": len(decision.ranked)}
    chosen = decision.recommended
    if chosen is None:
        entries["recommended"] = "none: no configuration meets the manifest's constraints"
    else:
        entries.update({
            "recommended": chosen.deployment,
            "recommended-instance-count": chosen.initial_instance_count,
            "recommended-compiled": "true" if chosen.compiled else "false",
            "recommended-compilation-job": chosen.compilation_job_name,
            "recommended-cost-per-inference": _number(chosen.cost_per_inference),
            "recommended-cost-per-hour": _number(chosen.cost_per_hour),
            "recommended-model-latency-ms": chosen.model_latency,
            "recommended-max-invocations-per-minute": chosen.max_invocations,
        })
        pair = decision.recommended_pair()
        if pair is not None and pair.cost_change_percent is not None:
            entries["neo-cost-per-inference-change-percent"] = f"{pair.cost_change_percent:+.1f}"
    fixed = {key: value for key, value in entries.items() if value not in (None, "")}
    room = MAX_ENTRIES - len(fixed)
    rows = decision.ranked
    shown = rows if len(rows) <= room else rows[:room - 1]
    for rank, rec in enumerate(shown, start=1):
        fixed[f"rank-{rank:02d}"] = _row(rec)
    if len(shown) < len(rows):
        fixed["rank-more"] = f"{len(rows) - len(shown)} more ranked rows in the results table, run {run_id}"
    return {_key(key): _value(value) for key, value in fixed.items()}


def _row(rec: Recommendation) -> str:
    return " ".join(part for part in (
        rec.label, "neo" if rec.compiled else "uncompiled",
        f"cost/inference={_number(rec.cost_per_inference)}", f"latency-ms={rec.model_latency}",
        f"max/min={rec.max_invocations}", f"cost/hour={_number(rec.cost_per_hour)}") if part)


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.4g}"


def _key(name: str) -> str:
    return _clean(PREFIX + name)[:MAX_KEY_CHARS]


def _value(value: Any) -> str:
    return (_clean(str(value)) or "-")[:MAX_VALUE_CHARS]


def _clean(text: str) -> str:
    """``text`` with what SageMaker's pattern refuses (``,``, ``(``, ``%``, ...) turned into spaces."""
    return " ".join(_NOT_ALLOWED.sub(" ", text).split())
