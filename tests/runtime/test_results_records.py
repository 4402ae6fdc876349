"""Stored results and the SNS message: item flags and sizes, round trips, subjects, attributes, budgets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from runtime.test_decision import MIXED, ir_item, recs

from neo_runtime import records
from neo_runtime.decision import Constraints, decide
from neo_runtime.ir_results import Baseline
from neo_runtime.notification import MESSAGE_BUDGET_BYTES, failure_message, success_message
from neo_runtime.ranking import Recommendation, compare_compiled, overall_comparison

SNS_LIMIT_BYTES = 256 * 1024
DYNAMODB_ITEM_LIMIT_BYTES = 400 * 1024


def plain(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def many(count: int) -> list[Recommendation]:
    """``count`` recommendations, half compiled, on count/2 instance types, with long environment strings."""
    items = []
    for index in range(count):
        compiled = index % 2 == 1
        item = ir_item(f"ml.c5.{index // 2}xlarge", 1e-6 + index * 1e-8 - (3e-7 if compiled else 0),
                       30 + index % 40, 1000 + index, compiled=compiled)
        item["ModelConfiguration"]["EnvironmentParameters"] = [
            {"Key": f"VARIABLE_{n}", "Value": "x" * 40, "ValueType": "str"} for n in range(5)]
        items.append(item)
    return recs(*items)


def summary_fields(decision: Any, failed: int = 0, findings: int = 0) -> dict[str, Any]:
    return {
        "status": "COMPLETED", "run_id": "r1", "model_name": "xgb", "job_name": "nr-xgb-r1",
        **records.decision_fields(decision),
        "failed_steps": [{"instance_type": "ml.c5.xlarge", "variant": "compiled", "failure_reason": "r" * 1000,
                          "category": "input shape", "advice": "a" * 400} for _ in range(failed)],
        "failed_step_count": failed, "neo_eligible": True,
        "findings": [{"severity": "warning", "field": "f" * 200, "message": "m" * 600, "action": "a" * 300,
                      "blocks_neo": False} for _ in range(findings)] or None,
    }


def test_recommendation_items_carry_the_decision_and_round_trip_exactly() -> None:
    decision = decide(MIXED, Constraints(max_latency_ms=40))
    items = [plain(item) for item in records.recommendation_items("r1", decision, {"expires_at": 123})]
    assert [item["sk"] for item in items] == [f"REC#{n:04d}" for n in range(1, 6)]
    assert [item["recommended"] for item in items] == [rec is decision.recommended for rec in decision.ranked]
    assert [item["pareto_optimal"] for item in items] == [decision.is_pareto(rec) for rec in decision.ranked]
    excluded = [item for item in items if not item["meets_constraints"]]
    assert excluded and all("ModelLatency" in item["violations"][0] for item in excluded)
    assert all(item["expires_at"] == 123 for item in items)
    assert [Recommendation.from_row(item) for item in items] == decision.ranked


def test_decision_fields_name_the_recommended_the_best_and_each_pair() -> None:
    decision = decide(MIXED, Constraints(max_latency_ms=40))
    fields = records.decision_fields(decision)
    assert fields["best"]["Rank"] == 1 and fields["best"]["InstanceType"] == "ml.c5.xlarge"
    assert fields["recommended"]["Rank"] == 2 and fields["recommended"]["InstanceType"] == "ml.c5.9xlarge"
    assert fields["constraints"] == {"MaxModelLatencyMs": 40}
    assert fields["excluded_count"] == 3 and fields["pareto_ranks"] == [1, 2, 5]
    (pair,) = fields["comparisons"]
    assert pair["instance_type"] == "ml.c5.xlarge"
    assert pair["cost_per_inference_change_percent"] == pytest.approx(-37.5)
    assert pair["model_latency_change_percent"] == pytest.approx(-17.31, abs=0.01)
    assert pair["max_invocations_change_percent"] == pytest.approx(58.46, abs=0.01)
    assert fields["comparison_overall"] == "Neo compilation cuts cost per inference by 38% on ml.c5.xlarge"


def test_overall_comparison_over_several_pairs() -> None:
    cheaper = recs(ir_item("ml.c5.xlarge", 8e-7, 50, 100), ir_item("ml.c5.xlarge", 6e-7, 40, 120, compiled=True),
                   ir_item("ml.m5.xlarge", 1e-6, 50, 100), ir_item("ml.m5.xlarge", 5e-7, 40, 120, compiled=True),
                   ir_item("ml.g4dn.xlarge", 1e-6, 9, 100), ir_item("ml.g4dn.xlarge", 2e-6, 9, 120, compiled=True))
    assert overall_comparison(compare_compiled(cheaper)) == (
        "Neo compilation cuts cost per inference on 2 of 3 configurations benchmarked both ways, "
        "most on ml.m5.xlarge (50%)")
    dearer = recs(ir_item("ml.c5.xlarge", 1e-7, 50, 100), ir_item("ml.c5.xlarge", 2e-7, 40, 120, compiled=True),
                  ir_item("ml.m5.xlarge", 1e-7, 50, 100), ir_item("ml.m5.xlarge", 3e-7, 40, 120, compiled=True))
    assert "on none of the 2" in str(overall_comparison(compare_compiled(dearer)))
    assert overall_comparison([]) is None


def test_two_hundred_recommendations_keep_every_item_far_below_the_limit() -> None:
    decision = decide(many(200), Constraints(max_latency_ms=31))
    items = records.recommendation_items("r1", decision)
    assert len(items) == 200 and max(records.item_size(item) for item in items) < 2048
    summary = records.fit_summary(summary_fields(decision, failed=200, findings=50))
    size = records.item_size(records.to_attribute_values(summary))
    assert size <= records.SUMMARY_BUDGET_BYTES < DYNAMODB_ITEM_LIMIT_BYTES
    assert summary["failed_step_count"] == 200 and summary["failed_steps_omitted"] > 0
    assert len(summary["failed_steps"]) + summary["failed_steps_omitted"] == 200
    assert summary["recommended"] is not None  # only lists are ever shortened


def test_item_size_matches_dynamodb_counting_for_simple_values() -> None:
    item = records.to_attribute_values({"pk": "RUN#1", "flag": True, "tags": ["ab", "c"], "n": 12345})
    # names 2+4+4+1; "RUN#1" 5; BOOL 1; list 3 + (1+2) + (1+1); number <= 5 digits -> 4
    assert records.item_size(item) == 11 + 5 + 1 + 8 + 4


def test_expiry_follows_the_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(records.RETENTION_ENV, raising=False)
    assert records.expiry_fields(now=1000) == {}
    monkeypatch.setenv(records.RETENTION_ENV, "0")
    assert records.expiry_fields(now=1000) == {}
    monkeypatch.setenv(records.RETENTION_ENV, "30")
    assert records.expiry_fields(now=1000) == {"expires_at": 1000 + 30 * 86400}


def _publish(decision: Any, **overrides: Any) -> dict[str, Any]:
    summary = records.fit_summary({**summary_fields(decision), **overrides})
    return success_message(summary, decision)


def test_success_message_has_a_text_and_a_json_version_with_the_same_facts() -> None:
    decision = decide(MIXED)
    params = _publish(decision)
    assert params["MessageStructure"] == "json"
    structure = json.loads(params["Message"])
    text, facts = structure["email"], json.loads(structure["default"])
    assert params["Subject"] == "xgb COMPLETED: ml.c5.xlarge x1 Neo-compiled, 5.00e-07 USD/inference - neo-recommender"
    assert text.splitlines()[3].startswith(
        "Recommended: ml.c5.xlarge x1, Neo-compiled by compilation job neo-ml.c5.xlarge")
    assert "Neo compilation cuts cost per inference by 38% on ml.c5.xlarge" in text
    assert facts["recommended"]["InstanceType"] == "ml.c5.xlarge" and facts["recommended"]["Compiled"] is True
    assert [row["Rank"] for row in facts["recommendations"]] == [1, 2, 3, 4, 5]
    assert facts["comparisons"][0]["cost_per_inference_change_percent"] == pytest.approx(-37.5)
    assert {name: value["StringValue"] for name, value in params["MessageAttributes"].items()} == {
        "model_name": "xgb", "status": "COMPLETED", "neo_eligible": "true"}


def test_the_email_names_the_existing_endpoints_baseline_and_the_reading_notes() -> None:
    # As read from the Developer Guide's existing-endpoint example (tests/realworld/describe).
    notes = ["Metrics.MaximumInvocations is read as MaxInvocations (the API's name; AWS's printed examples use "
             "MaximumInvocations)", "Metrics.PlaceHolder is not a metric of the API's RecommendationMetrics"]
    baseline = Baseline("endpoint-name", max_invocations=184, model_latency=1312)
    for decision in (decide(MIXED, baselines=[baseline]), decide([], baselines=[baseline])):
        structure = json.loads(_publish(decision, endpoint_performances=[baseline.to_dict()],
                                        reading_notes=notes)["Message"])
        text, facts = structure["email"], json.loads(structure["default"])

        assert baseline.describe() in text  # "Baseline, existing endpoint endpoint-name: ModelLatency 1312 ms, ..."
        assert all(note in text for note in notes)
        assert facts["endpoint_performances"] == [baseline.to_dict()] and facts["reading_notes"] == notes
    plain = json.loads(json.loads(_publish(decide(MIXED))["Message"])["default"])
    assert plain["endpoint_performances"] == [] and plain["reading_notes"] == []


def test_subjects_stay_ascii_and_under_100_characters() -> None:
    long_name = "m" * 48
    params = _publish(decide(recs(ir_item("ml.inf1.24xlarge", 1e-6, 20, 100, compiled=True, count=10))),
                      model_name=long_name)
    assert len(params["Subject"]) < 100 and params["Subject"].startswith(f"{long_name} COMPLETED: ml.inf1.24xlarge")
    unmet = _publish(decide(MIXED, Constraints(max_latency_ms=1)))
    assert unmet["Subject"] == "xgb COMPLETED: no configuration meets the constraints - neo-recommender"
    assert "No recommendation meets the constraints:" in json.loads(unmet["Message"])["email"]
    empty = _publish(decide([]))
    assert empty["Subject"] == "xgb COMPLETED: no recommendations - neo-recommender"


def test_two_hundred_recommendations_fit_one_sns_message() -> None:
    decision = decide(many(200))
    params = _publish(decision)
    size = len(params["Message"].encode()) + len(params["Subject"]) + 200
    assert size < SNS_LIMIT_BYTES and len(params["Message"].encode()) <= MESSAGE_BUDGET_BYTES
    structure = json.loads(params["Message"])
    facts = json.loads(structure["default"])
    assert len(facts["recommendations"]) + facts["recommendations_omitted"] == 200
    assert facts["recommendation_count"] == 200
    assert "... and 175 more: neo-recommender results --run r1" in structure["email"]


@pytest.mark.parametrize(("eligible", "attribute"), [(True, "true"), (False, "false"), (None, "unknown")])
def test_failure_message_is_its_own_and_filterable(eligible: bool | None, attribute: str) -> None:
    params = failure_message({
        "run_id": "r1", "model_name": "xgb", "bucket": "b", "key": "models/xgb/recommend.json", "version_id": "v1",
        "neo_eligible": eligible, "error": {"step": "CheckRecommendationJob", "type": "RecommendationJobFailed",
                                            "message": "container exited", "advice": "read the logs"}})
    assert params["Subject"] == "xgb FAILED in CheckRecommendationJob - neo-recommender"
    assert params["MessageAttributes"]["status"]["StringValue"] == "FAILED"
    assert params["MessageAttributes"]["neo_eligible"]["StringValue"] == attribute
    structure = json.loads(params["Message"])
    assert "Why: container exited" in structure["email"] and "What to do: read the logs" in structure["email"]
    assert json.loads(structure["default"])["submission"]["key"] == "models/xgb/recommend.json"


def test_metrics_ir_reports_as_nan_are_stored_as_absent() -> None:
    item = ir_item("ml.c5.xlarge", 8e-7, 52, 4160)
    item["Metrics"].update(CpuUtilization=float("nan"), MemoryUtilization=float("inf"), ModelSetupTime=12)
    rec = Recommendation.from_ir(item)
    assert rec.cpu_utilization is None and rec.memory_utilization is None and rec.model_setup_time == 12
    stored = plain(records.recommendation_item("r1", 1, rec))
    assert "cpu_utilization" not in stored and stored["model_setup_time"] == 12
    message = success_message(records.fit_summary(summary_fields(decide([rec]))), decide([rec]))["Message"]
    assert json.loads(json.loads(message)["default"], parse_constant=_no_constants)["recommendations"]


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} in JSON")


def test_identical_recommendations_keep_their_own_ranks() -> None:
    twins = recs(ir_item("ml.c5.xlarge", 5e-7, 40, 100), ir_item("ml.c5.xlarge", 5e-7, 40, 100),
                 ir_item("ml.m5.xlarge", 9e-7, 30, 100))
    decision = decide(twins)
    assert [decision.rank_of(rec) for rec in decision.ranked] == [1, 2, 3]
    fields = records.decision_fields(decision)
    assert fields["pareto_ranks"] == [1, 2, 3] and fields["recommended"]["Rank"] == 1
    items = [plain(item) for item in records.recommendation_items("r", decision)]
    assert [item["recommended"] for item in items] == [True, False, False]


def test_no_costs_is_its_own_outcome() -> None:
    decision = decide(recs(ir_item("ml.c5.xlarge", None, 40, 100), ir_item("ml.m5.xlarge", None, 30, 100)))
    assert decision.recommended is None and not decision.excluded
    assert decision.explanation() == ["No recommendation reports CostPerInference, so none can be recommended."]
    assert _publish(decision)["Subject"] == "xgb COMPLETED: no recommendation reports a cost - neo-recommender"


def test_missing_metrics_break_their_constraint_in_words() -> None:
    decision = decide(recs(ir_item("ml.c5.xlarge", 5e-7, None, None)),
                      Constraints(max_latency_ms=40, min_invocations_per_minute=10))
    (_, reasons), = decision.excluded
    assert reasons == ["ModelLatency not reported (MaxModelLatencyMs 40)",
                       "MaxInvocations not reported (MinInvocationsPerMinute 10)"]


def test_an_unchanged_cost_is_not_called_a_rise() -> None:
    (pair,) = compare_compiled(recs(ir_item("ml.c5.xlarge", 5e-7, 40, 100),
                                    ir_item("ml.c5.xlarge", 5e-7, 30, 120, compiled=True)))
    assert pair.summary() == "Neo compilation leaves cost per inference unchanged on ml.c5.xlarge (+0.0%)"


def test_environment_parameters_survive_a_round_trip_with_commas_and_equals() -> None:
    item = ir_item("ml.c5.xlarge", 5e-7, 40, 100)
    item["ModelConfiguration"]["EnvironmentParameters"] = [{"Key": "OPTS", "Value": "a,b=c", "ValueType": "str"}]
    rec = Recommendation.from_ir(item)
    assert Recommendation.from_row(plain(records.recommendation_item("r", 1, rec))) == rec


def test_huge_failure_reasons_in_any_script_still_fit_one_sns_message() -> None:
    decision = decide(many(200))
    failed = [{"instance_type": "ml.c5.xlarge", "variant": "compiled", "failure_reason": "失敗" * 500,
               "category": "input shape", "advice": "é" * 400} for _ in range(100)]
    findings = [{"severity": "warning", "field": "字" * 200, "message": "м" * 600, "action": "\"q\"" * 100,
                 "blocks_neo": True} for _ in range(50)]
    stored = _publish(decision, failed_steps=failed, failed_step_count=100, findings=findings)  # as stored
    unfitted = success_message({**summary_fields(decision), "failed_steps": failed, "failed_step_count": 100,
                                "findings": findings}, decision)  # the lists at full length
    for params in (stored, unfitted):
        assert len(params["Message"].encode()) <= MESSAGE_BUDGET_BYTES < SNS_LIMIT_BYTES
        facts = json.loads(json.loads(params["Message"])["default"])
        assert len(facts["failed_steps"]) + facts["failed_steps_omitted"] == facts["failed_step_count"] == 100
        assert len(facts["findings"]) + facts["findings_omitted"] == 50
    email = json.loads(unfitted["Message"])["email"]
    assert email.endswith("(cut to fit an e-mail; the whole run: neo-recommender results --run r1)")
    failure = failure_message({"run_id": "r1", "model_name": "xgb", "bucket": "b", "key": "k", "version_id": "v",
                               "error": {"step": "S", "type": "T", "message": "m", "advice": "a"},
                               "findings": findings * 4})
    assert len(failure["Message"].encode()) <= MESSAGE_BUDGET_BYTES
