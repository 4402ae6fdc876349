"""Constraints, the Pareto frontier, the recommended configuration, and the output formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from neo_recommender.cli import main
from neo_runtime.decision import Constraints, decide, pareto_frontier
from neo_runtime.formats import decision_rows, render
from neo_runtime.ranking import TABLE_COLUMNS, Recommendation


def ir_item(instance: str, cost: float | None, latency: int | None, invocations: int | None,
            compiled: bool = False, count: int = 1) -> dict[str, Any]:
    metrics = {k: v for k, v in (("CostPerInference", cost), ("ModelLatency", latency),
                                 ("MaxInvocations", invocations), ("CostPerHour", 0.2)) if v is not None}
    model: dict[str, Any] = {"EnvironmentParameters": [{"Key": "OMP_NUM_THREADS", "Value": "4", "ValueType": "str"}]}
    if compiled:
        model.update(InferenceSpecificationName=f"neo-{instance}", CompilationJobName=f"neo-{instance}")
    return {"RecommendationId": f"{instance}-{compiled}-{count}", "Metrics": metrics, "ModelConfiguration": model,
            "EndpointConfiguration": {"EndpointName": f"ep-{instance}-{int(compiled)}", "InstanceType": instance,
                                      "InitialInstanceCount": count}}


def recs(*items: dict[str, Any]) -> list[Recommendation]:
    return [Recommendation.from_ir(item) for item in items]


MIXED = recs(
    ir_item("ml.c5.xlarge", 8e-7, 52, 4160),
    ir_item("ml.c5.xlarge", 5e-7, 43, 6592, compiled=True),
    ir_item("ml.c5.9xlarge", 7.5e-7, 35, 40826, compiled=True),
    ir_item("ml.m5.xlarge", 9e-7, 60, 3000),
    ir_item("ml.g4dn.xlarge", 2e-6, 12, 20000),
)


def test_ties_break_on_latency_then_throughput_and_missing_metrics_sort_last() -> None:
    ranked = decide(recs(ir_item("a", 1e-6, 50, 100), ir_item("b", 1e-6, 40, 100), ir_item("c", 1e-6, 40, 200),
                         ir_item("d", None, 10, 999), ir_item("e", 1e-6, None, 100))).ranked
    assert [r.instance_type for r in ranked] == ["c", "b", "a", "e", "d"]


def test_pareto_frontier_keeps_only_configurations_nothing_beats_on_cost_and_latency() -> None:
    frontier = pareto_frontier(MIXED)
    assert [(r.instance_type, r.compiled) for r in frontier] == [
        ("ml.c5.xlarge", True), ("ml.c5.9xlarge", True), ("ml.g4dn.xlarge", False)]


def test_the_cheapest_row_meeting_every_constraint_is_recommended() -> None:
    decision = decide(MIXED, Constraints(max_latency_ms=40))
    assert decision.recommended is not None and decision.recommended.instance_type == "ml.c5.9xlarge"
    assert "Cheaper but excluded: ml.c5.xlarge (compiled): ModelLatency 43 ms > 40 ms" in decision.explanation()


def test_no_row_meets_the_constraints_says_which_excluded_what() -> None:
    decision = decide(MIXED, Constraints(max_latency_ms=5, allowed_instance_types=("ml.c5.xlarge",)))
    assert decision.recommended is None
    lines = decision.explanation()
    assert lines[0] == "No recommendation meets the constraints:"
    assert "- ml.m5.xlarge (uncompiled): ModelLatency 60 ms > 5 ms; ml.m5.xlarge is not in AllowedInstanceTypes" \
        in lines


@pytest.mark.parametrize("only_compiled", [True, False])
def test_only_one_variant_gives_no_comparison(only_compiled: bool) -> None:
    decision = decide(recs(ir_item("ml.c5.xlarge", 5e-7, 43, 6592, compiled=only_compiled),
                           ir_item("ml.c5.2xlarge", 6e-7, 40, 9000, compiled=only_compiled)))
    assert decision.comparisons == [] and decision.recommended is not None
    assert decision.recommended.compiled is only_compiled


def test_an_empty_list() -> None:
    decision = decide([])
    assert decision.recommended is None and decision.pareto == []
    assert decision.explanation() == ["Inference Recommender returned no recommendations."]
    assert json.loads(render(decision_rows(decision), "json")) == []


def test_two_hundred_recommendations() -> None:
    many = recs(*[ir_item(f"ml.c5.{i}xlarge", 1e-6 + i * 1e-9, 100 - i % 50, 1000 + i, compiled=i % 2 == 0)
                  for i in range(200)])
    decision = decide(many, Constraints(min_invocations_per_minute=1100))
    assert len(decision.ranked) == 200 and decision.recommended is not None
    assert decision.recommended.max_invocations >= 1100
    assert all(rec.max_invocations < 1100 for rec in decision.ranked[:decision.rank_of(decision.recommended) - 1])
    # Brute force: on the frontier exactly when nothing is at least as good on both and better on one.
    for rec in decision.ranked:
        dominated = any(o.cost_per_inference <= rec.cost_per_inference and o.model_latency <= rec.model_latency
                        and (o.cost_per_inference, o.model_latency) != (rec.cost_per_inference, rec.model_latency)
                        for o in decision.ranked)
        assert decision.is_pareto(rec) is not dominated


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_every_format_keeps_the_rank_order_and_the_column_names(fmt: str) -> None:
    decision = decide(MIXED)
    text = render(decision_rows(decision), fmt, decision.explanation())
    names = [r.endpoint_name for r in decision.ranked]
    expected = decision_rows(decision)
    if fmt == "json":
        rows = json.loads(text)
        assert rows == expected  # every value of every row survives the round trip
        assert [row["EndpointName"] for row in rows] == names and set(TABLE_COLUMNS) <= set(rows[0])
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [row["EndpointName"] for row in rows] == names
        assert list(rows[0])[:len(TABLE_COLUMNS)] == list(TABLE_COLUMNS)
        for row, want in zip(rows, expected, strict=True):
            assert {key: value for key, value in row.items()} == {
                key: "" if want.get(key) is None else str(want[key]) for key in row}
    else:
        positions = [text.index(name) for name in names]
        assert positions == sorted(positions) and all(column in text for column in TABLE_COLUMNS)
        assert "Recommended: ml.c5.xlarge x1 (Neo-compiled by compilation job neo-ml.c5.xlarge)" in text


def test_rank_command_reads_a_boto3_response_dumped_as_json(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    describe = {"JobName": "j", "Status": "COMPLETED", "CreationTime": "2026-11-25T10:00:00+00:00",
                "InferenceRecommendations": [ir_item("ml.c5.xlarge", 8e-7, 52, 4160),
                                             ir_item("ml.c5.xlarge", 5e-7, 43, 6592, compiled=True)],
                "ResponseMetadata": {"HTTPStatusCode": 200}}
    path = tmp_path / "describe.json"
    path.write_text(json.dumps(describe))
    assert main(["rank", str(path), "--format", "json", "--max-latency-ms", "50"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["InferenceSpecificationName"], row["Recommended"]) for row in rows] == [
        ("neo-ml.c5.xlarge", True), (None, False)]
    assert main(["rank", str(path), "--json", "--max-latency-ms", "50"]) == 0  # the alias every --format has
    assert json.loads(capsys.readouterr().out) == rows
    assert main(["rank", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Neo compilation cuts cost per inference by 38% on ml.c5.xlarge" in out


def test_rank_command_reads_irs_nan_metrics_as_the_cli_prints_them(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # `aws sagemaker describe-inference-recommendations-job` prints what botocore parsed: the JSON protocol's "NaN"
    # string for a metric IR could not measure. Reading it raised "must be a number, not 'NaN'".
    rows = [ir_item("ml.c5.xlarge", 8e-7, 52, 4160), ir_item("ml.c5.xlarge", 5e-7, 43, 6592, compiled=True)]
    rows[0]["Metrics"].update(CpuUtilization="NaN", MemoryUtilization="NaN", ModelSetupTime="NaN")
    path = tmp_path / "describe.json"
    path.write_text(json.dumps({"JobName": "j", "Status": "COMPLETED", "InferenceRecommendations": rows}))
    assert main(["rank", str(path), "--format", "json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert [row["InferenceSpecificationName"] for row in ranked] == ["neo-ml.c5.xlarge", None]
    assert "NaN" not in json.dumps(ranked)


@pytest.mark.parametrize(("content", "args"), [
    ("not json", []), ('{"JobName": "j"}', []), ("{}", ["--max-latency-ms", "-1"]),
    ("{}", ["--max-latency-ms", "nan"]), ("{}", ["--min-invocations", "inf"]),
    ('{"InferenceRecommendations": [{"Metrics": null}]}', []),
    ('{"InferenceRecommendations": [{"Metrics": {"CostPerInference": "cheap"}}]}', []),
    ('{"InferenceRecommendations": [{"EndpointConfiguration": {"InitialInstanceCount": "two"}}]}', []),
    ('{"InferenceRecommendations": [{"ModelConfiguration": {"EnvironmentParameters": [{"Value": "1"}]}}]}', []),
])
def test_rank_usage_errors_exit_2(content: str, args: list[str], tmp_path: Path) -> None:
    path = tmp_path / "describe.json"
    path.write_text(content)
    try:
        code = main(["rank", str(path), *args])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
