"""The recommendation written into the model package version: within SageMaker's limits, never refused."""

from __future__ import annotations

import re

import botocore.session

from neo_runtime.decision import Constraints, decide
from neo_runtime.ranking import Recommendation
from neo_runtime.registry_metadata import ALLOWED, MAX_ENTRIES, metadata_properties

_SHAPE = botocore.session.get_session().get_service_model("sagemaker").shape_for("CustomerMetadataMap")


def _rec(instance: str, cost: float, latency: int, invocations: int, compiled: bool = False,
         serverless: bool = False) -> Recommendation:
    endpoint = ({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}} if serverless
                else {"InstanceType": instance, "InitialInstanceCount": 1})
    return Recommendation.from_ir({
        "RecommendationId": f"{instance}-{compiled}-{cost}",
        "Metrics": {"CostPerHour": 0.204, "CostPerInference": cost, "MaxInvocations": invocations,
                    "ModelLatency": latency},
        "EndpointConfiguration": {"EndpointName": "sm-epc-1", "VariantName": "v", **endpoint},
        "ModelConfiguration": {"CompilationJobName": "neo-c48cc9200a"} if compiled else {},
    })


def _check_limits(properties: dict[str, str]) -> None:
    """botocore's sizes, and the pattern SageMaker enforces on the server (its ASCII part)."""
    assert 1 <= len(properties) <= _SHAPE.metadata["max"] == MAX_ENTRIES
    for key, value in properties.items():
        assert _SHAPE.key.metadata["min"] <= len(key) <= _SHAPE.key.metadata["max"], key
        assert _SHAPE.value.metadata["min"] <= len(value) <= _SHAPE.value.metadata["max"], value
        assert ALLOWED.fullmatch(key) and ALLOWED.fullmatch(value), (key, value)
    assert _SHAPE.key.metadata["pattern"].startswith(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)")


def test_the_recommended_configuration_and_its_neo_pair() -> None:
    plain = _rec("ml.c5.xlarge", 8.173e-07, 52, 4160)
    neo = _rec("ml.c5.xlarge", 5.158e-07, 43, 6592, compiled=True)
    decision = decide([plain, neo], Constraints(None, None, ()))
    properties = metadata_properties(decision, "22fc65e0ceab440ecc3a", "nr-xgb-churn-22fc65e0ceab", "Results-Table",
                                     "2026-12-01T03:00:00+00:00")
    _check_limits(properties)
    assert properties["neo-recommender:recommended"] == "ml.c5.xlarge"
    assert properties["neo-recommender:recommended-instance-count"] == "1"
    assert properties["neo-recommender:recommended-compiled"] == "true"
    assert properties["neo-recommender:recommended-compilation-job"] == "neo-c48cc9200a"
    assert properties["neo-recommender:recommended-cost-per-inference"] == "5.158e-07"
    assert properties["neo-recommender:recommended-model-latency-ms"] == "43"
    assert properties["neo-recommender:recommended-max-invocations-per-minute"] == "6592"
    assert properties["neo-recommender:neo-cost-per-inference-change-percent"] == "-36.9"
    assert properties["neo-recommender:run-id"] == "22fc65e0ceab440ecc3a"
    assert properties["neo-recommender:completed-at"] == "2026-12-01T03:00:00+00:00"
    assert properties["neo-recommender:rank-01"] == ("ml.c5.xlarge x1 neo cost/inference=5.158e-07 latency-ms=43 "
                                                     "max/min=6592 cost/hour=0.204")
    assert properties["neo-recommender:rank-02"].startswith("ml.c5.xlarge x1 uncompiled ")


def test_a_long_table_is_cut_to_50_entries_and_says_where_the_rest_is() -> None:
    rows = [_rec(f"ml.c5.{n}xlarge", 1e-6 + n * 1e-8, 40 + n, 1000 + n) for n in range(80)]
    properties = metadata_properties(decide(rows, Constraints(None, None, ())), "r1", "nr-j", "t", None)
    _check_limits(properties)
    assert len(properties) == MAX_ENTRIES
    shown = [key for key in properties if re.fullmatch(r"neo-recommender:rank-\d+", key)]
    assert properties["neo-recommender:rank-more"] == f"{80 - len(shown)} more ranked rows in the results table run r1"
    assert "neo-recommender:completed-at" not in properties  # nothing is written for a missing value


def test_serverless_rows_and_characters_sagemaker_refuses_are_made_safe() -> None:
    serverless = _rec("", 2e-6, 80, 300, serverless=True)
    decision = decide([serverless], Constraints(200.0, None, ()))
    properties = metadata_properties(decision, "r(1)", "job,1", "table%", None)
    _check_limits(properties)
    assert properties["neo-recommender:recommended"] == "serverless 2048 MB max concurrency 5"
    assert (properties["neo-recommender:run-id"], properties["neo-recommender:job-name"]) == ("r 1", "job 1")


def test_no_configuration_meets_the_constraints() -> None:
    decision = decide([_rec("ml.c5.xlarge", 1e-6, 50, 100)], Constraints(1.0, None, ()))
    properties = metadata_properties(decision, "r", "j", "t", None)
    _check_limits(properties)
    assert properties["neo-recommender:recommended"] == "none: no configuration meets the manifest s constraints"
