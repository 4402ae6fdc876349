"""End to end through the embedded emulator: real template, definition and handlers; simulated IR."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from neo_recommender import samples
from neo_runtime.ir_results import read_job
from neo_runtime.ranking import Recommendation, rank

REALWORLD = Path(__file__).parents[1] / "realworld" / "describe"

# Fault plans are keyed by model package group: the pipeline names it "nr-<ModelName>".


def _email_and_json(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    structure = json.loads(message["message"])
    return structure["email"], json.loads(structure["default"])


def test_happy_path_ranks_compiled_beside_uncompiled_and_publishes(pipeline: Any) -> None:
    outcome = pipeline.run("xgb-churn")

    assert outcome.execution["status"] == "SUCCEEDED"
    summary = outcome.summary
    assert summary["status"] == "COMPLETED" and summary["model_name"] == "xgb-churn"
    assert summary["neo_eligible"] is True
    rows = outcome.rows
    costs = [row["CostPerInference"] for row in rows]
    assert costs == sorted(costs) and len(rows) == summary["recommendation_count"] == 8
    compiled = {row["InstanceType"] for row in rows if row.get("InferenceSpecificationName")}
    uncompiled = {row["InstanceType"] for row in rows if not row.get("InferenceSpecificationName")}
    assert compiled == uncompiled == {"ml.m4.2xlarge", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.9xlarge"}
    assert all(str(row["InferenceSpecificationName"]).startswith("neo-") for row in rows if row["compiled"])
    for row in rows:
        expected = row["CostPerHour"] / (row["MaxInvocations"] * 60)
        assert abs(float(row["CostPerInference"]) - float(expected)) <= 1e-12
    assert summary["best"]["InstanceType"] == rows[0]["InstanceType"]
    # No constraints: the recommended configuration is the cheapest, and it is the only item marked so.
    assert summary["recommended"] == summary["best"] and summary["recommended"]["Rank"] == 1
    assert [row["rank"] for row in rows if row["recommended"]] == [1]
    assert all(row["meets_constraints"] for row in rows) and summary.get("constraints") is None
    assert summary["pareto_ranks"] == [row["rank"] for row in rows if row["pareto_optimal"]]
    assert 1 in summary["pareto_ranks"]
    pairs = summary["comparisons"]
    assert sorted(pair["instance_type"] for pair in pairs) == sorted(compiled)
    by_id = {row["recommendation_id"]: row for row in rows}
    for pair in pairs:
        before, after = by_id[pair["uncompiled_recommendation_id"]], by_id[pair["compiled_recommendation_id"]]
        assert not before["compiled"] and after["compiled"]
        change = (after["CostPerInference"] - before["CostPerInference"]) / before["CostPerInference"] * 100
        assert abs(float(pair["cost_per_inference_change_percent"]) - float(change)) < 0.01
        assert pair["summary"].startswith("Neo compilation ")
    assert summary["comparison_overall"].startswith("Neo compilation cuts cost per inference on ")

    (message,) = outcome.messages
    best = rows[0]
    variant = "Neo-compiled" if best["compiled"] else "uncompiled"
    assert message["subject"].startswith(f"xgb-churn COMPLETED: {best['InstanceType']} x1 {variant}, ")
    assert message["attributes"]["status"]["Value"] == "COMPLETED"
    assert message["attributes"]["neo_eligible"]["Value"] == "true"
    email, facts = _email_and_json(message)
    assert "CostPerInference" in email and "Compiled vs uncompiled:" in email and "Pareto frontier" in email
    assert facts["recommended"]["InstanceType"] == rows[0]["InstanceType"]
    assert [r["InstanceType"] for r in facts["recommendations"]] == [r["InstanceType"] for r in rows]
    assert facts["comparisons"][0]["cost_per_inference_change_percent"] is not None

    # The recommendation beside the model, in the model registry (UpdateModelPackage, as the role may).
    package = pipeline.aws.client("sagemaker").describe_model_package(ModelPackageName=summary["model_package_arn"])
    metadata = package["CustomerMetadataProperties"]
    assert summary["registry_entries"] == len(metadata) and "registry_error" not in summary
    assert metadata["neo-recommender:recommended"] == rows[0]["InstanceType"]
    assert metadata["neo-recommender:recommended-compiled"] == str(bool(rows[0]["compiled"])).lower()
    assert metadata["neo-recommender:run-id"] == summary["run_id"]
    assert metadata["neo-recommender:rank-01"].startswith(f"{rows[0]['InstanceType']} x1 ")
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # untouched


def test_every_step_logs_json_lines_with_its_request_id_and_the_run_id(pipeline: Any) -> None:
    outcome = pipeline.run("xgb-logged")
    run_id = outcome.summary["run_id"]
    logging = pipeline.aws.lambdas.logging
    steps = {}
    for function_name in list(logging.lines):
        starts = [line["record"]["requestId"] for line in logging.lines[function_name]
                  if isinstance(line, dict) and line.get("type") == "platform.start"]
        for record in logging.records(function_name):
            if record.get("run_id") == run_id:
                assert record["requestId"] in starts  # the id of the invocation that wrote it
                steps[record["step"]] = record
    assert {"ValidateSubmission", "RegisterModel", "StartRecommendationJob", "PublishResults"} <= set(steps)
    valid = steps["ValidateSubmission"]
    assert (valid["level"], valid["message"], valid["model_name"]) == ("INFO", "submission valid", "xgb-logged")
    assert steps["PublishResults"]["recommendations"] == 8

    # The pipeline's own metrics: embedded-metric-format lines the functions print (neo_runtime.metrics).
    records = logging.metrics()
    assert records and all(record["Pipeline"] == pipeline.name_prefix for record in records)
    of_run = {metric["Name"]: record[metric["Name"]] for record in records if record.get("run_id") == run_id
              for directive in record["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]}
    assert set(of_run) == {"RunsStarted", "RunsCompleted", "JobDurationSeconds", "CompiledRecommendations",
                           "NeoSavingPercent"}
    assert of_run["RunsStarted"] == of_run["RunsCompleted"] == 1 and of_run["CompiledRecommendations"] == 4
    assert of_run["JobDurationSeconds"] > 0 and 0 < of_run["NeoSavingPercent"] < 100
    assert any("RunningJobs" in record for record in records)  # the shared poller's count on each pass
    # The dashboard graphs them, and shows the alarms that exist in the account.
    cloudwatch = pipeline.aws.client("cloudwatch")
    (entry,) = cloudwatch.list_dashboards()["DashboardEntries"]
    body = json.loads(cloudwatch.get_dashboard(DashboardName=entry["DashboardName"])["DashboardBody"])
    shown = {arn for widget in body["widgets"] for arn in widget["properties"].get("alarms", [])}
    assert shown == {alarm["AlarmArn"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]} and len(shown) == 3


def test_a_run_waits_on_the_shared_poller_which_turns_itself_off(pipeline: Any) -> None:
    passes_before = pipeline.aws.lambdas.invocations["neo_runtime.handlers.watch_jobs.handler"]
    outcome = pipeline.run("xgb-watched")

    # Eight states, however long the job ran: the run's token waited on the watch list meanwhile.
    assert outcome.states_entered() == ["ValidateSubmission", "DuplicateEvent?", "RegisterModel",
                                        "StartRecommendationJob", "JobStarted?", "AwaitRecommendationJob",
                                        "PublishResults", "RunCompleted"]
    assert pipeline.aws.lambdas.invocations["neo_runtime.handlers.watch_jobs.handler"] > passes_before
    # With no job left to watch, the poller turned its schedule off and the watch list is empty.
    events = pipeline.aws.client("events")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        schedules = [rule for rule in events.list_rules()["Rules"] if "ScheduleExpression" in rule]
        if all(rule["State"] == "DISABLED" for rule in schedules):
            break
        time.sleep(0.05)
    assert [rule["State"] for rule in schedules] == ["DISABLED"]
    watched = pipeline.dynamodb.query(TableName=pipeline.outputs["ResultsTableName"],
                                      KeyConditionExpression="pk = :pk",
                                      ExpressionAttributeValues={":pk": {"S": "JOB_WATCH"}})["Items"]
    assert watched == []


def test_constraints_from_the_manifest_choose_the_recommended_configuration(pipeline: Any) -> None:
    manifest = samples.xgboost_manifest("xgb-constrained", AllowedInstanceTypes=["ml.c5.2xlarge", "ml.c5.9xlarge"],
                                        MinInvocationsPerMinute=1000)
    outcome = pipeline.run("xgb-constrained", manifest)

    assert outcome.execution["status"] == "SUCCEEDED"
    summary, rows = outcome.summary, outcome.rows
    assert summary["constraints"] == {"MinInvocationsPerMinute": 1000,
                                      "AllowedInstanceTypes": ["ml.c5.2xlarge", "ml.c5.9xlarge"]}
    meeting = [row for row in rows if row["InstanceType"] in ("ml.c5.2xlarge", "ml.c5.9xlarge")
               and row["MaxInvocations"] >= 1000]
    assert summary["recommended"]["Rank"] == meeting[0]["rank"]
    assert [row["rank"] for row in rows if row["recommended"]] == [meeting[0]["rank"]]
    excluded = [row for row in rows if not row["meets_constraints"]]
    assert summary["excluded_count"] == len(excluded) > 0
    assert all(any("AllowedInstanceTypes" in reason or "MaxInvocations" in reason for reason in row["violations"])
               for row in excluded)
    email, facts = _email_and_json(outcome.messages[0])
    assert "Constraints: MinInvocationsPerMinute 1000, AllowedInstanceTypes ml.c5.2xlarge, ml.c5.9xlarge" in email
    assert facts["constraints"] == summary["constraints"]


def test_uploaded_objects_are_never_modified_or_deleted(pipeline: Any) -> None:
    pipeline.run("xgb-untouched")
    listed = pipeline.s3.list_object_versions(Bucket=pipeline.bucket, Prefix="models/xgb-untouched/")
    assert sorted(v["Key"] for v in listed["Versions"]) == [
        "models/xgb-untouched/model.tar.gz", "models/xgb-untouched/payload.tar.gz",
        "models/xgb-untouched/recommend.json"]
    assert not listed.get("DeleteMarkers")
    body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key="models/xgb-untouched/model.tar.gz")["Body"].read()
    assert body == samples.xgboost_model_archive()


def test_neo_ineligible_submission_gets_uncompiled_rows_and_the_reason(pipeline: Any) -> None:
    manifest = samples.xgboost_manifest(
        "xgb-own-image", Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/my-xgboost:1.2")
    outcome = pipeline.run("xgb-own-image", manifest)

    assert outcome.execution["status"] == "SUCCEEDED"
    assert outcome.rows and not any(row["compiled"] for row in outcome.rows)
    assert outcome.summary["compiled_count"] == 0 and outcome.summary["neo_eligible"] is False
    assert "not a SageMaker-owned container" in outcome.summary["neo_ineligible_reasons"][0]
    (finding,) = outcome.summary["findings"]
    assert finding["field"] == "Image" and finding["blocks_neo"] and finding["severity"] == "warning"
    email, _ = _email_and_json(outcome.messages[0])
    assert "No compiled recommendations" in email and "111122223333" in email
    assert finding["action"] in email


def test_failed_job_is_recorded_and_announced_with_irs_reason(pipeline: Any) -> None:
    pipeline.aws.recommender.faults.fail_jobs["nr-xgb-fails"] = "ClientError: the container exited with code 1"
    outcome = pipeline.run("xgb-fails")

    assert outcome.execution["status"] == "FAILED"
    error = outcome.summary["error"]
    assert outcome.summary["status"] == "FAILED"
    assert error["step"] == "AwaitRecommendationJob" and error["type"] == "RecommendationJobFailed"
    assert "the container exited with code 1" in error["message"]
    assert "FailureReason" in error["advice"]
    (message,) = outcome.messages
    assert message["subject"] == "xgb-fails FAILED in AwaitRecommendationJob - neo-recommender"
    assert message["attributes"]["neo_eligible"]["Value"] == "true"
    email, facts = _email_and_json(message)
    assert "the container exited with code 1" in email and facts["status"] == "FAILED"


def test_failed_compilation_keeps_uncompiled_rows_and_lists_the_failed_steps(pipeline: Any) -> None:
    pipeline.aws.recommender.faults.fail_compilation["nr-xgb-nocompile"] = "Unsupported operator in graph"
    outcome = pipeline.run("xgb-nocompile")

    assert outcome.execution["status"] == "SUCCEEDED"
    assert outcome.rows and not any(row["compiled"] for row in outcome.rows)
    failed = outcome.summary["failed_steps"]
    assert failed and all(step["variant"] == "compiled" for step in failed)
    assert all("Unsupported operator in graph" in step["failure_reason"] for step in failed)
    assert {step["category"] for step in failed} == {"Unsupported operator (compilation error)"}
    email, _ = _email_and_json(outcome.messages[0])
    assert "Failed benchmarks" in email and "Remove or replace the operators Neo does not support" in email


@pytest.mark.parametrize(("model_name", "manifest", "expected"), [
    ("not-json", b"{this is not json", ["recommend.json: is not valid JSON"]),
    ("wrong-fields", {**samples.xgboost_manifest("wrong-fields"), "Framework": "xgboost",
                      "DataInputConfig": {"data": [1, -50]}, "Colour": "blue"},
     ["Framework: must be one of", "DataInputConfig.data[1]: must be at least 1", "Colour: is not a known field"]),
])
def test_malformed_manifest_fails_in_the_first_step_with_every_finding(
        pipeline: Any, model_name: str, manifest: Any, expected: list[str]) -> None:
    jobs_before = len(pipeline.aws.recommender.jobs())
    outcome = pipeline.run(model_name, manifest)

    assert outcome.execution["status"] == "FAILED"
    error = outcome.summary["error"]
    assert error["step"] == "ValidateSubmission" and error["type"] == "SubmissionInvalid"
    for text in expected:
        assert text in error["message"]
    assert len(pipeline.aws.recommender.jobs()) == jobs_before
    recorded = [f"{f['field']}: {f['message']}" for f in outcome.summary["findings"]]
    assert all(any(line.startswith(text) for line in recorded) for text in expected), recorded
    assert len(recorded) == len(expected)
    email, facts = _email_and_json(outcome.messages[0])
    assert all(text in email for text in expected)
    assert facts["findings"] == outcome.summary["findings"]
    # Failed in the first state: validation, the rejection, and the failure path; nothing else ran.
    assert outcome.states_entered() == ["ValidateSubmission", "DuplicateEvent?", "SubmissionRejected",
                                         "ValidateSubmissionFailed", "RecordFailure", "RunFailed"]


def test_bad_archive_contents_fail_fast_with_the_findings(pipeline: Any) -> None:
    outcome = pipeline.run("xgb-header", payload=samples.tar_gz({"sample.csv": b"age,income\n1,2\n"}),
                           model=samples.tar_gz({"xgboost.model": b"b", "../escape": b"x"}))

    assert outcome.execution["status"] == "FAILED"
    fields = {f["field"]: f for f in outcome.summary["findings"] if f["severity"] == "error"}
    assert set(fields) == {"ModelArchive:../escape", "PayloadArchive:sample.csv"}
    assert "non-numeric value 'age'" in fields["PayloadArchive:sample.csv"]["message"]
    assert not [job for job in pipeline.aws.recommender.jobs() if "xgb-header" in str(job)]
    email, _ = _email_and_json(outcome.messages[0])
    assert "PayloadArchive:sample.csv" in email and "ModelArchive:../escape" in email


def test_missing_archive_fails_fast_naming_the_field(pipeline: Any) -> None:
    outcome = pipeline.run("xgb-nopayload", skip=("payload.tar.gz",))

    assert outcome.execution["status"] == "FAILED"
    error = outcome.summary["error"]
    assert error["step"] == "ValidateSubmission"
    assert "PayloadArchive: s3://" in error["message"] and "does not exist" in error["message"]
    assert "ModelArchive" not in error["message"]


def test_same_event_delivered_twice_runs_one_job(pipeline: Any) -> None:
    first = pipeline.run("xgb-twice")
    messages_before = len(pipeline.messages())
    event = json.loads(first.execution["input"])

    pipeline.aws.wiring.start_execution(pipeline.outputs["StateMachineArn"], event)
    finished = pipeline.aws.wait_for_executions(pipeline.outputs["StateMachineArn"],
                                                count=len(pipeline.executions()))
    second = finished[-1]

    assert second["status"] == "SUCCEEDED"
    assert json.loads(second["output"])["submission"] == {"duplicate": True,
                                                         "run_id": first.summary["run_id"]}
    jobs = [job for job in pipeline.aws.recommender.jobs() if job["JobName"].startswith("nr-xgb-twice")]
    assert len(jobs) == 1
    assert len(pipeline.messages()) == messages_before
    assert pipeline.outcome(first.execution).summary["execution_arn"] == first.execution["executionArn"]


def test_a_new_version_of_the_same_manifest_is_a_new_run(pipeline: Any) -> None:
    first = pipeline.run("xgb-versions")
    second = pipeline.run("xgb-versions")
    assert first.summary["run_id"] != second.summary["run_id"]
    assert second.execution["status"] == "SUCCEEDED"


def test_uploads_that_are_not_manifests_under_the_prefix_start_nothing(pipeline: Any) -> None:
    before = set(pipeline.executions())
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key="models/xgb-archive-only/model.tar.gz", Body=b"x")
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key="elsewhere/xgb/recommend.json", Body=b"{}")
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key="models/xgb/recommend.json.bak", Body=b"{}")
    assert set(pipeline.executions()) == before


def test_a_full_account_quota_makes_the_run_wait_not_fail(pipeline: Any) -> None:
    """IR answers ResourceLimitExceeded (other workloads fill the account's quota): the run waits and retries."""
    pipeline.aws.recommender.faults.resource_limit = 3
    outcome = pipeline.run("xgb-quota")
    assert outcome.execution["status"] == "SUCCEEDED" and outcome.summary["status"] == "COMPLETED"
    assert outcome.states_entered().count("WaitForQuota") == 3
    assert outcome.summary["queue_reason"] == "ResourceLimitExceeded"
    assert [job["JobName"] for job in pipeline.aws.recommender.jobs()].count(outcome.summary["job_name"]) == 1


@pytest.mark.parametrize(("folder", "model_name"), [
    ("my model v2", "hostile-spaces"),
    ("模型-ü-ñ", "hostile-unicode"),
    ("a+b=c&d", "hostile-plus"),
    ("100% done", "hostile-percent"),
    ("x" * 200, "hostile-long"),
])
def test_unusual_folder_names_are_data_not_paths(pipeline: Any, folder: str, model_name: str) -> None:
    """Spaces, unicode, '+', '%' and long names in the key run like any other submission."""
    outcome = pipeline.run(folder, samples.xgboost_manifest(model_name))
    assert outcome.execution["status"] == "SUCCEEDED", outcome.summary.get("error")
    assert outcome.summary["key"] == f"models/{folder}/recommend.json" and outcome.summary["model_name"] == model_name
    package = pipeline.aws.client("sagemaker").describe_model_package(
        ModelPackageName=outcome.summary["model_package_arn"])
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].endswith(f"/{folder}/model.tar.gz")


@pytest.mark.parametrize(("folder", "field", "text"), [
    ("..", "ModelArchive", "'..' segments"),
    ("y" * 1000, "ModelArchive", "SageMaker accepts at most 1024"),
])
def test_keys_that_cannot_be_used_safely_are_rejected_with_the_field(pipeline: Any, folder: str, field: str,
                                                                     text: str) -> None:
    jobs_before = len(pipeline.aws.recommender.jobs())
    outcome = pipeline.run(folder, samples.xgboost_manifest(f"hostile-{len(folder)}"))
    assert outcome.execution["status"] == "FAILED" and outcome.summary["error"]["type"] == "SubmissionInvalid"
    assert any(f["field"] == field and text in f["message"] for f in outcome.summary["findings"])
    assert len(pipeline.aws.recommender.jobs()) == jobs_before


def test_a_url_encoded_key_in_the_event_is_read_by_its_version(pipeline: Any) -> None:
    """S3's notification formats may URL-encode keys: the pipeline finds the object the version id names."""
    put = pipeline.upload("encoded model", samples.xgboost_manifest("hostile-encoded"))
    event = json.loads(pipeline.outcome(pipeline.aws.wait_for_executions(
        pipeline.outputs["StateMachineArn"], count=len(pipeline.executions()))[-1]).execution["input"])
    event["detail"]["object"]["key"] = "models/encoded+model/recommend.json"
    event["detail"]["object"]["version-id"] = put["VersionId"]
    before = set(pipeline.executions())
    pipeline.aws.wiring.start_execution(pipeline.outputs["StateMachineArn"], event)
    finished = pipeline.aws.wait_for_executions(pipeline.outputs["StateMachineArn"], count=len(before) + 1)
    (execution,) = [e for e in finished if e["executionArn"] not in before]
    outcome = pipeline.outcome(execution)
    assert execution["status"] == "SUCCEEDED", outcome.summary.get("error")
    assert outcome.summary["model_name"] == "hostile-encoded"


@pytest.mark.parametrize("case", ["docs-serverless-as-printed-compiled-string",
                                  "docs-neo-compiled-table-inference-spec-none",
                                  "docs-existing-endpoint-endpointperformances"])
def test_recorded_ir_outputs_replayed_through_the_whole_pipeline(pipeline: Any, case: str) -> None:
    # A describe output from AWS's documentation (tests/realworld) is what the IR simulator returns for this job:
    # the pipeline's own reading of it is stored, announced and read back.
    recorded = json.loads((REALWORLD / f"{case}.json").read_text())["response"]
    model = f"replay-{len(case)}-{case.split('-')[1]}"
    pipeline.aws.recommender.faults.replay[pipeline.group(model)] = recorded
    outcome = pipeline.run(model)

    assert outcome.execution["status"] == "SUCCEEDED" and outcome.summary["status"] == "COMPLETED"
    expected = read_job(recorded)
    stored = [Recommendation.from_row(row) for row in outcome.rows]
    assert sorted(rec.label for rec in stored) == sorted(rec.label for rec in expected.recommendations)
    assert [rec.compiled for rec in stored] == [rec.compiled for rec in rank(expected.recommendations)]
    assert outcome.summary["recommendation_count"] == len(expected.recommendations)
    baselines = outcome.summary.get("endpoint_performances") or []
    assert [b["endpoint_name"] for b in baselines] == [b.endpoint_name for b in expected.baselines]
    email, facts = _email_and_json(outcome.messages[0])
    assert (outcome.summary["recommended"] or {}).get("InstanceType", "") in email
    # The e-mail names the existing endpoint's baseline, and the JSON carries it with the run's notes on reading the
    # output (none here: the service sends the API's names, as the simulator does, where the docs print others).
    assert all(baseline.describe() in email for baseline in expected.baselines)
    assert facts["endpoint_performances"] == [baseline.to_dict() for baseline in expected.baselines]
    notes = outcome.summary.get("reading_notes") or []
    assert facts["reading_notes"] == notes and all(note in email for note in notes)
