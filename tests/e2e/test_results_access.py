"""The results table's access patterns, the SNS protocols and ``neo-recommender results``/``chart``.

Runs go through the deployed stack in the emulator, so the table (keys, indexes) and the topic
are the synthesized ones; queries go through moto's DynamoDB with botocore validation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neo_recommender import samples
from neo_recommender.cli import main, results
from neo_recommender.emulator.assembly import STACK_NAME
from neo_runtime.records import to_attribute_values

MODEL = "xgb-history"


@pytest.fixture(scope="module")
def runs(pipeline: Any) -> dict[str, Any]:
    """Two completed runs and one failed run of MODEL, one Neo-ineligible run of another model.

    Before the runs, two SQS queues subscribe to the topic with filter policies on the message
    attributes, and an e-mail address subscribes too.
    """
    sqs, sns = pipeline.aws.client("sqs"), pipeline.aws.client("sns")
    queues = {}
    for name, policy in (("eligible-completed", {"status": ["COMPLETED"], "neo_eligible": ["true"]}),
                         ("failures", {"status": ["FAILED"]})):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=pipeline.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn,
                      Attributes={"FilterPolicy": json.dumps(policy)})
        queues[name] = url
    sns.subscribe(TopicArn=pipeline.outputs["NotificationTopicArn"], Protocol="email", Endpoint="ml@example.com")

    first = pipeline.run(MODEL)
    second = pipeline.run(MODEL, samples.xgboost_manifest(
        MODEL, MaxModelLatencyMs=200, AllowedInstanceTypes=["ml.m4.2xlarge"]))  # a new version
    failed = pipeline.run(MODEL, samples.xgboost_manifest(MODEL, DataInputConfig={"data": [1, -50]}))
    other = pipeline.run("xgb-other", samples.xgboost_manifest(
        "xgb-other", Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/my-xgboost:1.2"))
    return {"first": first, "second": second, "failed": failed, "other": other, "queues": queues,
            "table": pipeline.outputs["ResultsTableName"], "dynamodb": pipeline.dynamodb, "sqs": sqs}


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_runs_end_as_expected(runs: dict[str, Any]) -> None:
    assert [runs[name].summary["status"] for name in ("first", "second", "failed", "other")] == [
        "COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]


def test_the_ranked_recommendations_of_a_run(runs: dict[str, Any]) -> None:
    run_id = runs["first"].summary["run_id"]
    rows = results.ranked_recommendations(runs["dynamodb"], runs["table"], run_id)
    assert [row["rank"] for row in rows] == list(range(1, 9))
    assert [row["sk"] for row in rows] == [f"REC#{rank:04d}" for rank in range(1, 9)]
    costs = [row["CostPerInference"] for row in rows]
    assert costs == sorted(costs)


def test_the_latest_runs_of_a_model_newest_first(runs: dict[str, Any]) -> None:
    found = results.runs_of_model(runs["dynamodb"], runs["table"], MODEL)
    expected = [runs[name].summary["run_id"] for name in ("failed", "second", "first")]
    assert [run["run_id"] for run in found] == expected
    assert [run["run_id"] for run in results.runs_of_model(runs["dynamodb"], runs["table"], MODEL, limit=1)] == \
        expected[:1]


def test_a_run_by_its_job_name_and_by_its_execution(runs: dict[str, Any]) -> None:
    summary = runs["second"].summary
    by_job = results.run_by_job_name(runs["dynamodb"], runs["table"], summary["job_name"])
    assert by_job is not None and by_job["run_id"] == summary["run_id"]
    by_execution = results.run_by_execution(runs["dynamodb"], runs["table"],
                                            runs["second"].execution["executionArn"])
    assert by_execution == summary
    assert results.run_by_job_name(runs["dynamodb"], runs["table"], "nr-no-such-job") is None


def test_runs_by_status(runs: dict[str, Any]) -> None:
    failed = results.runs_by_status(runs["dynamodb"], runs["table"], "FAILED", limit=50)
    assert runs["failed"].summary["run_id"] in [run["run_id"] for run in failed]
    assert all(run["status"] == "FAILED" for run in failed)
    completed = results.runs_by_status(runs["dynamodb"], runs["table"], "COMPLETED", limit=50)
    updated = [run["updated_at"] for run in completed]
    assert updated == sorted(updated, reverse=True)
    assert {runs[name].summary["run_id"] for name in ("first", "second", "other")} <= {
        run["run_id"] for run in completed}


def test_floats_are_stored_as_exact_decimals(runs: dict[str, Any], pipeline: Any) -> None:
    job = pipeline.aws.client("sagemaker").describe_inference_recommendations_job(
        JobName=runs["first"].summary["job_name"])
    measured = {item["RecommendationId"]: item["Metrics"]["CostPerInference"]
                for item in job["InferenceRecommendations"]}
    for row in runs["first"].rows:
        assert float(row["CostPerInference"]) == measured[row["recommendation_id"]]


def test_constraints_stored_on_the_run_rebuild_the_same_decision(runs: dict[str, Any]) -> None:
    summary, rows = runs["second"].summary, runs["second"].rows
    assert summary["constraints"] == {"MaxModelLatencyMs": 200, "AllowedInstanceTypes": ["ml.m4.2xlarge"]}
    decision = results.run_decision(summary, rows)
    assert decision.recommended is not None and decision.recommended.instance_type == "ml.m4.2xlarge"
    assert decision.ranked.index(decision.recommended) + 1 == summary["recommended"]["Rank"] > 1
    assert [rank for rank, rec in enumerate(decision.ranked, 1) if decision.is_pareto(rec)] == \
        summary["pareto_ranks"]


def test_sqs_subscribers_get_the_json_and_filter_on_attributes(runs: dict[str, Any]) -> None:
    eligible = _received(runs["sqs"], runs["queues"]["eligible-completed"])
    delivered = sorted(json.loads(envelope["Message"])["run_id"] for envelope in eligible)
    assert delivered == sorted(runs[name].summary["run_id"] for name in ("first", "second"))
    facts = json.loads(eligible[0]["Message"])
    assert facts["status"] == "COMPLETED" and facts["neo_eligible"] is True and facts["recommendations"]
    assert eligible[0]["MessageAttributes"]["neo_eligible"]["Value"] == "true"

    (failure,) = _received(runs["sqs"], runs["queues"]["failures"])
    failure_facts = json.loads(failure["Message"])
    assert failure_facts["status"] == "FAILED" and failure_facts["run_id"] == runs["failed"].summary["run_id"]
    assert failure_facts["findings"][0]["field"].startswith("DataInputConfig")


def test_email_subscribers_get_the_text_version(runs: dict[str, Any], pipeline: Any) -> None:
    from moto.sns.models import sns_backends

    backend = sns_backends["123456789012"]["us-east-1"]
    (email,) = [s for s in backend.subscriptions.values() if s.protocol == "email"]
    message = runs["other"].messages[0]
    text = email._parse_message_structure(message["message"], "email")
    assert text.startswith("Inference Recommender finished for model xgb-other.")
    assert "Recommended: " in text and "No compiled recommendations" in text
    assert message["attributes"]["neo_eligible"]["Value"] == "false"
    assert message["subject"].startswith("xgb-other COMPLETED: ml.")


def test_results_command_reads_the_stack_outputs(runs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    run_id = runs["first"].summary["run_id"]
    assert main(["results", "--run", run_id, "--stack", STACK_NAME, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["Rank"] for row in rows] == list(range(1, 9))
    assert rows[0]["Recommended"] is True and "CostPerInference" in rows[0]

    assert main(["results", "--job", runs["second"].summary["job_name"], "--table", runs["table"]]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Run {runs['second'].summary['run_id']}: {MODEL} COMPLETED")
    assert "ModelLatency" in out and "Cheaper but excluded" in out

    assert main(["results", "--model", MODEL, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("RunId,Status,ModelName") and len(lines) == 4

    assert main(["results", "--execution", runs["failed"].execution["executionArn"]]) == 0
    out = capsys.readouterr().out
    assert "FAILED" in out and "Failed in ValidateSubmission" in out and "DataInputConfig" in out

    assert main(["results", "--run", run_id, "--format", "markdown"]) == 0
    report = capsys.readouterr().out
    assert report.startswith(f"# Inference Recommender results: {MODEL}") and "## Compiled vs uncompiled" in report


def test_results_command_says_what_is_wrong(runs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["results", "--run", "no-such-run", "--table", runs["table"]]) == 1
    assert "no run found" in capsys.readouterr().err
    # AWS's refusals have an exit code of their own (3), apart from usage errors (2).
    assert main(["results", "--run", "x", "--stack", "NoSuchStack"]) == 3
    assert "check --stack/--table" in capsys.readouterr().err
    assert main(["results", "--run", "x", "--table", "no-such-table"]) == 3
    assert "ResourceNotFoundException" in capsys.readouterr().err
    assert main(["results", "--run", "x", "--profile", "no-such-profile"]) == 3
    assert "no-such-profile" in capsys.readouterr().err


def test_chart_of_a_stored_run(runs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "run.svg"
    assert main(["chart", "--run", runs["first"].summary["run_id"], "-o", str(output)]) == 0
    assert "8 recommendations" in capsys.readouterr().out
    text = output.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def _submission_folder(folder: Path, model_name: str, **overrides: Any) -> Path:
    """A user's submission folder: recommend.json with the sample model and payload next to it."""
    folder.mkdir()
    (folder / "model.tar.gz").write_bytes(samples.xgboost_model_archive())
    (folder / "payload.tar.gz").write_bytes(samples.csv_payload_archive())
    (folder / "recommend.json").write_text(json.dumps(samples.xgboost_manifest(model_name, **overrides)))
    return folder


def _folder_contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_submit_uploads_manifest_last_and_follows_the_run_to_its_results(
        pipeline: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _submission_folder(tmp_path / "submission", "xgb-submitted")
    before = _folder_contents(folder)
    assert main(["submit", str(folder), "--wait", "--interval", "0.05"]) == 0
    out = capsys.readouterr().out
    uploads = [line.split()[1] for line in out.splitlines() if line.startswith("  uploaded ")]
    assert uploads == ["model.tar.gz", "payload.tar.gz", "recommend.json"]  # the manifest, which starts the run, last
    run_id = out.split("Submitted run ")[1].split()[0]
    summary = results.run_summary(pipeline.dynamodb, pipeline.outputs["ResultsTableName"], run_id)
    assert summary is not None and summary["status"] == "COMPLETED"  # the run id is the pipeline's own
    followed = [line for line in out.splitlines() if line.startswith(f"run {run_id}")]
    statuses = [line.split(" · ")[1] for line in followed if " · " in line]
    assert statuses[-1] == "COMPLETED" and statuses.index("COMPLETED") == len(statuses) - 1
    assert set(statuses) <= {"VALIDATING", "REGISTERING", "QUEUED", "RUNNING", "COMPLETED"}
    assert "in all" in followed[-1]
    assert f"Run {run_id}: xgb-submitted COMPLETED" in out and "CostPerInference" in out
    assert "Recommended: " in out
    assert _folder_contents(folder) == before  # what the user submitted is never changed


def test_submit_refuses_an_invalid_submission_and_uploads_nothing(
        pipeline: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _submission_folder(tmp_path / "invalid", "xgb-refused", DataInputConfig={"data": [1, -50]})
    assert main(["submit", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "DataInputConfig" in captured.err and "nothing was uploaded" in captured.err
    prefix = f"{pipeline.outputs['WatchedPrefix']}xgb-refused/"
    listed = pipeline.s3.list_objects_v2(Bucket=pipeline.bucket, Prefix=prefix)
    assert listed.get("KeyCount") == 0


def test_submit_force_uploads_anyway_and_the_failed_run_exits_1(
        pipeline: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _submission_folder(tmp_path / "forced", "xgb-forced", DataInputConfig={"data": [1, -50]})
    assert main(["submit", str(folder), "--force", "--wait", "--interval", "0.05"]) == 1
    out = capsys.readouterr().out
    assert "xgb-forced FAILED" in out and "Failed in ValidateSubmission" in out


def test_submit_without_archives_says_which_flag_to_give(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _submission_folder(tmp_path / "no-model", "xgb-no-model")
    (folder / "model.tar.gz").unlink()
    assert main(["submit", str(folder)]) == 2
    assert "give --model FILE" in capsys.readouterr().err


def test_status_tells_where_a_run_is(runs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    run_id = runs["first"].summary["run_id"]
    assert main(["status", run_id]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"run {run_id} · COMPLETED · {MODEL} · ") and line.endswith(" in all")

    assert main(["status", runs["failed"].summary["run_id"], "--format", "json"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["status"] == "FAILED" and details["error"]["step"] == "ValidateSubmission"
    assert details["model_package_arn"] is None  # it failed before registering
    assert details["elapsed_seconds"] >= 0

    # A RUNNING run's line carries its IR job's status, as SageMaker (the IR simulator) describes it.
    job_name = runs["first"].summary["job_name"]
    running = {"status": "RUNNING", "model_name": MODEL, "job_name": job_name, "created_at": "2026-12-01T00:00:00Z",
               "updated_at": "2026-12-01T00:00:00Z"}
    runs["dynamodb"].put_item(TableName=runs["table"], Item={
        "pk": {"S": "RUN#still-running"}, "sk": {"S": "SUMMARY"}, **to_attribute_values(running)})
    assert main(["status", "still-running"]) == 0
    assert f" · RUNNING · {MODEL} · job {job_name} COMPLETED · " in capsys.readouterr().out

    assert main(["status", "no-such-run"]) == 1
    assert "no run no-such-run" in capsys.readouterr().err
    assert main(["status", run_id, "--stack", "NoSuchStack"]) == 3
