"""One reading of a ``DescribeInferenceRecommendationsJob`` output, shared by PublishResults, ``rank`` and ``chart``.

The job's status decides whether there is anything to rank: a FAILED, STOPPED or unfinished job
is reported with AWS's ``FailureReason``, never as "no recommendations". ``InferenceRecommendations``
become ``Recommendation`` rows (serverless rows, compiled rows and NaN metrics as ``ranking`` reads
them); ``EndpointPerformances`` (benchmarks of an existing endpoint, returned when the job's
``InputConfig.Endpoints`` names one) become ``Baseline`` rows, shown beside the recommendations.
Whatever was read differently from the API's shape is kept as a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neo_runtime.ranking import Recommendation, measured, metric_values

COMPLETED = "COMPLETED"
#: DescribeInferenceRecommendationsJob.Status values (API reference).
JOB_STATUSES = ("PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "STOPPING", "STOPPED", "DELETING", "DELETED")
_NO_RESULTS = "has no InferenceRecommendations or EndpointPerformances list"


class MalformedResults(ValueError):
    """The document is not a describe output this tool can read; the message names the field."""


@dataclass(frozen=True)
class Baseline:
    """An existing endpoint as IR benchmarked it (one element of ``EndpointPerformances``).

    IR reports only ``MaxInvocations`` (per minute) and ``ModelLatency`` (ms) for it: no cost.
    """

    endpoint_name: str
    max_invocations: int | None
    model_latency: int | None

    @classmethod
    def from_ir(cls, item: dict[str, Any], notes: list[str]) -> Baseline:
        """Build from ``{"Metrics": {...}, "EndpointInfo": {"EndpointName": ...}}`` (API: EndpointPerformance).

        The Developer Guide's existing-endpoint example prints ``EndpointConfiguration`` where the API has
        ``EndpointInfo``; it is read the same way, with a note.
        """
        metrics = metric_values(item.get("Metrics") or {}, notes)
        info = item.get("EndpointInfo")
        if info is None and isinstance(item.get("EndpointConfiguration"), dict):
            info = item["EndpointConfiguration"]
            note = ("EndpointPerformances[].EndpointConfiguration is read as EndpointInfo (the API's name; the "
                    "Developer Guide's existing-endpoint example prints EndpointConfiguration)")
            if note not in notes:
                notes.append(note)
        return cls(endpoint_name=str((info or {}).get("EndpointName") or "unnamed endpoint"),
                   max_invocations=measured(metrics, "MaxInvocations"),
                   model_latency=measured(metrics, "ModelLatency"))

    @property
    def label(self) -> str:
        """How tables and the chart name it."""
        return f"existing endpoint {self.endpoint_name}"

    def describe(self) -> str:
        """One sentence with its measures."""
        latency = "no ModelLatency" if self.model_latency is None else f"ModelLatency {self.model_latency} ms"
        throughput = ("no MaxInvocations" if self.max_invocations is None
                      else f"MaxInvocations {self.max_invocations}/min")
        return f"Baseline, {self.label}: {latency}, {throughput}"

    def row(self) -> dict[str, Any]:
        """A row of the results table, marked as the baseline (no rank, no cost)."""
        return {"EndpointName": self.endpoint_name, "InstanceType": self.label, "MaxInvocations": self.max_invocations,
                "ModelLatency": self.model_latency, "Baseline": True}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the run's summary and message."""
        return {"endpoint_name": self.endpoint_name, "max_invocations": self.max_invocations,
                "model_latency": self.model_latency}


@dataclass
class JobResults:
    """What a describe output says: the job, its status, its rows and the notes on reading them."""

    job_name: str | None
    status: str | None
    failure_reason: str | None = None
    recommendations: list[Recommendation] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def unfinished(self) -> str | None:
        """None for a COMPLETED job (or a bare list); else ``job J is FAILED: <FailureReason>`` and the like."""
        if self.status in (None, COMPLETED):
            return None
        name = self.job_name or "(unnamed)"
        if self.failure_reason:
            return f"job {name} is {self.status}: {self.failure_reason}"
        return f"job {name} is {self.status}"


def read_job(document: Any) -> JobResults:
    """Read a describe output (a dict), or a bare ``InferenceRecommendations`` list; ``MalformedResults`` if neither."""
    if isinstance(document, list):
        document = {"InferenceRecommendations": document}
    if not isinstance(document, dict):
        raise MalformedResults(f"is {type(document).__name__}, not a describe-inference-recommendations-job output")
    status = document.get("Status")
    if status is not None and status not in JOB_STATUSES:
        raise MalformedResults(f"Status {status!r} is not a job status ({', '.join(JOB_STATUSES)})")
    results = JobResults(job_name=document.get("JobName"), status=status,
                         failure_reason=document.get("FailureReason") or None)
    items = document.get("InferenceRecommendations")
    performances = document.get("EndpointPerformances")
    if items is None and performances is None:
        if results.unfinished():
            return results
        raise MalformedResults(f"{_NO_RESULTS} (give the output of describe-inference-recommendations-job)")
    results.recommendations = _read_list(items, "InferenceRecommendations", Recommendation.from_ir, results.notes)
    results.baselines = _read_list(performances, "EndpointPerformances", Baseline.from_ir, results.notes)
    return results


def _read_list(items: Any, name: str, build: Any, notes: list[str]) -> list[Any]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise MalformedResults(f"{name} must be a list, not {type(items).__name__}")
    read = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedResults(f"{name}[{index}] must be an object, not {type(item).__name__}")
        try:
            read.append(build(item, notes))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise MalformedResults(f"{name}[{index}] is malformed: {error}") from None
    return read
