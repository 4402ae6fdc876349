"""Rank Inference Recommender's recommendations and compare compiled with uncompiled ones.

Pure functions over the dicts ``DescribeInferenceRecommendationsJob`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

TABLE_COLUMNS = (
    "EndpointName",
    "InstanceType",
    "InitialInstanceCount",
    "EnvironmentParameters",
    "CostPerHour",
    "CostPerInference",
    "MaxInvocations",
    "ModelLatency",
    "InferenceSpecificationName",
)


@dataclass(frozen=True)
class Recommendation:
    """One recommendation: an endpoint configuration and the metrics IR measured for it.

    ``max_invocations`` is per minute and ``model_latency`` in milliseconds, as IR reports them.
    """

    recommendation_id: str
    endpoint_name: str
    instance_type: str
    initial_instance_count: int
    environment_parameters: tuple[tuple[str, str], ...]
    cost_per_hour: float | None
    cost_per_inference: float | None
    max_invocations: int | None
    model_latency: int | None
    inference_specification_name: str | None = None
    compilation_job_name: str | None = None
    cpu_utilization: float | None = None
    memory_utilization: float | None = None
    model_setup_time: int | None = None

    @property
    def compiled(self) -> bool:
        """True for the Neo-compiled variant (IR names its inference specification after the Neo job)."""
        return bool(self.compilation_job_name or self.inference_specification_name)

    @classmethod
    def from_ir(cls, item: dict[str, Any]) -> Recommendation:
        """Build from one element of ``InferenceRecommendations``."""
        metrics = item.get("Metrics", {})
        endpoint = item.get("EndpointConfiguration", {})
        model = item.get("ModelConfiguration", {})
        return cls(
            recommendation_id=item.get("RecommendationId", ""),
            endpoint_name=endpoint.get("EndpointName", ""),
            instance_type=endpoint.get("InstanceType", ""),
            initial_instance_count=int(endpoint.get("InitialInstanceCount", 1)),
            environment_parameters=tuple(
                (p["Key"], p["Value"]) for p in model.get("EnvironmentParameters", [])
            ),
            cost_per_hour=metrics.get("CostPerHour"),
            cost_per_inference=metrics.get("CostPerInference"),
            max_invocations=metrics.get("MaxInvocations"),
            model_latency=metrics.get("ModelLatency"),
            inference_specification_name=model.get("InferenceSpecificationName"),
            compilation_job_name=model.get("CompilationJobName"),
            cpu_utilization=metrics.get("CpuUtilization"),
            memory_utilization=metrics.get("MemoryUtilization"),
            model_setup_time=metrics.get("ModelSetupTime"),
        )

    def row(self) -> dict[str, Any]:
        """The recommendation as a row of the results table (column name to value)."""
        return {
            "EndpointName": self.endpoint_name,
            "InstanceType": self.instance_type,
            "InitialInstanceCount": self.initial_instance_count,
            "EnvironmentParameters": format_environment(self.environment_parameters),
            "CostPerHour": self.cost_per_hour,
            "CostPerInference": self.cost_per_inference,
            "MaxInvocations": self.max_invocations,
            "ModelLatency": self.model_latency,
            "InferenceSpecificationName": self.inference_specification_name,
        }


@dataclass(frozen=True)
class CompiledComparison:
    """A compiled recommendation beside its uncompiled twin (same instance type and count)."""

    instance_type: str
    initial_instance_count: int
    uncompiled: Recommendation
    compiled: Recommendation

    @property
    def cost_change_percent(self) -> float | None:
        """Change in cost per inference from uncompiled to compiled (negative is cheaper)."""
        return _percent_change(self.uncompiled.cost_per_inference, self.compiled.cost_per_inference)

    @property
    def latency_change_percent(self) -> float | None:
        """Change in model latency (negative is faster)."""
        return _percent_change(self.uncompiled.model_latency, self.compiled.model_latency)

    @property
    def throughput_change_percent(self) -> float | None:
        """Change in maximum invocations per minute (positive is more throughput)."""
        return _percent_change(self.uncompiled.max_invocations, self.compiled.max_invocations)

    def summary(self) -> str:
        """One sentence, e.g. 'Neo compilation cuts cost per inference by 14% on ml.c5.xlarge'."""
        change = self.cost_change_percent
        where = self.instance_type + (
            f" x{self.initial_instance_count}" if self.initial_instance_count != 1 else "")
        if change is None:
            return f"Neo compilation: no cost per inference to compare on {where}"
        verb = "cuts" if change < 0 else "raises"
        return f"Neo compilation {verb} cost per inference by {abs(change):.0f}% on {where}"


def rank(recommendations: Iterable[Recommendation]) -> list[Recommendation]:
    """Cheapest per inference first; ties go to lower latency, then higher throughput.

    Recommendations missing a metric sort after those that have it.
    """
    def key(rec: Recommendation) -> tuple[float, float, float]:
        return (
            _or_inf(rec.cost_per_inference),
            _or_inf(rec.model_latency),
            -rec.max_invocations if rec.max_invocations is not None else math.inf,
        )
    return sorted(recommendations, key=key)


def compare_compiled(recommendations: Iterable[Recommendation]) -> list[CompiledComparison]:
    """Pair each compiled recommendation with the uncompiled one on the same instance type and count."""
    uncompiled: dict[tuple[str, int], Recommendation] = {}
    compiled: dict[tuple[str, int], Recommendation] = {}
    for rec in rank(recommendations):
        bucket = compiled if rec.compiled else uncompiled
        bucket.setdefault((rec.instance_type, rec.initial_instance_count), rec)
    return [
        CompiledComparison(key[0], key[1], uncompiled[key], compiled[key])
        for key in compiled if key in uncompiled
    ]


def format_environment(parameters: tuple[tuple[str, str], ...]) -> str | None:
    """Environment parameters as ``KEY=value`` pairs (None when there are none, as IR shows it)."""
    if not parameters:
        return None
    return ",".join(f"{key}={value}" for key, value in parameters)


def format_table(recommendations: Iterable[Recommendation]) -> str:
    """A fixed-width text table of the ranked recommendations with the columns users expect."""
    return format_rows(rec.row() for rec in recommendations)


def format_rows(rows: Iterable[dict[str, Any]]) -> str:
    """A fixed-width text table of rows keyed by the table's column names (e.g. DynamoDB items)."""
    cells = [[_cell(column, row.get(column)) for column in TABLE_COLUMNS] for row in rows]
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(TABLE_COLUMNS)]

    def line(values: list[str]) -> str:
        return " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()

    separator = "-+-".join("-" * width for width in widths)
    return "\n".join([line(list(TABLE_COLUMNS)), separator] + [line(row) for row in cells])


def _cell(column: str, value: Any) -> str:
    # Works for floats from IR and for Decimals read back from DynamoDB alike.
    if value is None:
        return "None"
    if column == "CostPerInference":
        return f"{value:.3e}"
    if column == "CostPerHour":
        return f"{value:.4f}"
    return str(value)


def _percent_change(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return (after - before) / before * 100.0


def _or_inf(value: float | None) -> float:
    return math.inf if value is None else float(value)
