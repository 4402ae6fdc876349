"""Handlers against moto (and the IR simulator), every request validated by botocore."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from neo_recommender import samples
from neo_recommender.emulator.clock import SimulatedClock
from neo_recommender.emulator.ir_simulator import InferenceRecommenderSimulator
from neo_recommender.emulator.moto_fidelity import MotoFidelity
from neo_runtime import aws, errors
from neo_runtime.handlers import check_job, record_failure, register_model, start_job, validate_submission

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:sm:one"
OTHER_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:sm:two"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    fidelity = MotoFidelity()  # DynamoDB's refusal of an empty index key, which moto misses through #names
    fidelity.install()
    with mock_aws(), InferenceRecommenderSimulator(SimulatedClock(speedup=10_000),
                                                   job_duration_seconds=600) as simulator:
        aws.reset_clients()
        s3, dynamodb, sns = boto3.client("s3"), boto3.client("dynamodb"), boto3.client("sns")
        s3.create_bucket(Bucket="submissions")
        s3.put_bucket_versioning(Bucket="submissions", VersioningConfiguration={"Status": "Enabled"})
        dynamodb.create_table(TableName="runs", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                         {"AttributeName": "sk", "KeyType": "RANGE"}],
                              AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                                                    for name in ("pk", "sk", "model_name", "created_at")],
                              # The stack's ByModel index: DynamoDB refuses an empty string as its key.
                              GlobalSecondaryIndexes=[{
                                  "IndexName": "ByModel", "Projection": {"ProjectionType": "ALL"},
                                  "KeySchema": [{"AttributeName": "model_name", "KeyType": "HASH"},
                                                {"AttributeName": "created_at", "KeyType": "RANGE"}]}])
        topic = sns.create_topic(Name="runs")["TopicArn"]
        for key, value in {"TABLE_NAME": "runs", "TOPIC_ARN": topic, "WATCHED_PREFIX": "models/",
                           "JOB_NAME_PREFIX": "nr-", "MODEL_PACKAGE_GROUP_PREFIX": "nr-",
                           "COMPILED_OUTPUT_PREFIX": "neo-compiled/",
                           "RECOMMENDER_ROLE_ARN": "arn:aws:iam::123456789012:role/ir"}.items():
            monkeypatch.setenv(key, value)
        yield {"s3": s3, "dynamodb": dynamodb, "simulator": simulator}
        aws.reset_clients()
    fidelity.uninstall()


def _event(s3: Any, model: str = "xgb", manifest: bytes | None = None) -> dict[str, Any]:
    folder = f"models/{model}/"
    s3.put_object(Bucket="submissions", Key=folder + "model.tar.gz", Body=samples.xgboost_model_archive())
    s3.put_object(Bucket="submissions", Key=folder + "payload.tar.gz", Body=samples.csv_payload_archive())
    put = s3.put_object(Bucket="submissions", Key=folder + "recommend.json",
                        Body=manifest or json.dumps(samples.xgboost_manifest(model)).encode())
    return {"detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "submissions"},
                       "object": {"key": folder + "recommend.json", "version-id": put["VersionId"]}}}


def _summary(dynamodb: Any, run_id: str) -> dict[str, Any]:
    return dynamodb.get_item(TableName="runs", Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "SUMMARY"}})["Item"]


def test_validate_claims_the_run_once_and_recognises_duplicates(env: dict[str, Any]) -> None:
    event = _event(env["s3"])
    first = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    assert first["duplicate"] is False and first["model_data_url"].endswith("/models/xgb/model.tar.gz")
    again = validate_submission.handler({"event": event, "execution_arn": EXECUTION})  # a retried Lambda
    assert again["duplicate"] is False
    other = validate_submission.handler({"event": event, "execution_arn": OTHER_EXECUTION})
    assert other == {"duplicate": True, "run_id": first["run_id"]}
    assert _summary(env["dynamodb"], first["run_id"])["execution_arn"]["S"] == EXECUTION


def test_validate_reports_a_manifest_deleted_before_it_was_read(env: dict[str, Any]) -> None:
    event = _event(env["s3"])
    env["s3"].delete_object(Bucket="submissions", Key="models/xgb/recommend.json",
                            VersionId=event["detail"]["object"]["version-id"])
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    assert submission["valid"] is False
    (finding,) = submission["validation"]["findings"]
    assert finding["field"] == "recommend.json"
    assert "was deleted before the pipeline could read it" in finding["message"]


def test_register_then_start_is_idempotent_for_the_same_run(env: dict[str, Any]) -> None:
    submission = validate_submission.handler({"event": _event(env["s3"]), "execution_arn": EXECUTION})
    package = register_model.handler({"submission": submission})
    described = boto3.client("sagemaker").describe_model_package(ModelPackageName=package["model_package_arn"])
    assert described["ModelPackageStatus"] == "Completed"
    assert described["InferenceSpecification"]["Containers"][0]["Framework"] == "XGBOOST"
    register_model.handler({"submission": submission})  # the group already exists: fine

    request = {"submission": submission, "model_package": package, "execution_arn": EXECUTION}
    first = start_job.handler(request)
    second = start_job.handler(request)  # a retry after a lost response reuses the job
    assert (first["job_name"], first["job_arn"]) == (second["job_name"], second["job_arn"])
    assert len(env["simulator"].jobs()) == 1
    assert _summary(env["dynamodb"], submission["run_id"])["status"]["S"] == "RUNNING"


def test_check_job_stops_the_job_at_the_deadline(env: dict[str, Any]) -> None:
    submission = validate_submission.handler({"event": _event(env["s3"]), "execution_arn": EXECUTION})
    env["simulator"].job_duration_seconds = 10**9
    job = start_job.handler({"submission": submission, "model_package": register_model.handler(
        {"submission": submission}), "execution_arn": EXECUTION})
    status = check_job.handler({"run_id": "r", "job": job})
    assert status == {**job, "status": status["status"]} and status["status"] in ("PENDING", "IN_PROGRESS")
    with pytest.raises(errors.RecommendationJobTimedOut, match="still (PENDING|IN_PROGRESS) at the run's deadline"):
        check_job.handler({"run_id": "r", "job": {**job, "deadline_at": job["started_at"]}})
    described = boto3.client("sagemaker").describe_inference_recommendations_job(JobName=job["job_name"])
    assert described["Status"] in ("STOPPING", "STOPPED")


def test_record_failure_keeps_the_input_and_explains(env: dict[str, Any]) -> None:
    event = _event(env["s3"], manifest=b"not json")
    state = {**event, "failed_step": {"step": "ValidateSubmission"}, "error": {
        "Error": "SubmissionInvalid",
        "Cause": json.dumps({"errorType": "SubmissionInvalid", "errorMessage": "recommend.json: is not valid JSON"})}}
    summary = record_failure.handler({"state": state, "execution_arn": EXECUTION})
    assert summary["error"] == {"type": "SubmissionInvalid", "step": "ValidateSubmission",
                                "message": "recommend.json: is not valid JSON",
                                "advice": errors.SubmissionInvalid.advice}
    stored = _summary(env["dynamodb"], summary["run_id"])
    assert stored["status"]["S"] == "FAILED" and stored["key"]["S"] == "models/xgb/recommend.json"
    assert env["s3"].get_object(Bucket="submissions", Key="models/xgb/recommend.json")["Body"].read() == b"not json"


def test_record_failure_does_not_overwrite_a_run_owned_by_another_execution(env: dict[str, Any]) -> None:
    event = _event(env["s3"])
    owner = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    state = {**event, "failed_step": {"step": "ValidateSubmission"},
             "error": {"Error": "States.Timeout", "Cause": "timed out"}}
    record_failure.handler({"state": state, "execution_arn": OTHER_EXECUTION})
    assert _summary(env["dynamodb"], owner["run_id"])["status"]["S"] == "REGISTERING"


def test_failure_description_of_service_errors() -> None:
    described = record_failure.describe_error({"Error": "States.TaskFailed", "Cause": "boom"}, "PublishResults")
    assert described["step"] == "PublishResults" and "uploading recommend.json again" in described["advice"]


def test_validate_reads_only_the_head_of_a_large_model(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_submission, "WORKFLOW_MODEL_READ_BYTES", 256 * 1024)
    event = _event(env["s3"])
    big = samples.tar_gz({"xgboost.model": os.urandom(1024 * 1024)})
    env["s3"].put_object(Bucket="submissions", Key="models/xgb/model.tar.gz", Body=big)
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    assert submission["valid"] is True, submission["validation"]
    inspected = submission["validation"]["inspected"]["ModelArchive"]
    assert inspected == f"s3://submissions/models/xgb/model.tar.gz: listed the first 262144 of {len(big)} bytes, " \
                        "1 file(s) so far"


def test_validate_returns_every_finding_and_records_nothing_as_registering(env: dict[str, Any]) -> None:
    manifest = json.dumps(samples.xgboost_manifest("xgb", Colour="red", DataInputConfig={"data": [1, 0]})).encode()
    event = _event(env["s3"], manifest=manifest)
    env["s3"].put_object(Bucket="submissions", Key="models/xgb/payload.tar.gz", Body=b"not an archive")
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    assert submission["valid"] is False and submission["model_name"] == "xgb"
    fields = [finding["field"] for finding in submission["validation"]["findings"]]
    assert fields == ["DataInputConfig.data[1]", "Colour", "PayloadArchive"]
    assert "The submission has 3 problem(s)" in submission["error_message"]
    assert _summary(env["dynamodb"], submission["run_id"])["status"]["S"] == "VALIDATING"


def test_publish_results_stores_the_decision_with_an_expiry(env: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from neo_runtime.handlers import publish_results

    monkeypatch.setenv("RESULTS_RETENTION_DAYS", "7")
    manifest = json.dumps(samples.xgboost_manifest("xgb", MaxModelLatencyMs=45)).encode()
    submission = validate_submission.handler({"event": _event(env["s3"], manifest=manifest),
                                              "execution_arn": EXECUTION})
    assert submission["manifest"]["max_model_latency_ms"] == 45
    job = start_job.handler({"submission": submission, "model_package": register_model.handler(
        {"submission": submission}), "execution_arn": EXECUTION})
    for _ in range(200):
        status = check_job.handler({"run_id": "r", "job": job})
        if status["status"] == "COMPLETED":
            break
        time.sleep(0.01)
    started = time.time()
    outcome = publish_results.handler({"submission": submission, "job": job, "execution_arn": EXECUTION})

    items = env["dynamodb"].query(TableName="runs", KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues={":pk": {"S": f"RUN#{submission['run_id']}"}})["Items"]
    assert len(items) == outcome["recommendation_count"] + 1
    for item in items:
        assert abs(int(item["expires_at"]["N"]) - (started + 7 * 86400)) < 60
    summary = _summary(env["dynamodb"], submission["run_id"])
    assert summary["constraints"]["M"] == {"MaxModelLatencyMs": {"N": "45"}}
    recommended = [item for item in items if item.get("recommended", {}).get("BOOL")]
    assert len(recommended) == 1 and int(recommended[0]["ModelLatency"]["N"]) <= 45
    assert outcome["recommended"]["InstanceType"] == recommended[0]["InstanceType"]["S"]


def test_record_failure_keeps_what_earlier_steps_recorded(env: dict[str, Any]) -> None:
    event = _event(env["s3"])
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    state = {**event, "submission": submission, "failed_step": {"step": "RegisterModel"},
             "error": {"Error": "States.TaskFailed", "Cause": "boom"}}  # no "job" yet
    record_failure.handler({"state": state, "execution_arn": EXECUTION})
    summary = _summary(env["dynamodb"], submission["run_id"])
    assert summary["status"]["S"] == "FAILED"
    assert summary["job_name"]["S"] == submission["job_name"] and summary["neo_eligible"]["BOOL"] is True


def test_deployment_job_settings_vpc_and_key_reach_the_job(env: dict[str, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """JOB_DEFAULTS fill the manifest's gaps; VPC_CONFIG and VOLUME_KMS_KEY_ID go into the request
    (validated by botocore against CreateInferenceRecommendationsJob)."""
    traffic = {"TrafficType": "PHASES",
               "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}
    monkeypatch.setenv("JOB_DEFAULTS", json.dumps({
        "JobType": "Advanced", "InstanceTypes": ["ml.c5.xlarge", "ml.m5.large"], "JobDurationInSeconds": 1800,
        "TrafficPattern": traffic, "StoppingConditions": {"MaxInvocations": 300}}))
    monkeypatch.setenv("VPC_CONFIG", json.dumps({"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]}))
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    monkeypatch.setenv("VOLUME_KMS_KEY_ID", key)
    unlisted = samples.xgboost_manifest("xgb")
    del unlisted["SupportedRealtimeInferenceInstanceTypes"]  # the deployment's instance types apply
    submission = validate_submission.handler({"event": _event(env["s3"], manifest=json.dumps(unlisted).encode()),
                                              "execution_arn": EXECUTION})
    assert submission["valid"] is True and submission["manifest"]["job_type"] == "Advanced"
    package = register_model.handler({"submission": submission})
    job = start_job.handler({"submission": submission, "model_package": package, "execution_arn": EXECUTION})
    described = boto3.client("sagemaker").describe_inference_recommendations_job(JobName=job["job_name"])
    config = described["InputConfig"]
    assert described["JobType"] == "Advanced"
    assert config["EndpointConfigurations"] == [{"InstanceType": "ml.c5.xlarge"}, {"InstanceType": "ml.m5.large"}]
    assert config["TrafficPattern"] == traffic and config["JobDurationInSeconds"] == 1800
    assert config["VpcConfig"] == {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]}
    assert config["VolumeKmsKeyId"] == key
    assert described["StoppingConditions"] == {"MaxInvocations": 300}

    # A manifest that names its own job type keeps it: a Default job gets only the instance types.
    own = json.dumps({**samples.xgboost_manifest("own"), "JobType": "Default"}).encode()
    kept = validate_submission.handler({"event": _event(env["s3"], "own", own), "execution_arn": OTHER_EXECUTION})
    assert kept["manifest"]["job_type"] == "Default" and kept["manifest"]["advanced"] == {}


def test_a_run_failing_while_its_job_runs_stops_the_job(env: dict[str, Any]) -> None:
    """E.g. the polling step kept failing: the job would bill on with nobody to read its results."""
    event = _event(env["s3"])
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    env["simulator"].job_duration_seconds = 10**9
    job = start_job.handler({"submission": submission, "model_package": register_model.handler(
        {"submission": submission}), "execution_arn": EXECUTION})
    state = {**event, "submission": submission, "job": job, "failed_step": {"step": "CheckRecommendationJob"},
             "error": {"Error": "Lambda.ServiceException", "Cause": "Rate exceeded"}}
    summary = record_failure.handler({"state": state, "execution_arn": EXECUTION})
    assert summary["job_stopped"] is True
    described = boto3.client("sagemaker").describe_inference_recommendations_job(JobName=job["job_name"])
    assert described["Status"] in ("STOPPING", "STOPPED")
    assert _summary(env["dynamodb"], submission["run_id"])["job_stopped"]["BOOL"] is True
    # A job that already ended is left alone.
    assert record_failure.handler({"state": state, "execution_arn": EXECUTION}).get("job_stopped") is None


def test_a_run_past_its_deadline_is_recorded_and_announced_as_timed_out(env: dict[str, Any]) -> None:
    from neo_runtime.notification import failure_message

    event = _event(env["s3"])
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    state = {**event, "submission": submission, "failed_step": {"step": "CheckRecommendationJob"},
             "error": {"Error": "RecommendationJobTimedOut", "Cause": json.dumps({
                 "errorType": "RecommendationJobTimedOut", "errorMessage": "still IN_PROGRESS after 180 polls"})}}
    summary = record_failure.handler({"state": state, "execution_arn": EXECUTION})
    assert summary["status"] == "TIMED_OUT"
    assert _summary(env["dynamodb"], submission["run_id"])["status"]["S"] == "TIMED_OUT"
    message = failure_message(summary)
    assert message["Subject"].startswith("xgb TIMED_OUT in CheckRecommendationJob")
    assert message["MessageAttributes"]["status"]["StringValue"] == "TIMED_OUT"
    assert json.loads(json.loads(message["Message"])["default"])["status"] == "TIMED_OUT"


def test_a_job_created_by_a_start_step_that_then_failed_is_stopped_too(env: dict[str, Any]) -> None:
    event = _event(env["s3"])
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    env["simulator"].job_duration_seconds = 10**9  # still running when the failure is recorded
    start_job.handler({"submission": submission, "model_package": register_model.handler(
        {"submission": submission}), "execution_arn": EXECUTION})
    # The step created the job, then failed: the Catch left no $.job, only the submission's job name.
    state = {**event, "submission": submission, "failed_step": {"step": "StartRecommendationJob"},
             "error": {"Error": "States.TaskFailed", "Cause": "DynamoDB write failed"}}
    assert record_failure.handler({"state": state, "execution_arn": EXECUTION})["job_stopped"] is True


def test_a_run_waiting_longer_than_max_queue_wait_ends_with_job_queue_timed_out(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"MAX_CONCURRENT_JOBS": "1", "JOB_SLOT_HOLDER_EXPIRY_SECONDS": "36000",
                       "JOB_SLOT_WAITER_GRACE_SECONDS": "36000", "MAX_QUEUE_WAIT_SECONDS": "600"}.items():
        monkeypatch.setenv(key, value)
    requests = []
    for model, execution in (("first", EXECUTION), ("second", OTHER_EXECUTION)):
        submission = validate_submission.handler({"event": _event(env["s3"], model), "execution_arn": execution})
        requests.append({"submission": submission, "model_package": register_model.handler(
            {"submission": submission}), "execution_arn": execution, "execution_started": "2026-01-01T00:00:00Z"})
    assert start_job.handler(requests[0])["started"] is True
    queued = start_job.handler(requests[1])
    # It asks again on its own in an hour (one wave ahead), but no later than its queue wait's end plus a minute.
    assert queued == {"started": False, "reason": "JobSlotsBusy", "queue_position": 1, "waiting": 1, "running": 1,
                      "recheck_seconds": 600 + 60}
    # The second run joined the queue long ago: its wait is over.
    run = requests[1]["submission"]["run_id"]
    env["dynamodb"].update_item(TableName="runs", Key={"pk": {"S": "JOB_SLOT_QUEUE"}, "sk": {"S": f"nr-#{run}"}},
                                UpdateExpression="SET since = :t",
                                ExpressionAttributeValues={":t": {"S": "2026-01-01T00:00:00.000Z"}})
    with pytest.raises(errors.JobQueueTimedOut, match="busy job slots"):
        start_job.handler(requests[1])
    # A full account quota since the run started (long ago) ends the same way.
    monkeypatch.delenv("MAX_CONCURRENT_JOBS")
    env["simulator"].faults.resource_limit = 1
    with pytest.raises(errors.JobQueueTimedOut, match="account quota stayed full"):
        start_job.handler(requests[1])


def _scheduled_event(rule_name: str) -> dict[str, Any]:
    return {"detail-type": "Scheduled Event", "source": "aws.events",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule_name}"], "detail": {}}


def test_the_shared_poller_turns_its_schedule_off_when_nothing_is_watched(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from neo_runtime.handlers import watch_jobs

    events = boto3.client("events")
    events.put_rule(Name="watch", ScheduleExpression="rate(1 minute)", State="ENABLED")
    assert watch_jobs.handler(_scheduled_event("watch")) == {"watched": 0, "schedule_off": True}
    assert events.describe_rule(Name="watch")["State"] == "DISABLED"

    # A run starting a job puts it on the list, then turns the schedule on again.
    monkeypatch.setenv("WATCH_SCHEDULE_RULE", "watch")
    submission = validate_submission.handler({"event": _event(env["s3"]), "execution_arn": EXECUTION})
    job = start_job.handler({"submission": submission, "model_package": register_model.handler(
        {"submission": submission}), "execution_arn": EXECUTION})
    assert events.describe_rule(Name="watch")["State"] == "ENABLED"
    (item,) = env["dynamodb"].query(TableName="runs", KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": {"S": "JOB_WATCH"}})["Items"]
    assert item["sk"]["S"] == job["watch_key"] == f"nr-#{job['job_name']}"
    assert "task_token" not in item  # the run's AwaitRecommendationJob state adds it
    # A pass with the job still waiting for its run's token leaves everything as it is.
    assert watch_jobs.handler(_scheduled_event("watch")) == {"watched": 1}
    assert events.describe_rule(Name="watch")["State"] == "ENABLED"


def test_the_shared_poller_stops_a_job_past_its_deadline_fails_its_run_and_unlists_it(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from neo_runtime.handlers import watch_jobs

    monkeypatch.setenv("WATCH_SCHEDULE_RULE", "watch")
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "0")  # every job is past its deadline
    boto3.client("events").put_rule(Name="watch", ScheduleExpression="rate(1 minute)", State="DISABLED")
    env["simulator"].job_duration_seconds = 10**9
    submission = validate_submission.handler({"event": _event(env["s3"]), "execution_arn": EXECUTION})
    job = start_job.handler({"submission": submission, "model_package": register_model.handler(
        {"submission": submission}), "execution_arn": EXECUTION})
    env["dynamodb"].update_item(TableName="runs", Key={"pk": {"S": "JOB_WATCH"}, "sk": {"S": job["watch_key"]}},
                                UpdateExpression="SET task_token = :token",
                                ExpressionAttributeValues={":token": {"S": "the-run's-task-token"}})
    # (moto accepts any token here; a stale one is counted "gone", see the stopped-by-hand fault scenario)
    assert watch_jobs.handler(_scheduled_event("watch")) == {"watched": 1, "failed": 1}
    described = boto3.client("sagemaker").describe_inference_recommendations_job(JobName=job["job_name"])
    assert described["Status"] in ("STOPPING", "STOPPED")
    assert env["dynamodb"].query(TableName="runs", KeyConditionExpression="pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": "JOB_WATCH"}})["Items"] == []


def _two_runs_for_one_slot(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """One job slot, the shared poller's schedule, and the StartRecommendationJob requests of two registered runs."""
    for key, value in {"MAX_CONCURRENT_JOBS": "1", "JOB_SLOT_HOLDER_EXPIRY_SECONDS": "36000",
                       "JOB_SLOT_RECHECK_SECONDS": "3600", "JOB_SLOT_WAITER_GRACE_SECONDS": "7500",
                       "MAX_QUEUE_WAIT_SECONDS": "86400", "WATCH_SCHEDULE_RULE": "watch"}.items():
        monkeypatch.setenv(key, value)
    boto3.client("events").put_rule(Name="watch", ScheduleExpression="rate(1 minute)", State="DISABLED")
    requests = []
    for model, execution in (("first", EXECUTION), ("second", OTHER_EXECUTION)):
        submission = validate_submission.handler({"event": _event(env["s3"], model), "execution_arn": execution})
        requests.append({"submission": submission, "model_package": register_model.handler(
            {"submission": submission}), "execution_arn": execution})
    return requests


def test_the_shared_poller_wakes_a_queued_run_whose_wake_up_was_lost(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from neo_runtime import job_slots
    from neo_runtime.handlers import await_job_slot, watch_jobs

    requests = _two_runs_for_one_slot(env, monkeypatch)
    holder, waiter = (request["submission"]["run_id"] for request in requests)
    assert start_job.handler(requests[0])["started"] is True
    assert start_job.handler(requests[1])["recheck_seconds"] == 3600
    woken: list[str] = []
    wake = job_slots.wake  # Step Functions' SendTaskSuccess (moto accepts any token), and a note of whom it woke

    def noted_wake(task_token: str) -> bool:
        woken.append(task_token)
        return wake(task_token)

    monkeypatch.setattr(job_slots, "wake", noted_wake)
    assert await_job_slot.handler({"run_id": waiter, "task_token": "second-run-token"}) == {"woke_itself": False}
    assert watch_jobs.handler(_scheduled_event("watch")) == {"watched": 1}  # every slot held: nobody woken
    # The holder gives its slot back, but its wake-up is lost (say its function crashed in between).
    assert job_slots.release("runs", "nr-", holder)
    assert woken == []
    assert watch_jobs.handler(_scheduled_event("watch")) == {"watched": 1, "woken": 1}
    assert woken == ["second-run-token"]


def _printed_metrics(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(name, value, record) of each embedded-metric-format line printed since the last call, in order."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [(metric["Name"], record[metric["Name"]], record) for record in lines if "_aws" in record
            for directive in record["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]]


def test_the_queue_depth_is_a_metric_and_a_queued_run_s_wait_is_measured_once(
        env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from neo_runtime import job_slots
    from neo_runtime.handlers import watch_jobs

    requests = _two_runs_for_one_slot(env, monkeypatch)
    holder, waiter = (request["submission"]["run_id"] for request in requests)
    capsys.readouterr()
    assert start_job.handler(requests[0])["started"] is True
    assert [(name, value) for name, value, _ in _printed_metrics(capsys)] == [("RunsWaiting", 0)]
    assert start_job.handler(requests[1])["started"] is False
    queued = _printed_metrics(capsys)
    assert [(name, value) for name, value, _ in queued] == [("RunsWaiting", 1), ("RunsQueued", 1)]
    assert queued[1][2]["queue_reason"] == "JobSlotsBusy" and "run_id" not in queued[0][2]  # the gauge is the queue's
    watch_jobs.handler(_scheduled_event("watch"))  # each pass of the shared poller counts the queue too
    assert ("RunsWaiting", 1) in [(name, value) for name, value, _ in _printed_metrics(capsys)]

    assert job_slots.release("runs", "nr-", holder)
    assert start_job.handler(requests[1])["started"] is True
    started = _printed_metrics(capsys)
    assert [name for name, _, _ in started] == ["RunsWaiting", "QueueWaitSeconds"]
    assert started[0][1] == 0 and started[1][2]["run_id"] == waiter
    assert 0 <= started[1][1] < 60  # from its queued_at, seconds ago, not from any earlier moment
    start_job.handler(requests[1])  # a retry after a lost response: the run is RUNNING, its wait counted already
    assert "QueueWaitSeconds" not in [name for name, _, _ in _printed_metrics(capsys)]


def test_a_run_held_back_by_the_account_quota_is_queued_once_and_its_wait_measured(
        env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    submission = validate_submission.handler({"event": _event(env["s3"]), "execution_arn": EXECUTION})
    request = {"submission": submission, "model_package": register_model.handler({"submission": submission}),
               "execution_arn": EXECUTION, "execution_started": "2026-01-01T00:00:00Z"}
    env["simulator"].faults.resource_limit = 2
    capsys.readouterr()
    assert start_job.handler(request)["reason"] == "ResourceLimitExceeded"
    ((name, value, record),) = _printed_metrics(capsys)
    assert (name, value, record["queue_reason"]) == ("RunsQueued", 1, "ResourceLimitExceeded")
    summary = _summary(env["dynamodb"], submission["run_id"])
    queued_at = summary["queued_at"]["S"]
    assert (summary["status"]["S"], summary["queue_reason"]["S"]) == ("QUEUED", "ResourceLimitExceeded")
    assert start_job.handler(request)["reason"] == "ResourceLimitExceeded"
    assert _printed_metrics(capsys) == []  # still the same wait: queued once
    assert _summary(env["dynamodb"], submission["run_id"])["queued_at"]["S"] == queued_at  # since its first refusal
    assert start_job.handler(request)["started"] is True
    ((name, value, record),) = _printed_metrics(capsys)  # no job-slot limit: no queue depth
    assert (name, record["run_id"]) == ("QueueWaitSeconds", submission["run_id"])
    assert 0 <= value < 60  # from its first refusal, seconds ago; the execution started (2026-01-01) is not the wait


def test_an_empty_model_name_still_gets_its_failure_recorded(env: dict[str, Any]) -> None:
    # DynamoDB refuses an empty string as a secondary index key (ByModel's model_name): the run's record
    # must leave the attribute out, or even the failure record is lost.
    event = _event(env["s3"], manifest=json.dumps(samples.xgboost_manifest("")).encode())
    submission = validate_submission.handler({"event": event, "execution_arn": EXECUTION})
    assert submission["valid"] is False and submission["model_name"] is None
    cause = json.dumps({"errorType": "SubmissionInvalid", "errorMessage": submission["error_message"]})
    state = {**event, "submission": submission, "failed_step": {"step": "ValidateSubmission"},
             "error": {"Error": "SubmissionInvalid", "Cause": cause}}
    record_failure.handler({"state": state, "execution_arn": EXECUTION})
    stored = _summary(env["dynamodb"], submission["run_id"])
    assert stored["status"]["S"] == "FAILED" and "model_name" not in stored
