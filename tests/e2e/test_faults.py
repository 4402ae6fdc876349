"""Fault injection through the emulator: every scenario ends recorded, announced, with no job run twice.

Each scenario plans a fault (an AWS error on one operation, a Lambda that raises, an IR job that
fails, stalls or cannot read its model, a stopped execution, an undeliverable event), submits one
model to the limited stack (at most five jobs, a 90-minute deadline) and checks the end state:

- the run's record in DynamoDB has the expected status (and error type);
- exactly one SNS message announced it, or, when SNS refused, the message is in the dead-letter queue;
- at most one IR job exists for the run, stopped if the run ended while it ran;
- the uploaded objects are untouched and every job slot was given back;
- the fault really happened (its injection counter moved).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from neo_recommender import samples

from .conftest import DeployedPipeline, RunOutcome, wait_until

#: Every AWS operation the pipeline's handlers (and Step Functions, for Lambda) call on a run's way.
CALLS = [("s3", "GetObject"), ("s3", "HeadObject"), ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"),
         ("dynamodb", "GetItem"), ("dynamodb", "BatchWriteItem"), ("sagemaker", "CreateModelPackageGroup"),
         ("sagemaker", "CreateModelPackage"), ("sagemaker", "DescribeModelPackage"),
         ("sagemaker", "CreateInferenceRecommendationsJob"), ("sagemaker", "DescribeInferenceRecommendationsJob"),
         ("sagemaker", "ListInferenceRecommendationsJobSteps"), ("sns", "Publish"), ("lambda", "Invoke"),
         # the shared poller's calls, and the start step's turning its schedule on
         ("eventbridge", "EnableRule"), ("dynamodb", "Query"), ("sagemaker", "ListInferenceRecommendationsJobs"),
         ("sfn", "SendTaskSuccess")]


@dataclass(frozen=True)
class Scenario:
    """One fault and the end state it must lead to."""

    name: str
    plan: Callable[[DeployedPipeline, str], Callable[[], bool]]
    """Plans the fault for a model; returns a check that the fault really happened."""
    status: str = "COMPLETED"
    error: str | None = None
    jobs: int = 1
    job_stopped: bool = False
    announced: bool = True
    dead_letters: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _throttled(service: str, operation: str, times: int = 3) -> Callable[[DeployedPipeline, str], Callable[[], bool]]:
    def plan(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
        before = pipeline.aws.aws_faults.injected[(service, operation)]
        pipeline.aws.aws_faults.throttle(service, operation, times)
        return lambda: pipeline.aws.aws_faults.injected[(service, operation)] == before + times
    return plan


def _failing(service: str, operation: str, code: str, status: int) -> Callable[[DeployedPipeline, str],
                                                                                 Callable[[], bool]]:
    def plan(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
        before = pipeline.aws.aws_faults.injected[(service, operation)]
        pipeline.aws.aws_faults.fail(service, operation, code, status)
        return lambda: pipeline.aws.aws_faults.injected[(service, operation)] > before
    return plan


def _crashing(module: str, times: int | None, *, job_runs_on: bool = False) -> Callable[[DeployedPipeline, str],
                                                                                      Callable[[], bool]]:
    """``module`` raises ``times`` times (None: always). ``job_runs_on``: the job does not finish meanwhile
    (simulated time races ahead while a loaded machine catches up; the job must still be running to be stopped)."""
    def plan(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
        pipeline.aws.lambdas.crashes[module] = times
        if job_runs_on:
            pipeline.aws.recommender.faults.stall_jobs.add(f"nr-{model}")
        return lambda: pipeline.aws.lambdas.crashes[module] in (0, None)
    return plan


def _ir(fault: str) -> Callable[[DeployedPipeline, str], Callable[[], bool]]:
    def plan(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
        faults = pipeline.aws.recommender.faults
        if fault == "fail":
            faults.fail_jobs[f"nr-{model}"] = "ClientError: the container exited with code 1"
        elif fault == "compilation":
            faults.fail_compilation[f"nr-{model}"] = "Unsupported operator in graph"
        elif fault == "stall":
            faults.stall_jobs.add(f"nr-{model}")
        elif fault == "quota":
            faults.resource_limit = 3
            return lambda: faults.resource_limit == 0
        return lambda: True
    return plan


def _archive_deleted(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
    """The user deletes model.tar.gz after the run validated it, before the job starts."""
    deleted = []

    def delete() -> None:
        if not deleted:
            pipeline.s3.delete_object(Bucket=pipeline.bucket, Key=f"models/{model}/model.tar.gz")
            deleted.append(True)

    pipeline.aws.lambdas.before_invoke["start_job"] = delete
    return lambda: bool(deleted)


def _stopped_by_hand(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
    """Someone stops the execution while its job runs (at the second pass of the shared poller over it)."""
    stopped: list[str] = []
    passes_over_the_job: list[int] = []
    pipeline.aws.recommender.faults.stall_jobs.add(f"nr-{model}")  # still running when the stop is recorded

    def stop() -> None:
        if stopped or not pipeline.jobs_of(model):
            return
        passes_over_the_job.append(1)
        if len(passes_over_the_job) >= 2:
            running = pipeline.stepfunctions.list_executions(
                stateMachineArn=pipeline.outputs["StateMachineArn"], statusFilter="RUNNING")["executions"]
            (arn,) = [e["executionArn"] for e in running  # this run's, not another scenario's straggler
                      if model in pipeline.stepfunctions.describe_execution(executionArn=e["executionArn"])["input"]]
            threading.Thread(target=pipeline.stepfunctions.stop_execution,
                             kwargs={"executionArn": arn, "cause": "stopped by an operator"}).start()
            stopped.append(arn)

    pipeline.aws.lambdas.before_invoke["watch_jobs"] = stop
    return lambda: bool(stopped)


def _poller_silent_and_check_raising_once(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
    """The poller fails, and the run's own check fails once too: it is retried, and the run completes."""
    _crashing("watch_jobs", None)(pipeline, model)
    return _crashing("check_job", 1)(pipeline, model)


def _watch_item_gone(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
    """The job's watch-list item is gone before the run stores its token (the poller drops an item left token-less
    too long): the run's AwaitRecommendationJob is refused, and the run checks its job itself."""
    deleted: list[str] = []

    def delete() -> None:
        items = pipeline.dynamodb.query(
            TableName=pipeline.outputs["ResultsTableName"], KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "JOB_WATCH"}})["Items"]
        for item in items:
            if model in item["job_name"]["S"] and not deleted:
                pipeline.dynamodb.delete_item(TableName=pipeline.outputs["ResultsTableName"],
                                              Key={"pk": item["pk"], "sk": item["sk"]})
                deleted.append(item["job_name"]["S"])

    pipeline.aws.lambdas.after_invoke["start_job"] = delete
    return lambda: bool(deleted)


def _failure_path_fails(pipeline: DeployedPipeline, model: str) -> Callable[[], bool]:
    """The IR job fails, and so does every attempt of RecordFailure: the safety net records the run."""
    _ir("fail")(pipeline, model)
    return _crashing("record_failure", None)(pipeline, model)


SCENARIOS = [
    *[Scenario(f"throttled-{service}-{operation}", _throttled(service, operation)) for service, operation in CALLS],
    Scenario("throttled-past-boto3-retries", _throttled("dynamodb", "UpdateItem", 8)),
    Scenario("ir-quota-full", _ir("quota"), extra={"queue_reason": "ResourceLimitExceeded"}),
    Scenario("ir-job-failed", _ir("fail"), status="FAILED", error="RecommendationJobFailed"),
    Scenario("ir-job-stuck-past-deadline", _ir("stall"), status="TIMED_OUT", error="RecommendationJobTimedOut",
             job_stopped=True),
    Scenario("neo-compilation-failed", _ir("compilation"), extra={"compiled_count": 0}),
    Scenario("dynamodb-write-failing", _failing("dynamodb", "BatchWriteItem", "InternalServerError", 500),
             status="FAILED", error="TransientAwsError"),
    Scenario("sns-publish-refused", _failing("sns", "Publish", "KMSDisabled", 400), announced=False,
             dead_letters=1, extra={"notification_error": "KMSDisabled"}),
    Scenario("poller-raises-once", _crashing("watch_jobs", 1)),
    # The shared poller keeps failing: after an hour each run checks its job itself, and finishes.
    Scenario("poller-raises-always", _crashing("watch_jobs", None)),
    Scenario("poller-raises-past-the-deadline", _crashing("watch_jobs", None, job_runs_on=True), status="TIMED_OUT",
             error="RecommendationJobTimedOut", job_stopped=True),
    Scenario("run-check-raises-once", _poller_silent_and_check_raising_once),
    Scenario("lambda-raises-before-the-job", _crashing("start_job", None), status="FAILED", error="RuntimeError",
             jobs=0),
    Scenario("model-archive-deleted-mid-run", _archive_deleted, status="FAILED", error="RecommendationJobFailed"),
    Scenario("execution-stopped-by-hand", _stopped_by_hand, status="FAILED", error="ExecutionAborted",
             job_stopped=True),
    Scenario("failure-path-fails", _failure_path_fails, status="FAILED", error="ExecutionFailed"),
    Scenario("watch-item-gone-before-the-run-waits", _watch_item_gone),
]


@pytest.fixture(autouse=True)
def _no_faults_left(limited: DeployedPipeline) -> None:
    limited.aws.aws_faults.clear()
    limited.aws.lambdas.crashes.clear()
    limited.aws.lambdas.before_invoke.clear()
    limited.aws.lambdas.after_invoke.clear()
    limited.purge_dead_letters()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault_ends_recorded_announced_and_never_runs_a_job_twice(limited: DeployedPipeline,
                                                                  scenario: Scenario) -> None:
    model = f"f{SCENARIOS.index(scenario)}-{scenario.name}"[:40].rstrip("-").lower()
    happened = scenario.plan(limited, model)
    outcome = limited.run(model)
    limited.aws.wiring.wait_for_async_invocations()
    summary = limited.outcome(outcome.execution).summary
    limited.aws.aws_faults.clear()

    assert happened(), "the planned fault never happened"
    assert summary is not None and summary["status"] == scenario.status, summary.get("error")
    assert (summary.get("error") or {}).get("type") == scenario.error
    for name, value in scenario.extra.items():
        assert summary.get(name) == value, name
    assert len(limited.jobs_of(model)) == scenario.jobs  # never a second job
    if scenario.job_stopped:
        assert summary.get("job_stopped") is True
        (job,) = limited.jobs_of(model)
        assert limited.aws.client("sagemaker").describe_inference_recommendations_job(
            JobName=job["JobName"])["Status"] in ("STOPPING", "STOPPED")
    announced = [m for m in limited.messages() if json.loads(json.loads(m["message"])["default"])["run_id"]
                 == summary["run_id"]]
    assert len(announced) == (1 if scenario.announced else 0)
    dead_letters = limited.dead_letters()
    assert len(dead_letters) == scenario.dead_letters
    if not scenario.announced:  # what SNS refused is kept, whole
        assert dead_letters[0]["body"]["run_id"] == summary["run_id"]
        assert dead_letters[0]["body"]["undelivered_notification"]["Subject"].startswith(f"{model} COMPLETED")
    _assert_untouched(limited, model, deleted=scenario.name == "model-archive-deleted-mid-run")
    assert limited.job_slots() == {"holders": {}, "waiters": {}}  # every slot given back


def _assert_untouched(pipeline: DeployedPipeline, model: str, *, deleted: bool) -> None:
    listed = pipeline.s3.list_object_versions(Bucket=pipeline.bucket, Prefix=f"models/{model}/")
    assert sorted(v["Key"].rsplit("/", 1)[1] for v in listed["Versions"]) == [
        "model.tar.gz", "payload.tar.gz", "recommend.json"]
    markers = [m["Key"].rsplit("/", 1)[1] for m in listed.get("DeleteMarkers", [])]
    assert markers == (["model.tar.gz"] if deleted else [])  # only the user's own deletion


def test_an_event_eventbridge_cannot_deliver_is_kept_in_the_dead_letter_queue(limited: DeployedPipeline) -> None:
    before = set(limited.executions())
    limited.aws.wiring.fail_deliveries = 1
    put = limited.upload("f-undeliverable")
    assert set(limited.executions()) == before  # no execution started
    (letter,) = limited.dead_letters()
    detail = letter["body"]["detail"]
    assert detail["object"]["key"] == "models/f-undeliverable/recommend.json"
    assert detail["object"]["version-id"] == put["VersionId"]  # enough to start the run again
    assert "StartExecution failed" in letter["attributes"]["ERROR_MESSAGE"]["StringValue"]


def test_the_same_event_delivered_ten_times_at_once_runs_one_job(limited: DeployedPipeline) -> None:
    first = limited.run("f-tenfold")
    event = json.loads(first.execution["input"])
    messages_before = len(limited.messages())
    threads = [threading.Thread(target=limited.aws.wiring.start_execution,
                                args=(limited.outputs["StateMachineArn"], event)) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = limited.aws.wait_for_executions(limited.outputs["StateMachineArn"], count=len(limited.executions()))
    duplicates = [e for e in finished if json.loads(e["input"])["detail"] == event["detail"]
                  and e["executionArn"] != first.execution["executionArn"]]
    assert len(duplicates) == 9 and all(e["status"] == "SUCCEEDED" for e in duplicates)
    assert all(json.loads(e["output"])["submission"]["duplicate"] is True for e in duplicates)
    assert len(limited.jobs_of("f-tenfold")) == 1 and len(limited.messages()) == messages_before


def test_events_out_of_order_each_run_the_version_they_name(limited: DeployedPipeline) -> None:
    """Version 2's event arrives before version 1's: each run reads its own version of the manifest."""
    wiring = limited.aws.wiring
    limited.aws.wiring.fail_deliveries = 2  # hold both events back (they land in the dead-letter queue)
    first = limited.upload("f-reordered", samples.xgboost_manifest(
        "f-reordered", SupportedRealtimeInferenceInstanceTypes=["ml.c5.xlarge"]))
    second = limited.upload("f-reordered", samples.xgboost_manifest(
        "f-reordered", SupportedRealtimeInferenceInstanceTypes=["ml.c5.2xlarge"]))
    held = {letter["body"]["detail"]["object"]["version-id"]: letter["body"] for letter in limited.dead_letters()}
    before = set(limited.executions())
    for version in (second["VersionId"], first["VersionId"]):  # newest first
        wiring.start_execution(limited.outputs["StateMachineArn"], held[version])
    finished = limited.aws.wait_for_executions(limited.outputs["StateMachineArn"], count=len(before) + 2)
    runs: dict[str, RunOutcome] = {}
    for execution in finished:
        if execution["executionArn"] not in before:
            runs[json.loads(execution["input"])["detail"]["object"]["version-id"]] = limited.outcome(execution)
    assert {v: {row["InstanceType"] for row in run.rows} for v, run in runs.items()} == {
        first["VersionId"]: {"ml.c5.xlarge"}, second["VersionId"]: {"ml.c5.2xlarge"}}
    assert len(limited.jobs_of("f-reordered")) == 2  # one per version, none twice


def test_a_queued_run_whose_wake_up_is_lost_asks_again_on_its_own(limited: DeployedPipeline) -> None:
    """Its wake-up token is gone before the slots are released, so neither a release nor the poller can wake it:
    it asks again when its AwaitJobSlot times out (``recheck_seconds``: an hour, one wave ahead), then runs."""
    from neo_runtime import naming

    holders = [f"f-lost-wake-{index}" for index in range(5)]  # the limited stack's five slots
    for holder in holders:
        limited.aws.recommender.faults.stall_jobs.add(limited.group(holder))
        limited.upload(holder)
    wait_until(lambda: all(limited.jobs_of(holder) for holder in holders))
    before = set(limited.executions())
    queued = limited.upload("f-lost-wake-queued")
    run_id = naming.run_id(limited.bucket, "models/f-lost-wake-queued/recommend.json", queued["VersionId"])
    wake_up_key = {"pk": {"S": "JOB_SLOT_WAKE_UP"}, "sk": {"S": f"{limited.name_prefix}#{run_id}"}}
    table = limited.outputs["ResultsTableName"]
    wait_until(lambda: limited.dynamodb.get_item(TableName=table, Key=wake_up_key, ConsistentRead=True).get("Item"),
               timeout_seconds=120)
    limited.dynamodb.delete_item(TableName=table, Key=wake_up_key)  # the wake-up is lost
    lost_at = limited.aws.clock.now()
    for holder in holders:
        limited.aws.recommender.finish_stalled(limited.group(holder))
    finished = limited.aws.wait_for_executions(limited.outputs["StateMachineArn"], count=len(before) + 1,
                                               timeout_seconds=180)
    (execution,) = [e for e in finished if e["executionArn"] not in before]
    outcome = limited.outcome(execution)
    assert outcome.summary is not None and outcome.summary["status"] == "COMPLETED"
    # It asked again an hour after it queued (simulated time, idle time skipped), not at its queue wait's end.
    assert timedelta(hours=1) - timedelta(minutes=10) < limited.aws.clock.now() - lost_at < timedelta(hours=2)
    timed_out = [event for event in outcome.history if event["type"] == "TaskTimedOut"]
    assert len(timed_out) == 1 and outcome.states_entered().count("StartRecommendationJob") == 2
    assert limited.job_slots() == {"holders": {}, "waiters": {}}
    assert len(limited.jobs_of("f-lost-wake-queued")) == 1
