"""Every Allow statement of the limited stack's roles is needed (the default stack with at most five jobs at once).

See ``iam_mutations``: each statement is removed in turn, a scenario that needed it runs again, and the emulator must
refuse what the statement allowed. The figures are printed for the closing note (``pytest -s``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from neo_runtime import naming

from .conftest import DeployedPipeline, wait_until
from .iam_mutations import MutationSuite, Scenario


def completed(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.run(model)


def job_failed(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.recommender.faults.fail_jobs[pipeline.group(model)] = "ClientError: the container exited with code 1"
    pipeline.run(model)


def job_past_its_deadline(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.recommender.faults.stall_jobs.add(pipeline.group(model))  # the poller stops it at the deadline
    pipeline.run(model)


def poller_failing_past_the_deadline(pipeline: DeployedPipeline, model: str) -> None:
    """The poller fails on every pass: after an hour the run checks its job itself, finds it running and puts it back
    on the list (turning the schedule on), checks again two hours in and stops it, past the deadline."""
    pipeline.aws.lambdas.crashes["watch_jobs"] = None
    pipeline.aws.recommender.faults.stall_jobs.add(pipeline.group(model))
    pipeline.run(model)


def check_failing_while_the_job_runs(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.recommender.faults.stall_jobs.add(pipeline.group(model))
    pipeline.aws.lambdas.crashes["watch_jobs"] = None  # the run checks itself after an hour; that check fails
    pipeline.aws.lambdas.crashes["check_job"] = None  # RecordFailure stops the job still running
    pipeline.run(model)


def sns_refusing(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.aws_faults.fail("sns", "Publish", "KMSDisabled", 400)  # the message goes to the dead-letter queue
    pipeline.run(model)


def failed_job_and_sns_refusing(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.aws_faults.fail("sns", "Publish", "KMSDisabled", 400)
    job_failed(pipeline, model)


def stopped_by_hand(pipeline: DeployedPipeline, model: str) -> None:
    """An operator stops the execution while its job runs: the safety net records it and stops the job."""
    pipeline.aws.recommender.faults.stall_jobs.add(pipeline.group(model))
    pipeline.upload(model)
    wait_until(lambda: pipeline.jobs_of(model))
    (arn,) = [e["executionArn"] for e in pipeline.stepfunctions.list_executions(
        stateMachineArn=pipeline.outputs["StateMachineArn"], statusFilter="RUNNING")["executions"]]
    pipeline.stepfunctions.stop_execution(executionArn=arn, cause="stopped by an operator")


def stopped_by_hand_and_sns_refusing(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.aws_faults.fail("sns", "Publish", "KMSDisabled", 400)
    stopped_by_hand(pipeline, model)


def safety_net_failing(pipeline: DeployedPipeline, model: str) -> None:
    """The safety net raises on every attempt: Lambda sends the event to its dead-letter queue."""
    pipeline.aws.lambdas.crashes["record_ended_run"] = None
    stopped_by_hand(pipeline, model)


def payload_missing(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.run(model, skip=("payload.tar.gz",))  # found missing (404) only with s3:ListBucket


def model_deleted_before_the_job(pipeline: DeployedPipeline, model: str) -> None:
    def delete() -> None:
        pipeline.s3.delete_object(Bucket=pipeline.bucket, Key=f"models/{model}/model.tar.gz")
    pipeline.aws.lambdas.before_invoke["start_job"] = delete  # IR finds it missing (404 only with s3:ListBucket)
    pipeline.run(model)


@contextlib.contextmanager
def _deadlines_far_away(pipeline: DeployedPipeline) -> Iterator[None]:
    """Job deadlines of ten days while the block runs (an operator's UpdateFunctionConfiguration): at 2,000 times
    real time a 3-hour deadline passes in 5 real seconds, and a loaded machine would time the holders out (freeing
    their slots) before the last run queues behind them."""
    lambda_ = pipeline.aws.client("lambda")
    saved = {}
    for page in lambda_.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            variables = function.get("Environment", {}).get("Variables", {})
            if "JOB_DEADLINE_SECONDS" in variables:
                saved[function["FunctionName"]] = variables
                lambda_.update_function_configuration(FunctionName=function["FunctionName"], Environment={
                    "Variables": {**variables, "JOB_DEADLINE_SECONDS": str(10 * 86400)}})
    try:
        yield
    finally:
        for name, variables in saved.items():
            lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": variables})


def queue_behind_the_limit(pipeline: DeployedPipeline, model: str, limit: int) -> None:
    """``limit`` runs hold every job slot; one more run queues; their jobs finish, and a released slot wakes it."""
    with _deadlines_far_away(pipeline):
        _queue_behind_the_limit(pipeline, model, limit)


def _queue_behind_the_limit(pipeline: DeployedPipeline, model: str, limit: int) -> None:
    before = set(pipeline.executions())
    holders = [f"{model}-{i}" for i in range(limit)]
    for holder in holders:
        pipeline.aws.recommender.faults.stall_jobs.add(pipeline.group(holder))  # hold the slot until released
        pipeline.upload(holder)
    wait_until(lambda: all(pipeline.jobs_of(holder) for holder in holders))
    queued = pipeline.upload(f"{model}-queued")
    queued_run = naming.run_id(pipeline.bucket, f"{pipeline.outputs['WatchedPrefix']}{model}-queued/recommend.json",
                               queued["VersionId"])
    # Release the holders only once the last run waits in AwaitJobSlot (its wake-up token is stored): released
    # earlier (a loaded machine starts it late), it would never wait, AwaitJobSlot would not run, and a mutant of
    # that step would seem harmless. A mutant may keep it from ever waiting: then its execution ends first.
    stepfunctions, table = pipeline.stepfunctions, pipeline.outputs["ResultsTableName"]
    wake_up_key = {"pk": {"S": "JOB_SLOT_WAKE_UP"}, "sk": {"S": f"{pipeline.name_prefix}#{queued_run}"}}

    def waiting_or_ended() -> bool:
        if pipeline.dynamodb.get_item(TableName=table, Key=wake_up_key, ConsistentRead=True).get("Item"):
            return True
        for arn in pipeline.executions():
            execution = stepfunctions.describe_execution(executionArn=arn) if arn not in before else None
            if execution and f"{model}-queued/" in execution["input"] and execution["status"] != "RUNNING":
                return True
        return False

    with contextlib.suppress(TimeoutError):
        wait_until(waiting_or_ended, timeout_seconds=180)
    for holder in holders:
        pipeline.aws.recommender.finish_stalled(pipeline.group(holder))
    pipeline.aws.wait_for_executions(pipeline.outputs["StateMachineArn"], count=len(before) + limit + 1)


def six_at_once(pipeline: DeployedPipeline, model: str) -> None:
    """One more run than the limit of five: it queues, and a released slot wakes it."""
    queue_behind_the_limit(pipeline, model, limit=5)


SCENARIOS: dict[str, Scenario] = {
    "completed run": completed, "IR job failed": job_failed, "job past its deadline": job_past_its_deadline,
    "poller failing past the deadline": poller_failing_past_the_deadline,
    "the run's check failing while the job runs": check_failing_while_the_job_runs,
    "SNS refusing the results": sns_refusing, "SNS refusing a failure": failed_job_and_sns_refusing,
    "execution stopped by hand": stopped_by_hand, "stopped by hand, SNS refusing": stopped_by_hand_and_sns_refusing,
    "the safety net failing": safety_net_failing, "payload archive missing": payload_missing,
    "model archive deleted before the job": model_deleted_before_the_job, "six runs at once": six_at_once,
}


def test_every_statement_of_every_role_is_needed(limited: DeployedPipeline, limited_assembly: Path) -> None:
    suite = MutationSuite(limited, limited_assembly, SCENARIOS, limited.deployed.creation_allowing_sets)
    suite.run_baseline()
    report = suite.report()
    print("\n" + report.summary("limited stack"))
    assert report.count("survived") == 0, report.summary("limited stack")
