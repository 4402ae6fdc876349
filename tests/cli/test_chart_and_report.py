"""``neo-recommender chart`` (PNG and SVG checked as images) and the Markdown report."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from runtime.test_decision import ir_item, recs

from neo_recommender.cli import main
from neo_recommender.cli.chart import nothing_to_plot
from neo_recommender.cli.report import markdown_report
from neo_runtime import records
from neo_runtime.decision import Constraints, decide
from neo_runtime.ir_results import Baseline
from neo_runtime.ranking import Recommendation

DESCRIBE = {"JobName": "nr-xgb-1", "Status": "COMPLETED", "InferenceRecommendations": [
    ir_item("ml.c5.xlarge", 8e-7, 52, 4160), ir_item("ml.c5.xlarge", 5e-7, 43, 6592, compiled=True),
    ir_item("ml.c5.9xlarge", 9.1e-7, 52, 33469), ir_item("ml.c5.9xlarge", 7.5e-7, 35, 40826, compiled=True),
    ir_item("ml.m4.2xlarge", 1.7e-6, 68, 5545), ir_item("ml.g4dn.xlarge", 2e-6, 12, 20000)]}


@pytest.fixture
def describe_file(tmp_path: Path) -> Path:
    path = tmp_path / "describe.json"
    path.write_text(json.dumps(DESCRIBE))
    return path


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after checking the signature and chunk type)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_chart_is_a_valid_image_of_sensible_size(describe_file: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out" / "chart.png"
    assert main(["chart", str(describe_file), "-o", str(output), "--max-latency-ms", "50"]) == 0
    assert "6 of 6 recommendations plotted" in capsys.readouterr().out
    data = output.read_bytes()
    width, height = png_size(data)
    assert 800 <= width <= 2000 and 500 <= height <= 1500
    assert 10_000 < len(data) < 1_000_000
    assert data.endswith(b"IEND\xaeB`\x82")


def test_svg_chart_labels_every_instance_and_the_legend(describe_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "chart.svg"
    assert main(["chart", str(describe_file), "-o", str(output), "--title", "xgb"]) == 0
    root = ElementTree.parse(output).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = output.read_text()
    for label in ("ml.c5.xlarge", "ml.c5.9xlarge", "ml.m4.2xlarge", "ml.g4dn.xlarge", "Pareto frontier",
                  "recommended", "Neo-compiled", "uncompiled"):
        assert f"<!-- {label}" in text, label
    assert 5_000 < output.stat().st_size < 2_000_000


@pytest.mark.parametrize(("args", "message"), [
    ([], "give either a describe JSON file or --run"),
    (["-o", "chart.gif"], "the chart is written as .png or .svg"),
    (["-o", "/proc/no/such/dir/chart.png"], "cannot write"),
])
def test_chart_usage_errors_exit_2(args: list[str], message: str, describe_file: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["chart", "-o", "chart.png"] if not args else ["chart", str(describe_file), *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_chart_without_matplotlib_names_the_extra(describe_file: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["chart", str(describe_file), "-o", str(tmp_path / "c.png")]) == 2
    assert "pip install 'neo-recommender[chart]'" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_markdown_report_of_a_completed_run() -> None:
    decision = decide([Recommendation.from_ir(item) for item in DESCRIBE["InferenceRecommendations"]],
                      Constraints(max_latency_ms=50))
    summary = {"run_id": "r1", "model_name": "xgb", "job_name": "nr-xgb-1", "status": "COMPLETED",
               "neo_eligible": True, **records.decision_fields(decision),
               "failed_steps": [{"instance_type": "ml.m4.2xlarge", "variant": "compiled", "failure_reason": "bad op",
                                 "category": "unsupported operator", "advice": "replace the operator"}]}
    report = markdown_report(summary, decision, "chart.png")
    assert report.startswith("# Inference Recommender results: xgb\n")
    assert "**ml.c5.xlarge x1, Neo-compiled by compilation job neo-ml.c5.xlarge" in report
    assert "| ml.c5.xlarge | 1 | 8.000e-07 → 5.000e-07 | -37.5% | 52 → 43 | -17.3% | 4160 → 6592 | +58.5% |" in report
    assert "- Constraints: `MaxModelLatencyMs` 50" in report
    assert "![Cost per inference vs model latency](chart.png)" in report
    assert "| **1** | **ml.c5.xlarge** |" in report
    assert ("- ml.m4.2xlarge (compiled): bad op\n"
            "  - Neo compilation error, unsupported operator: replace the operator") in report


def test_markdown_report_of_a_failed_run() -> None:
    summary = {"run_id": "r2", "model_name": "xgb", "status": "FAILED", "bucket": "b",
               "key": "models/xgb/recommend.json", "version_id": "v1",
               "error": {"step": "ValidateSubmission", "message": "DataInputConfig: bad", "advice": "fix it"},
               "findings": [{"severity": "error", "field": "DataInputConfig", "message": "bad", "action": "fix it",
                             "blocks_neo": False}]}
    report = markdown_report(summary, decide([]))
    assert "## Failure" in report and "- Step: ValidateSubmission" in report
    assert "- **error** `DataInputConfig`: bad. What to do: fix it" in report
    assert "## Ranked recommendations" not in report


def test_rows_that_cannot_be_plotted_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    describe = {"InferenceRecommendations": [ir_item("ml.c5.xlarge", 8e-7, 52, 4160),
                                             ir_item("ml.m5.xlarge", 1e-7, None, 100)]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(describe))
    assert main(["chart", str(path), "-o", str(tmp_path / "c.svg")]) == 0
    assert "1 of 2 recommendations plotted; 1 without cost or latency not plotted" in capsys.readouterr().out


def test_constraint_flags_do_not_apply_to_a_stored_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chart", "--run", "r1", "-o", "c.png", "--max-latency-ms", "5"]) == 2
    assert "its own constraints" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["rank", "chart"])
def test_a_failed_job_exits_1_with_awss_failure_reason(command: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # The output of describe-inference-recommendations-job for a FAILED job: no InferenceRecommendations.
    path = tmp_path / "failed.json"
    path.write_text(json.dumps({"JobName": "nr-xgb-1", "Status": "FAILED", "FailureReason": "Mock Failure Reason"}))
    output = tmp_path / "c.png"
    args = [command, str(path)] + (["-o", str(output)] if command == "chart" else [])

    assert main(args) == 1
    err = capsys.readouterr().err
    assert "job nr-xgb-1 is FAILED: Mock Failure Reason" in err and "describe-inference-recommendations-job)" not in err
    assert not output.exists()


def test_a_chart_with_nothing_to_plot_fails_and_writes_nothing(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "baseline-only.json"
    path.write_text(json.dumps({"JobName": "j", "Status": "COMPLETED", "EndpointPerformances": [
        {"Metrics": {"MaxInvocations": 300, "ModelLatency": 12}, "EndpointInfo": {"EndpointName": "prod-xgb"}}]}))
    output = tmp_path / "c.png"

    assert main(["chart", str(path), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert "only the baseline of existing endpoint prod-xgb" in err and "0 recommendation(s)" not in err
    assert not output.exists()
    assert main(["rank", str(path)]) == 0
    out = capsys.readouterr().out
    assert "existing endpoint prod-xgb" in out and "Baseline, existing endpoint prod-xgb: ModelLatency 12 ms" in out


def test_nothing_to_plot_names_the_baseline_rather_than_zero_recommendations() -> None:
    baseline = Baseline("prod-xgb", max_invocations=300, model_latency=12)

    message = nothing_to_plot(decide([], baselines=[baseline]))
    assert message is not None and "existing endpoint prod-xgb" in message and "0 recommendation" not in message
    no_cost = ir_item("ml.c5.xlarge", None, 20, 100)
    assert "none of the 1 recommendation(s) reports both" in (nothing_to_plot(decide(recs(no_cost))) or "")
    assert nothing_to_plot(decide(recs(ir_item("ml.c5.xlarge", 1e-6, 20, 100)))) is None


def test_the_chart_labels_serverless_points_and_draws_the_baseline(tmp_path: Path) -> None:
    serverless = ir_item("ml.c5.xlarge", 9e-7, 60, 500)
    serverless["EndpointConfiguration"] = {"EndpointName": "sm-epc-s", "ServerlessConfig": {"MemorySizeInMB": 2048,
                                                                                          "MaxConcurrency": 5}}
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"JobName": "j", "Status": "COMPLETED",
                                "InferenceRecommendations": [ir_item("ml.c5.xlarge", 8e-7, 52, 4160), serverless],
                                "EndpointPerformances": [{"Metrics": {"MaxInvocations": 300, "ModelLatency": 12},
                                                          "EndpointInfo": {"EndpointName": "prod-xgb"}}]}))
    output = tmp_path / "c.svg"
    assert main(["chart", str(path), "-o", str(output)]) == 0
    svg = output.read_text()
    assert "serverless, 2048 MB, max concurrency 5" in svg and "existing endpoint prod-xgb: 12 ms" in svg
