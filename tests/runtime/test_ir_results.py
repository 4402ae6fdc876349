"""One reading of IR's results: compiled on evidence, serverless rows, baselines, metric keys, unfinished jobs.

The shapes come from AWS's pages (sources named per test); the catalogue in tests/realworld holds
whole documents.
"""

from __future__ import annotations

from typing import Any

import pytest

from neo_runtime.decision import decide
from neo_runtime.formats import decision_rows, render
from neo_runtime.ir_results import MalformedResults, read_job
from neo_runtime.ranking import Recommendation, compare_compiled


def _row(model: dict[str, Any] | None = None, endpoint: dict[str, Any] | None = None, **metrics: Any) -> dict[str, Any]:
    return {"RecommendationId": "r",
            "Metrics": {"CostPerHour": 0.2, "CostPerInference": 1e-6, "MaxInvocations": 100, "ModelLatency": 50,
                        **metrics},
            "EndpointConfiguration": endpoint or {"EndpointName": "sm-epc-1", "VariantName": "v",
                                                  "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1},
            "ModelConfiguration": model or {}}


@pytest.mark.parametrize(("model", "compiled"), [
    ({}, False),
    ({"InferenceSpecificationName": "default"}, False),  # a specification name alone is no evidence
    ({"InferenceSpecificationName": "neo-00000011-1222"}, True),  # the SDK's fixture name of IR's compiled spec
    ({"CompilationJobName": "neo-00011122-2333"}, True),
    # The Developer Guide's serverless example prints "Compiled": "False" next to a specification name.
    ({"Compiled": "False", "InferenceSpecificationName": "neo-x"}, False),
    ({"Compiled": False, "CompilationJobName": "neo-x"}, False),  # an explicit flag wins
    ({"Compiled": "True"}, True),
])
def test_compiled_only_on_evidence(model: dict[str, Any], compiled: bool) -> None:
    assert Recommendation.from_ir(_row(model)).compiled is compiled


def test_a_row_with_only_a_compilation_job_names_the_job() -> None:
    rec = Recommendation.from_ir(_row({"CompilationJobName": "neo-00011122-2333"}))
    decision = decide([rec])

    assert decision.explanation()[0] == ("Recommended: ml.c5.xlarge x1 (Neo-compiled by compilation job "
                                         "neo-00011122-2333), the cheapest per inference")
    assert "None" not in decision.explanation()[0]
    for fmt in ("json", "csv", "markdown", "table"):
        assert "neo-00011122-2333" in render(decision_rows(decision), fmt)


def test_an_unparseable_compiled_flag_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"ModelConfiguration\.Compiled must be true or false"):
        Recommendation.from_ir(_row({"Compiled": "maybe"}))


def _serverless(memory_key: str = "MemorySizeInMB", compiled: bool = False, cost: float = 1e-6) -> dict[str, Any]:
    # The Developer Guide's serverless example (instance-recommendation-results.html) spells MemorySizeInMb.
    model = {"CompilationJobName": "neo-1"} if compiled else {"Compiled": "False"}
    return _row(model, {"EndpointName": "sm-epc-s", "VariantName": "v",
                        "ServerlessConfig": {memory_key: 2048, "MaxConcurrency": 5}},
                CostPerInference=cost, ModelSetupTime=1200)


@pytest.mark.parametrize("memory_key", ["MemorySizeInMB", "MemorySizeInMb"])
def test_serverless_rows_keep_their_identity_and_invent_no_count(memory_key: str) -> None:
    rec = Recommendation.from_ir(_serverless(memory_key))
    decision = decide([rec])

    assert rec.serverless and rec.initial_instance_count is None
    assert rec.label == rec.deployment == "serverless, 2048 MB, max concurrency 5"
    assert decision.explanation()[0].startswith("Recommended: serverless, 2048 MB, max concurrency 5 (uncompiled)")
    assert "x1" not in decision.explanation()[0]
    (row,) = decision_rows(decision)
    assert row["InstanceType"] == "serverless, 2048 MB, max concurrency 5" and row["InitialInstanceCount"] is None


def test_serverless_rows_pair_by_their_configuration_not_with_instances() -> None:
    plain, neo = Recommendation.from_ir(_serverless()), Recommendation.from_ir(_serverless(compiled=True, cost=8e-7))
    on_instance = Recommendation.from_ir(_row({"CompilationJobName": "neo-2"}))

    (pair,) = compare_compiled([plain, neo, on_instance])

    assert pair.uncompiled is plain and pair.compiled is neo
    assert pair.summary() == ("Neo compilation cuts cost per inference by 20% on serverless, 2048 MB, "
                              "max concurrency 5")


def test_maximum_invocations_is_read_as_max_invocations_with_a_note() -> None:
    # The Developer Guide's results page prints 'MaximumInvocations': 648 (the API's key is MaxInvocations).
    item = _row()
    item["Metrics"] = {"CostPerHour": 0.115, "CostPerInference": 2.96e-06, "MaximumInvocations": 648,
                       "ModelLatency": 263596}
    notes: list[str] = []

    rec = Recommendation.from_ir(item, notes)

    assert rec.max_invocations == 648
    assert notes == ["Metrics.MaximumInvocations is read as MaxInvocations (the API's name; AWS's printed "
                     "examples use MaximumInvocations)"]


def test_unknown_metric_keys_are_reported_not_dropped_silently() -> None:
    job = read_job({"Status": "COMPLETED", "JobName": "j",
                    "InferenceRecommendations": [_row(GpuUtilization=40.0), _row(GpuUtilization=41.0)]})

    assert job.notes == ["Metrics.GpuUtilization is not a metric of the API's RecommendationMetrics; it is not shown"]


@pytest.mark.parametrize(("document", "message"), [
    # The SDK's session tests use this FAILED shape; the message is AWS's FailureReason.
    ({"JobName": "nr-xgb-1", "Status": "FAILED", "FailureReason": "Mock Failure Reason"},
     "job nr-xgb-1 is FAILED: Mock Failure Reason"),
    ({"JobName": "nr-xgb-1", "Status": "STOPPED"}, "job nr-xgb-1 is STOPPED"),
    ({"JobName": "nr-xgb-1", "Status": "IN_PROGRESS", "InferenceRecommendations": []}, "job nr-xgb-1 is IN_PROGRESS"),
])
def test_unfinished_and_failed_jobs_say_so(document: dict[str, Any], message: str) -> None:
    assert read_job(document).unfinished() == message


def test_endpoint_performances_become_baselines() -> None:
    # API reference, EndpointPerformance: {"EndpointInfo": {"EndpointName"}, "Metrics": {MaxInvocations, ModelLatency}}
    job = read_job({"Status": "COMPLETED", "JobName": "j", "EndpointPerformances": [
        {"Metrics": {"MaxInvocations": 300, "ModelLatency": 12}, "EndpointInfo": {"EndpointName": "prod-xgb"}}]})
    decision = decide(job.recommendations, baselines=job.baselines)

    assert job.recommendations == [] and len(job.baselines) == 1
    rows = decision_rows(decision)
    assert rows == [{"EndpointName": "prod-xgb", "InstanceType": "existing endpoint prod-xgb", "MaxInvocations": 300,
                     "ModelLatency": 12, "Baseline": True}]
    assert job.baselines[0].describe() == ("Baseline, existing endpoint prod-xgb: ModelLatency 12 ms, "
                                           "MaxInvocations 300/min")


@pytest.mark.parametrize(("document", "message"), [
    ({"JobName": "j"}, "has no InferenceRecommendations or EndpointPerformances list"),
    ({"Status": "DONE", "InferenceRecommendations": []}, "Status 'DONE' is not a job status"),
    ({"InferenceRecommendations": {"a": 1}}, "InferenceRecommendations must be a list"),
    ({"InferenceRecommendations": [{"Metrics": None}]}, r"InferenceRecommendations\[0\] is malformed: Metrics must"),
    ("text", "is str, not a describe"),
])
def test_malformed_documents_name_the_field(document: Any, message: str) -> None:
    with pytest.raises(MalformedResults, match=message):
        read_job(document)
