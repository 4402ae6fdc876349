"""What waiting for an Inference Recommender job costs a run, and how late its results arrive.

The synthesized ``NeoRecommenderStack`` runs in the embedded emulator, once with the shared poller
(the default) and once with each run polling its own job every 60 seconds (``jobPolling: perRun``,
the baseline: what the AWS example notebooks do). Each design gets simulated IR jobs of 10, 45 and
120 minutes, one run at a time, so everything the emulator counts between an upload and the end of
the run (the poller's schedule turned off again) belongs to that run:

- state transitions (states entered, from the execution's history);
- Lambda invocations and the AWS calls each made (the emulator counts them per invocation), with
  the state machine's own DynamoDB call for the shared poller (an SDK integration, no Lambda);
- IR status calls: ``DescribeInferenceRecommendationsJob`` and ``ListInferenceRecommendationsJobs``;
- DynamoDB requests, and the request units DynamoDB bills for them by each item's size (``dynamodb_units``);
- the delay from the job completing to the results being in DynamoDB. It has two parts: the wait
  for the first status call that reports COMPLETED (simulated time: the polling design's own delay)
  and the work from that call to the stored results (real seconds the emulator spent: Lambda
  handlers, Step Functions, DynamoDB). The second part is measured in real time because simulated
  time runs ``SPEEDUP`` times faster and would inflate it.

``measure_bad_submission`` uploads a manifest that is not JSON and measures the way to its FAILED record.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from dynamodb_units import RequestUnitMeter

#: Simulated seconds per real second: a 2-hour job takes a minute. Higher speeds let the emulator's own
#: processing (about 40 ms per invocation, i.e. 5 simulated seconds here) stretch each poll cycle.
SPEEDUP = 120
JOB_MINUTES = (10, 45, 120)
#: cdk.json context over the repository's, per waiting design.
DESIGNS = {"shared": {}, "per-run 60 s": {"neo-recommender:jobPolling": "perRun"}}
#: Billed Lambda time per AWS call, on top of the handler's measured time: in-process calls take
#: microseconds, a call over the network in a region takes tens of milliseconds.
NETWORK_SECONDS_PER_CALL = 0.020
LAMBDA_MEMORY_GB = 0.25
_WRITES = ("PutItem", "UpdateItem", "DeleteItem")  # and each item of a BatchWriteItem
_READS = ("GetItem", "Query", "Scan", "BatchGetItem")


@dataclass(frozen=True)
class RunCost:
    """What one run used while its job ran, and how late its results came."""

    design: str
    job_minutes: int
    transitions: int
    lambda_invocations: int
    poller_passes: int
    status_calls: int
    dynamodb_writes: int
    dynamodb_reads: int
    #: Request units, as DynamoDB bills them: by each item's size (``dynamodb_units``), not one per request.
    dynamodb_write_units: float
    dynamodb_read_units: float
    sns_publishes: int
    lambda_gb_seconds: float
    wait_for_status_seconds: float
    processing_seconds: float

    @property
    def delay_seconds(self) -> float:
        """Job completed -> results in DynamoDB."""
        return self.wait_for_status_seconds + self.processing_seconds


@dataclass(frozen=True)
class BadSubmission:
    """The way from uploading an unusable manifest to its FAILED record."""

    rejected_in_state: int
    states_to_failed_record: list[str]
    seconds_to_failed_record: float


def repository_context() -> dict[str, Any]:
    """The context of the repository's cdk.json (feature flags and defaults), as ``cdk synth`` reads it."""
    return json.loads((Path(__file__).resolve().parents[1] / "cdk.json").read_text(encoding="utf-8"))["context"]


def measure_polling(workdir: Path) -> list[RunCost]:
    """Every job length under every design; each design in an emulator of its own."""
    from neo_recommender.emulator import EmbeddedAws  # noqa: PLC0415
    from neo_recommender.emulator.assembly import STACK_NAME, synthesize  # noqa: PLC0415 - loads the CDK

    costs = []
    for design, context in DESIGNS.items():
        assembly = synthesize(workdir / design.replace(" ", "-"), {**repository_context(), **context})[1]
        with EmbeddedAws(speedup=SPEEDUP) as aws:
            outputs = aws.deploy(assembly, STACK_NAME).outputs
            for minutes in JOB_MINUTES:
                costs.append(_one_run(aws, outputs, design, minutes))
    return costs


def measure_bad_submission(workdir: Path) -> BadSubmission:
    """Upload a manifest that is not JSON to the default stack; time and count the way to FAILED."""
    from neo_recommender.emulator import (
        EmbeddedAws,  # noqa: PLC0415
        samples,  # noqa: PLC0415
    )
    from neo_recommender.emulator.assembly import STACK_NAME, synthesize  # noqa: PLC0415

    assembly = synthesize(workdir / "bad-submission", repository_context())[1]
    with EmbeddedAws(speedup=SPEEDUP) as aws:
        outputs = aws.deploy(assembly, STACK_NAME).outputs
        s3, bucket, folder = aws.client("s3"), outputs["SubmissionBucketName"], f"{outputs['WatchedPrefix']}bad/"
        s3.put_object(Bucket=bucket, Key=folder + "model.tar.gz", Body=samples.xgboost_model_archive())
        s3.put_object(Bucket=bucket, Key=folder + "payload.tar.gz", Body=samples.csv_payload_archive())
        uploaded = time.monotonic()
        s3.put_object(Bucket=bucket, Key=folder + "recommend.json", Body=b'{"model_name": "bad",')
        dynamodb = aws.client("dynamodb")
        while time.monotonic() - uploaded < 60:
            recorded = dynamodb.scan(TableName=outputs["ResultsTableName"], FilterExpression="#key = :key",
                                     ExpressionAttributeNames={"#key": "key"},
                                     ExpressionAttributeValues={":key": {"S": folder + "recommend.json"}})["Items"]
            if recorded and recorded[0].get("status", {}).get("S") == "FAILED":
                break
            time.sleep(0.002)
        seconds = time.monotonic() - uploaded
        (execution,) = aws.wait_for_executions(outputs["StateMachineArn"])
        states = _states_entered(aws, execution["executionArn"])
        to_record = states[:states.index("RecordFailure") + 1]
        rejected_in = next(i for i, state in enumerate(states, 1) if state == "ValidateSubmission")
        return BadSubmission(rejected_in, to_record, seconds)


def _one_run(aws: Any, outputs: dict[str, str], design: str, minutes: int) -> RunCost:
    from neo_recommender import samples  # noqa: PLC0415

    model = f"bench-{minutes}m"
    aws.recommender.durations[f"nr-{model}"] = minutes * 60
    first_invocation = len(aws.lambdas.records)
    s3, bucket, folder = aws.client("s3"), outputs["SubmissionBucketName"], f"{outputs['WatchedPrefix']}{model}/"
    with RequestUnitMeter() as units:  # the run's requests; what follows the block is the bench reading
        s3.put_object(Bucket=bucket, Key=folder + "model.tar.gz", Body=samples.xgboost_model_archive())
        s3.put_object(Bucket=bucket, Key=folder + "payload.tar.gz", Body=samples.csv_payload_archive())
        s3.put_object(Bucket=bucket, Key=folder + "recommend.json",
                      Body=json.dumps(samples.xgboost_manifest(model)).encode())
        arn = outputs["StateMachineArn"]
        count = len(aws.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"])
        execution = aws.wait_for_executions(arn, count=count, timeout_seconds=minutes * 60 / SPEEDUP + 120)[-1]
        if execution["status"] != "SUCCEEDED":
            raise RuntimeError(f"the {minutes}-minute run ended {execution['status']}: {execution.get('cause')}")
        _wait_until_schedules_are_off(aws)
    invocations = aws.lambdas.records[first_invocation:]
    calls: Counter[str] = Counter()
    for invocation in invocations:
        calls.update(invocation.calls)
    history = _history(aws, execution["executionArn"])
    sdk_writes = sum(1 for event in history if event["type"] == "TaskScheduled"
                     and event["taskScheduledEventDetails"]["resourceType"] == "aws-sdk:dynamodb")
    (job,) = [job for job in aws.recommender.jobs() if job["JobName"].startswith(f"nr-{model}-")]
    completed = job["CreationTime"] + timedelta(minutes=minutes)
    reported_at, reported_epoch = aws.recommender.first_reported_completed[job["JobName"]]
    published = max(event["timestamp"] for event in history if event["type"].endswith("Succeeded")
                    and _state_of(history, event) == "PublishResults").timestamp()
    return RunCost(
        design=design, job_minutes=minutes,
        transitions=sum(1 for event in history if event["type"].endswith("StateEntered")),
        lambda_invocations=len(invocations),
        poller_passes=sum(1 for invocation in invocations if invocation.module == "watch_jobs"),
        status_calls=calls["sagemaker.DescribeInferenceRecommendationsJob"]
        + calls["sagemaker.ListInferenceRecommendationsJobs"],
        dynamodb_writes=sum(calls[f"dynamodb.{op}"] for op in _WRITES) + calls["dynamodb.BatchWriteItem.items"]
        + sdk_writes,
        dynamodb_reads=sum(calls[f"dynamodb.{op}"] for op in _READS),
        dynamodb_write_units=sum(units.write_units.values()), dynamodb_read_units=sum(units.read_units.values()),
        sns_publishes=calls["sns.Publish"],
        lambda_gb_seconds=sum(
            (invocation.seconds + NETWORK_SECONDS_PER_CALL * _requests(invocation.calls)) * LAMBDA_MEMORY_GB
            for invocation in invocations),
        wait_for_status_seconds=(reported_at - completed).total_seconds(),
        processing_seconds=published - reported_epoch,
    )


def _requests(calls: dict[str, int]) -> int:
    return sum(count for name, count in calls.items() if not name.endswith(".items"))


def _wait_until_schedules_are_off(aws: Any, timeout_seconds: float = 30) -> None:
    """The shared poller turns its schedule off one pass after its last job; that pass is the run's too."""
    events = aws.client("events")
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if all(rule["State"] == "DISABLED" for rule in events.list_rules()["Rules"] if "ScheduleExpression" in rule):
            break
        time.sleep(0.01)
    aws.wiring.wait_for_async_invocations()


def _history(aws: Any, execution_arn: str) -> list[dict[str, Any]]:
    paginator = aws.client("stepfunctions").get_paginator("get_execution_history")
    return [event for page in paginator.paginate(executionArn=execution_arn) for event in page["events"]]


def _states_entered(aws: Any, execution_arn: str) -> list[str]:
    return [event["stateEnteredEventDetails"]["name"] for event in _history(aws, execution_arn)
            if "stateEnteredEventDetails" in event]


def _state_of(history: list[dict[str, Any]], event: dict[str, Any]) -> str | None:
    """The state an event belongs to: the last state entered before it."""
    name = None
    for earlier in history:
        if earlier["id"] >= event["id"]:
            break
        if "stateEnteredEventDetails" in earlier:
            name = earlier["stateEnteredEventDetails"]["name"]
    return name
