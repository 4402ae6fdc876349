"""Rank Inference Recommender's recommendations and compare compiled with uncompiled ones.

Pure functions over the dicts ``DescribeInferenceRecommendationsJob`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

TABLE_COLUMNS = ("EndpointName", "InstanceType", "InitialInstanceCount", "EnvironmentParameters", "CostPerHour",
                 "CostPerInference", "MaxInvocations", "ModelLatency", "InferenceSpecificationName")


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
            cost_per_hour=_measured(metrics, "CostPerHour"),
            cost_per_inference=_measured(metrics, "CostPerInference"),
            max_invocations=_measured(metrics, "MaxInvocations"),
            model_latency=_measured(metrics, "ModelLatency"),
            inference_specification_name=model.get("InferenceSpecificationName"),
            compilation_job_name=model.get("CompilationJobName"),
            cpu_utilization=_measured(metrics, "CpuUtilization"),
            memory_utilization=_measured(metrics, "MemoryUtilization"),
            model_setup_time=_measured(metrics, "ModelSetupTime"),
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Recommendation:
        """Build from a stored recommendation item (the table's columns plus ``recommendation_id`` etc.)."""
        structured = row.get("environment_parameters")
        if structured is not None:
            parameters = tuple((str(p["Key"]), str(p["Value"])) for p in structured)
        else:  # items written before the structured copy existed
            text = row.get("EnvironmentParameters") or ""
            parameters = tuple(tuple(pair.split("=", 1)) for pair in text.split(",") if "=" in pair)  # type: ignore[misc]
        return cls(
            recommendation_id=str(row.get("recommendation_id") or ""),
            endpoint_name=str(row.get("EndpointName") or ""),
            instance_type=str(row.get("InstanceType") or ""),
            initial_instance_count=int(row.get("InitialInstanceCount") or 1),
            environment_parameters=parameters,
            cost_per_hour=_number(row.get("CostPerHour")),
            cost_per_inference=_number(row.get("CostPerInference")),
            max_invocations=_integer(row.get("MaxInvocations")),
            model_latency=_integer(row.get("ModelLatency")),
            inference_specification_name=row.get("InferenceSpecificationName"),
            compilation_job_name=row.get("compilation_job_name"),
            cpu_utilization=_number(row.get("cpu_utilization")),
            memory_utilization=_number(row.get("memory_utilization")),
            model_setup_time=_integer(row.get("model_setup_time")),
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
    def where(self) -> str:
        """The instance type, with the count when it is not one: ``ml.c5.xlarge`` or ``ml.c5.xlarge x2``."""
        return self.instance_type + (f" x{self.initial_instance_count}" if self.initial_instance_count != 1 else "")

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
        change, where = self.cost_change_percent, self.where
        if change is None:
            return f"Neo compilation: no cost per inference to compare on {where}"
        if round(change) == 0:
            return f"Neo compilation leaves cost per inference unchanged on {where} ({change:+.1f}%)"
        verb = "cuts" if change < 0 else "raises"
        return f"Neo compilation {verb} cost per inference by {abs(change):.0f}% on {where}"

    def detail(self) -> str:
        """The three changes in one line, e.g. 'ml.c5.xlarge: cost per inference -14%, latency -17%, ...'."""
        return (f"{self.where}: cost per inference {_signed(self.cost_change_percent)}, "
                f"model latency {_signed(self.latency_change_percent)}, "
                f"max invocations {_signed(self.throughput_change_percent)} (compiled vs uncompiled)")

    def to_dict(self) -> dict[str, Any]:
        """The pair as plain data: both configurations' names and the three changes in percent."""
        return {
            "instance_type": self.instance_type,
            "initial_instance_count": self.initial_instance_count,
            "uncompiled_recommendation_id": self.uncompiled.recommendation_id,
            "compiled_recommendation_id": self.compiled.recommendation_id,
            "inference_specification_name": self.compiled.inference_specification_name,
            "cost_per_inference_change_percent": _rounded(self.cost_change_percent),
            "model_latency_change_percent": _rounded(self.latency_change_percent),
            "max_invocations_change_percent": _rounded(self.throughput_change_percent),
            "summary": self.summary(),
        }


def overall_comparison(comparisons: list[CompiledComparison]) -> str | None:
    """One line over every compiled/uncompiled pair, or None when there is no pair."""
    measured = [c for c in comparisons if c.cost_change_percent is not None]
    if not measured:
        return None
    if len(measured) == 1:
        return measured[0].summary()
    cuts = [c for c in measured if c.cost_change_percent < 0]  # type: ignore[operator]
    if not cuts:
        return (f"Neo compilation cuts cost per inference on none of the {len(measured)} configurations "
                "benchmarked both ways")
    biggest = min(cuts, key=lambda c: c.cost_change_percent)  # type: ignore[arg-type,return-value]
    return (f"Neo compilation cuts cost per inference on {len(cuts)} of {len(measured)} configurations "
            f"benchmarked both ways, most on {biggest.where} "
            f"({abs(biggest.cost_change_percent):.0f}%)")  # type: ignore[arg-type]


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


def format_rows(rows: Iterable[dict[str, Any]], columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """A fixed-width text table of rows keyed by column names (by default the results table's)."""
    cells = [[format_cell(column, row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]

    def line(values: list[str]) -> str:
        return " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()

    separator = "-+-".join("-" * width for width in widths)
    return "\n".join([line(list(columns)), separator] + [line(row) for row in cells])


def format_cell(column: str, value: Any) -> str:
    """A value as the tables show it: costs rounded, None spelled out (floats and Decimals alike)."""
    if value is None:
        return "None"
    if column == "CostPerInference":
        return f"{float(value):.3e}"  # Decimal would print 5.158e-7, a float 5.158e-07
    if column == "CostPerHour":
        return f"{float(value):.4f}"
    return str(value)


def _percent_change(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return (after - before) / before * 100.0


#: How the JSON protocol writes non-finite floats: as strings, which botocore hands over unchanged
#: (Smithy's AWS JSON 1.1 protocol, "Shape serialization": NaN, Infinity and -Infinity are sent as strings).
NON_FINITE_TEXT = frozenset({"NaN", "Infinity", "-Infinity"})


def _measured(metrics: dict[str, Any], name: str) -> Any:
    """A metric as IR reports it, with NaN ("not available", per the API) and infinities as None.

    Over the wire IR's NaN is the string ``"NaN"`` (see ``NON_FINITE_TEXT``); a float NaN (a parsed copy) is
    treated alike.
    """
    value = metrics.get(name)
    if value is None or (isinstance(value, str) and value in NON_FINITE_TEXT):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Metrics.{name} must be a number, not {value!r}")
    return value if math.isfinite(value) else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0f}%"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _or_inf(value: float | None) -> float:
    return math.inf if value is None else float(value)
