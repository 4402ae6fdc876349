"""Rank Inference Recommender's recommendations and compare compiled with uncompiled ones.

Pure functions over the dicts ``DescribeInferenceRecommendationsJob`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

TABLE_COLUMNS = ("EndpointName", "InstanceType", "InitialInstanceCount", "EnvironmentParameters", "CostPerHour",
                 "CostPerInference", "MaxInvocations", "ModelLatency", "InferenceSpecificationName",
                 "CompilationJobName")
#: RecommendationMetrics members (API reference, RecommendationMetrics).
KNOWN_METRICS = ("CostPerHour", "CostPerInference", "MaxInvocations", "ModelLatency", "CpuUtilization",
                 "MemoryUtilization", "ModelSetupTime")
#: Keys AWS's printed examples use for an API metric: the results page of the Developer Guide prints
#: ``MaximumInvocations`` where the API returns ``MaxInvocations``
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/instance-recommendation-results.html).
METRIC_ALIASES = {"MaximumInvocations": "MaxInvocations"}
#: How IR names the inference specification it adds for a Neo-compiled model: after the Neo job
#: (``neo-00000011-1222`` in the SageMaker Python SDK's IR test fixtures, tests/unit/sagemaker/inference_recommender).
COMPILED_SPECIFICATION_PREFIX = "neo-"


@dataclass(frozen=True)
class Recommendation:
    """One recommendation: an endpoint configuration and the metrics IR measured for it.

    ``max_invocations`` is per minute and ``model_latency`` in milliseconds, as IR reports them.
    """

    recommendation_id: str
    endpoint_name: str
    instance_type: str
    initial_instance_count: int | None
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
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None
    compiled_flag: bool | None = None

    @property
    def serverless(self) -> bool:
        """Whether this is a serverless endpoint configuration (``ServerlessConfig``, no instance)."""
        return self.serverless_memory_mb is not None or self.serverless_max_concurrency is not None

    @property
    def compiled(self) -> bool:
        """True for a Neo-compiled variant, on evidence only.

        An explicit ``Compiled`` flag wins (the Developer Guide's serverless example prints
        ``"Compiled": "False"``). Otherwise a ``CompilationJobName``, or an ``InferenceSpecificationName``
        that IR gave a compiled specification (``neo-...``), says compiled; any other name, such as
        ``"default"``, does not.
        """
        return is_compiled(self.compiled_flag, self.compilation_job_name, self.inference_specification_name)

    @property
    def deployment(self) -> str:
        """Where it runs, without the count: ``ml.c5.xlarge`` or ``serverless, 2048 MB, max concurrency 5``."""
        if not self.serverless:
            return self.instance_type
        parts = ["serverless"]
        if self.serverless_memory_mb is not None:
            parts.append(f"{self.serverless_memory_mb} MB")
        if self.serverless_max_concurrency is not None:
            parts.append(f"max concurrency {self.serverless_max_concurrency}")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """The deployment with its instance count (``ml.c5.xlarge x1``); a serverless one has no count."""
        if self.initial_instance_count is None:
            return self.deployment
        return f"{self.deployment} x{self.initial_instance_count}"

    @property
    def variant(self) -> str:
        """``uncompiled``, or ``Neo-compiled`` with the compilation job (or specification) that made it."""
        if not self.compiled:
            return "uncompiled"
        if self.compilation_job_name:
            return f"Neo-compiled by compilation job {self.compilation_job_name}"
        if self.inference_specification_name:
            return f"Neo-compiled ({self.inference_specification_name})"
        return "Neo-compiled"

    @property
    def pairing_key(self) -> tuple[str, int | None]:
        """Compiled and uncompiled rows with the same key are compared: same deployment and count."""
        return (self.deployment, self.initial_instance_count)

    @classmethod
    def from_ir(cls, item: dict[str, Any], notes: list[str] | None = None) -> Recommendation:
        """Build from one element of ``InferenceRecommendations`` (``EndpointPerformances`` has its own reader).

        ``notes`` collects what was read differently from the API's shape: a metric under the key
        AWS's printed examples use, and metric keys this tool does not know (reported, not dropped silently).
        """
        metrics = metric_values(_object(item, "Metrics"), notes if notes is not None else [])
        endpoint = _object(item, "EndpointConfiguration")
        model = _object(item, "ModelConfiguration")
        serverless = endpoint.get("ServerlessConfig")
        count = endpoint.get("InitialInstanceCount")
        return cls(
            recommendation_id=item.get("RecommendationId", ""),
            endpoint_name=endpoint.get("EndpointName", ""),
            instance_type="" if serverless is not None else endpoint.get("InstanceType", ""),
            # A serverless row has no instances; IR's real-time rows always carry the count.
            initial_instance_count=None if serverless is not None else int(1 if count is None else count),
            environment_parameters=tuple(
                (p["Key"], p["Value"]) for p in model.get("EnvironmentParameters") or []
            ),
            cost_per_hour=measured(metrics, "CostPerHour"),
            cost_per_inference=measured(metrics, "CostPerInference"),
            max_invocations=measured(metrics, "MaxInvocations"),
            model_latency=measured(metrics, "ModelLatency"),
            inference_specification_name=model.get("InferenceSpecificationName"),
            compilation_job_name=model.get("CompilationJobName"),
            cpu_utilization=measured(metrics, "CpuUtilization"),
            memory_utilization=measured(metrics, "MemoryUtilization"),
            model_setup_time=measured(metrics, "ModelSetupTime"),
            **_serverless_fields(serverless),
            compiled_flag=_flag(model.get("Compiled"), "ModelConfiguration.Compiled"),
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
        serverless = row.get("serverless_config")
        count = row.get("InitialInstanceCount")
        return cls(
            recommendation_id=str(row.get("recommendation_id") or ""),
            endpoint_name=str(row.get("EndpointName") or ""),
            instance_type="" if serverless is not None else str(row.get("InstanceType") or ""),
            initial_instance_count=None if serverless is not None else int(1 if count is None else count),
            environment_parameters=parameters,
            cost_per_hour=_number(row.get("CostPerHour")),
            cost_per_inference=_number(row.get("CostPerInference")),
            max_invocations=_integer(row.get("MaxInvocations")),
            model_latency=_integer(row.get("ModelLatency")),
            inference_specification_name=row.get("InferenceSpecificationName"),
            compilation_job_name=row.get("CompilationJobName") or row.get("compilation_job_name"),
            cpu_utilization=_number(row.get("cpu_utilization")),
            memory_utilization=_number(row.get("memory_utilization")),
            model_setup_time=_integer(row.get("model_setup_time")),
            **_serverless_fields(serverless),
            compiled_flag=row.get("compiled_flag"),
        )

    def row(self) -> dict[str, Any]:
        """The recommendation as a row of the results table (column name to value)."""
        return {
            "EndpointName": self.endpoint_name,
            "InstanceType": self.deployment,
            "InitialInstanceCount": self.initial_instance_count,
            "EnvironmentParameters": format_environment(self.environment_parameters),
            "CostPerHour": self.cost_per_hour,
            "CostPerInference": self.cost_per_inference,
            "MaxInvocations": self.max_invocations,
            "ModelLatency": self.model_latency,
            "InferenceSpecificationName": self.inference_specification_name,
            "CompilationJobName": self.compilation_job_name,
        }


@dataclass(frozen=True)
class CompiledComparison:
    """A compiled recommendation beside its uncompiled twin (same deployment and count).

    ``instance_type`` is the deployment as ``Recommendation.deployment`` shows it (a serverless
    configuration reads ``serverless, 2048 MB, max concurrency 5`` and has no count).
    """

    instance_type: str
    initial_instance_count: int | None
    uncompiled: Recommendation
    compiled: Recommendation

    @property
    def where(self) -> str:
        """The deployment, with the count when it is more than one: ``ml.c5.xlarge`` or ``ml.c5.xlarge x2``."""
        count = self.initial_instance_count
        return self.instance_type + (f" x{count}" if count not in (None, 1) else "")

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
            "compilation_job_name": self.compiled.compilation_job_name,
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
    """Pair each compiled recommendation with the uncompiled one of the same deployment and count."""
    uncompiled: dict[tuple[str, int | None], Recommendation] = {}
    compiled: dict[tuple[str, int | None], Recommendation] = {}
    for rec in rank(recommendations):
        bucket = compiled if rec.compiled else uncompiled
        bucket.setdefault(rec.pairing_key, rec)
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


def measured(metrics: dict[str, Any], name: str) -> Any:  # noqa: ANN401 - a number as IR sent it, or None
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


def is_compiled(flag: bool | None, compilation_job_name: str | None, inference_specification_name: str | None) -> bool:
    """The evidence rule of ``Recommendation.compiled``, for any ModelConfiguration (benchmark steps too)."""
    if flag is not None:
        return flag
    name = (inference_specification_name or "").lower()
    return bool(compilation_job_name) or name.startswith(COMPILED_SPECIFICATION_PREFIX)


def compiled_configuration(model_configuration: dict[str, Any]) -> bool:
    """Whether a ``ModelConfiguration`` (of a recommendation or a benchmark step) is Neo-compiled."""
    return is_compiled(_flag(model_configuration.get("Compiled"), "ModelConfiguration.Compiled"),
                       model_configuration.get("CompilationJobName"),
                       model_configuration.get("InferenceSpecificationName"))


def metric_values(metrics: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The metrics under the API's keys; an alias is read with a note in ``notes``, an unknown key noted."""
    values = {}
    for key, value in metrics.items():
        if key in KNOWN_METRICS:
            values[key] = value
        elif key in METRIC_ALIASES:
            canonical = METRIC_ALIASES[key]
            values.setdefault(canonical, value)
            _note(notes, f"Metrics.{key} is read as {canonical} (the API's name; AWS's printed examples use {key})")
        else:
            _note(notes, f"Metrics.{key} is not a metric of the API's RecommendationMetrics; it is not shown")
    return values


def _object(item: dict[str, Any], name: str) -> dict[str, Any]:
    value = item.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object, not {value!r}")
    return value


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _serverless_fields(config: Any) -> dict[str, Any]:
    """``ServerlessConfig`` as fields (the Developer Guide's example spells MemorySizeInMB as MemorySizeInMb)."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(f"EndpointConfiguration.ServerlessConfig must be an object, not {config!r}")
    memory = config.get("MemorySizeInMB", config.get("MemorySizeInMb"))
    concurrency = config.get("MaxConcurrency")
    return {"serverless_memory_mb": int(memory) if memory is not None else None,
            "serverless_max_concurrency": int(concurrency) if concurrency is not None else None}


def _flag(value: Any, name: str) -> bool | None:
    """A boolean IR may print as a bool or as the string ``"True"``/``"False"``; None when absent."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{name} must be true or false, not {value!r}")


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
