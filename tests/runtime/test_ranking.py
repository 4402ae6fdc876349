"""Ranking, compiled-vs-uncompiled pairing, the table, and DynamoDB items."""

from __future__ import annotations

from decimal import Decimal

from neo_runtime.ranking import TABLE_COLUMNS, Recommendation, compare_compiled, format_table, rank
from neo_runtime.records import recommendation_item


def _rec(instance: str, cost: float | None, latency: int | None, invocations: int | None,
         compiled: bool = False) -> Recommendation:
    return Recommendation.from_ir({
        "RecommendationId": f"{instance}-{compiled}",
        "Metrics": {k: v for k, v in {"CostPerHour": 0.2, "CostPerInference": cost, "MaxInvocations": invocations,
                                      "ModelLatency": latency}.items() if v is not None},
        "EndpointConfiguration": {"EndpointName": "sm-epc-1", "VariantName": "v", "InstanceType": instance,
                                  "InitialInstanceCount": 1},
        "ModelConfiguration": ({"InferenceSpecificationName": "neo-1", "CompilationJobName": "neo-1"}
                               if compiled else {}),
    })


def test_rank_by_cost_then_latency_then_throughput_missing_metrics_last() -> None:
    a = _rec("ml.c5.xlarge", 1e-6, 50, 100)
    b = _rec("ml.c5.2xlarge", 1e-6, 40, 100)
    c = _rec("ml.m5.xlarge", 1e-6, 40, 200)
    d = _rec("ml.m4.xlarge", None, 10, 500)
    e = _rec("ml.c4.xlarge", 5e-7, 90, 10)
    assert rank([a, b, c, d, e]) == [e, c, b, a, d]
    assert rank([]) == []


def test_compiled_variants_pair_with_their_uncompiled_twin() -> None:
    plain, neo = _rec("ml.c5.xlarge", 1e-6, 50, 100), _rec("ml.c5.xlarge", 8.6e-7, 40, 120, compiled=True)
    lonely = _rec("ml.m5.xlarge", 2e-6, 60, 100, compiled=True)
    (pair,) = compare_compiled([plain, neo, lonely])
    assert pair.uncompiled is plain and pair.compiled is neo
    assert round(pair.cost_change_percent) == -14 and round(pair.latency_change_percent) == -20
    assert round(pair.throughput_change_percent) == 20
    assert pair.summary() == "Neo compilation cuts cost per inference by 14% on ml.c5.xlarge"
    assert neo.compiled and not plain.compiled


def test_table_has_the_expected_columns_and_none_for_uncompiled() -> None:
    table = format_table(rank([_rec("ml.c5.xlarge", 1e-6, 50, 100), _rec("ml.c5.xlarge", 9e-7, 40, 120, True)]))
    header, _, first, second = table.splitlines()
    assert [c.strip() for c in header.split("|")] == list(TABLE_COLUMNS)
    assert first.rstrip().endswith("neo-1") and second.rstrip().endswith("None")


def test_dynamodb_items_store_floats_as_exact_decimals() -> None:
    item = recommendation_item("run1", 3, _rec("ml.c5.xlarge", 1.2e-06, 50, 100, compiled=True))
    assert item["pk"] == {"S": "RUN#run1"} and item["sk"] == {"S": "REC#0003"}
    assert Decimal(item["CostPerInference"]["N"]) == Decimal("0.0000012")
    assert item["compiled"] == {"BOOL": True} and "EnvironmentParameters" not in item
