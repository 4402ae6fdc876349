"""The synthesized stack deployed once per test module into the embedded emulator."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from neo_recommender import samples
from neo_recommender.cli.results import ranked_recommendations, run_summary
from neo_recommender.emulator import EmbeddedAws
from neo_recommender.emulator.assembly import STACK_NAME
from neo_recommender.emulator.deploy import DeployedStack
from neo_runtime.job_slots import QUEUE_PARTITION, SLOTS_PARTITION


@dataclass
class RunOutcome:
    """What one submission produced: the execution, the DynamoDB records and the SNS messages."""

    execution: dict[str, Any]
    summary: dict[str, Any] | None
    rows: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    read_history: Callable[[], list[dict[str, Any]]] = field(repr=False)

    @cached_property
    def history(self) -> list[dict[str, Any]]:
        """The execution's history events, read when first asked for (the execution has ended: it no longer
        changes), since most tests never look at it."""
        return self.read_history()

    def states_entered(self) -> list[str]:
        """Names of the states the execution entered, in order."""
        return [event["stateEnteredEventDetails"]["name"] for event in self.history
                if "stateEnteredEventDetails" in event]


class DeployedPipeline:
    """Submit models to the emulated stack and collect what each run produced."""

    def __init__(self, aws: EmbeddedAws, deployed: DeployedStack, assembly: Path) -> None:
        self.aws = aws
        self.deployed = deployed
        self.assembly = assembly
        template = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
        #: The prefix of the SageMaker names the deployed pipeline gives (``namePrefix``).
        self.name_prefix = next(r["Properties"]["Environment"]["Variables"]["JOB_NAME_PREFIX"]
                                for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
        self.outputs = deployed.outputs
        self.bucket = self.outputs["SubmissionBucketName"]
        self.s3 = aws.client("s3")
        self.dynamodb = aws.client("dynamodb")
        self.stepfunctions = aws.client("stepfunctions")
        #: How long ``run`` waits for the run's execution to end.
        self.run_timeout = 60.0
        #: Ends ``run``'s wait early when, given the listed executions, it says the run can never end.
        self.give_up: Callable[[list[dict[str, Any]]], bool] | None = None

    def upload(self, model_name: str, manifest: Any = None, *, model: bytes | None = None,
               payload: bytes | None = None, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """Upload archives then the manifest (bytes, or a dict serialized as JSON); return the manifest's PUT."""
        folder = f"{self.outputs['WatchedPrefix']}{model_name}/"
        if "model.tar.gz" not in skip:
            self.s3.put_object(Bucket=self.bucket, Key=folder + "model.tar.gz",
                               Body=model if model is not None else samples.xgboost_model_archive())
        if "payload.tar.gz" not in skip:
            self.s3.put_object(Bucket=self.bucket, Key=folder + "payload.tar.gz",
                               Body=payload if payload is not None else samples.csv_payload_archive())
        if manifest is None:
            manifest = samples.xgboost_manifest(model_name)
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        return self.s3.put_object(Bucket=self.bucket, Key=folder + "recommend.json", Body=body)

    def executions(self) -> list[str]:
        """ARNs of every execution so far."""
        pages = self.stepfunctions.get_paginator("list_executions").paginate(
            stateMachineArn=self.outputs["StateMachineArn"])
        return [execution["executionArn"] for page in pages for execution in page["executions"]]

    def run(self, model_name: str, manifest: Any = None, **upload: Any) -> RunOutcome:
        """Submit and wait for the run this submission started."""
        before = set(self.executions())
        messages_before = len(self.messages())
        self.upload(model_name, manifest, **upload)
        finished = self.aws.wait_for_executions(self.outputs["StateMachineArn"], count=len(before) + 1,
                                                timeout_seconds=self.run_timeout, give_up=self.give_up)
        (execution,) = [e for e in finished if e["executionArn"] not in before]
        return self.outcome(execution, messages_before)

    def outcome(self, execution: dict[str, Any], messages_before: int = 0) -> RunOutcome:
        """Collect the records and messages of a finished execution."""
        from neo_runtime.s3_event import SubmittedObject

        run = SubmittedObject.from_event(json.loads(execution["input"])).run_id
        table = self.outputs["ResultsTableName"]
        def read_history() -> list[dict[str, Any]]:
            return self.stepfunctions.get_execution_history(executionArn=execution["executionArn"],
                                                            maxResults=1000)["events"]
        return RunOutcome(execution, run_summary(self.dynamodb, table, run),
                          ranked_recommendations(self.dynamodb, table, run), self.messages()[messages_before:],
                          read_history)

    def group(self, model_name: str) -> str:
        """The model package group of a model (the IR simulator's fault plans are keyed by it)."""
        return f"{self.name_prefix}{model_name}"

    def jobs_of(self, model_name: str, prefix: str | None = None) -> list[dict[str, Any]]:
        """The IR jobs created for one model (by job name: ``<prefix><model>-<run[:12]>``)."""
        pattern = re.escape(f"{prefix or self.name_prefix}{model_name}-") + "[0-9a-f]{12}"
        return [job for job in self.aws.recommender.jobs() if re.fullmatch(pattern, job["JobName"])]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every message in the dead-letter queue (bodies parsed as JSON), left in place."""
        sqs = self.aws.client("sqs")
        url = self.outputs["DeadLetterQueueUrl"]
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        return [{"body": json.loads(m["Body"]), "attributes": m.get("MessageAttributes", {})} for m in received]

    def purge_dead_letters(self) -> None:
        """Empty the dead-letter queue (between fault scenarios; PurgeQueue works once a minute)."""
        sqs, url = self.aws.client("sqs"), self.outputs["DeadLetterQueueUrl"]
        while received := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in received:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def job_slots(self, scope: str | None = None) -> dict[str, Any]:
        """Holders (the slots item) and waiters (an item each) of the deployment's job slots, as attribute values."""
        scope, table = scope or self.name_prefix, self.outputs["ResultsTableName"]
        item = self.dynamodb.get_item(TableName=table, ConsistentRead=True,
                                      Key={"pk": {"S": SLOTS_PARTITION}, "sk": {"S": scope}}).get("Item", {})
        queued = self.dynamodb.query(TableName=table, ConsistentRead=True,
                                     KeyConditionExpression="pk = :pk AND begins_with(sk, :scope)",
                                     ExpressionAttributeValues={":pk": {"S": QUEUE_PARTITION},
                                                                ":scope": {"S": f"{scope}#"}})["Items"]
        waiters = {waiter["sk"]["S"].removeprefix(f"{scope}#"): waiter for waiter in queued}
        return {"holders": item.get("holders", {}).get("M", {}),
                "waiters": {**item.get("waiters", {}).get("M", {}), **waiters}}

    def messages(self) -> list[dict[str, Any]]:
        """Everything published to the notification topic, oldest first (read from moto's SNS backend)."""
        from moto.sns.models import sns_backends

        arn = self.outputs["NotificationTopicArn"]
        topic = sns_backends["123456789012"]["us-east-1"].topics[arn]
        return [{"message_id": m[0], "message": m[1], "subject": m[2], "attributes": m[3]}
                for m in topic.sent_notifications]


def wait_until(condition: Any, timeout_seconds: float = 30.0) -> Any:
    """Poll ``condition`` until it returns something true; that value, or TimeoutError."""
    deadline = time.monotonic() + timeout_seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{condition} did not hold within {timeout_seconds} s")
        time.sleep(0.05)
    return value


@contextmanager
def deployed(assembly: Path, *, speedup: float = 50, job_seconds: float = 600,
             keys: dict[str, dict[str, Any]] | None = None, skip_idle: bool = True) -> Iterator[DeployedPipeline]:
    """``NeoRecommenderStack`` of ``assembly`` deployed into a fresh emulator.

    Time runs ``speedup`` times faster while anything works, and skips what every run waits through
    (``skip_idle``): a run takes as long as its work, and a busy emulator does not stretch simulated time.
    ``keys``: customer managed keys (ARN -> key policy) that exist in the account before the deployment.
    """
    with EmbeddedAws(speedup=speedup, job_duration_seconds=job_seconds, skip_idle=skip_idle) as aws:
        for arn, policy in (keys or {}).items():
            aws.create_key(arn, policy)
        yield DeployedPipeline(aws, aws.deploy(assembly, STACK_NAME), assembly)


def synthesized_with(outdir: Path, context: dict[str, Any]) -> Path:
    """``NeoRecommenderStack`` synthesized with ``context`` over cdk.json's; returns the assembly folder."""
    from neo_recommender.emulator.assembly import synthesize

    defaults = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
    return synthesize(outdir, {**defaults, **context})[1]


@pytest.fixture(scope="module")
def pipeline(synthesized: Any) -> Iterator[DeployedPipeline]:
    """The stack deployed into a fresh emulator; IR jobs take a simulated 10 minutes."""
    with deployed(synthesized.assembly_dir) as deployment:
        yield deployment


CONFIGURED_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def imported_key_policy(account: str = "123456789012", region: str = "us-east-1") -> dict[str, Any]:
    """The key policy a user gives a key to import (``kmsKeyArn``), as the README and the synth warnings say: KMS's
    default statement (the account's IAM policies decide), CloudWatch Logs for the log groups, CloudWatch for the
    alarm topic."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*", "Condition": {"ArnLike": {
             "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:*"}}},
        {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account},
                       "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:*"}}}]}
#: cdk.json context of the configured stack: a KMS key, Advanced job settings, at most two jobs at once and
#: each run polling its own job, as users would set them.
CONFIGURED_CONTEXT = {
    "neo-recommender:kmsKeyArn": CONFIGURED_KEY_ARN,
    "neo-recommender:jobType": "Advanced",
    "neo-recommender:instanceTypes": "ml.c5.xlarge,ml.c5.2xlarge",  # as `cdk deploy -c` passes a list
    "neo-recommender:jobDurationSeconds": 3600,
    "neo-recommender:jobDeadlineMinutes": 70,  # past the 1-hour job duration, and a short wait for a stuck job
    "neo-recommender:trafficPattern": json.dumps({"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}),
    "neo-recommender:stoppingConditions": {"MaxInvocations": 300},
    "neo-recommender:namePrefix": "team-a-",
    "neo-recommender:maxConcurrentJobs": 2,
    "neo-recommender:jobPolling": "perRun",
}


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedPipeline]:
    """``NeoRecommenderStack`` synthesized with ``CONFIGURED_CONTEXT`` over cdk.json, in a fresh emulator."""
    with deployed(synthesized_with(tmp_path_factory.mktemp("configured"), CONFIGURED_CONTEXT),
                  keys={CONFIGURED_KEY_ARN: imported_key_policy()}) as deployment:
        yield deployment


#: cdk.json context of the stack the fault and burst tests run: at most five jobs at once, a 90-minute deadline (past
#: the runs' own hourly check, so a check can find its job still running and put it back on the poller's list).
LIMITED_CONTEXT = {"neo-recommender:maxConcurrentJobs": 5, "neo-recommender:jobDeadlineMinutes": 90}


@pytest.fixture(scope="session")
def limited_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``NeoRecommenderStack`` synthesized with ``LIMITED_CONTEXT`` over cdk.json (once per test worker)."""
    return synthesized_with(tmp_path_factory.mktemp("limited"), LIMITED_CONTEXT)


@pytest.fixture(scope="module")
def limited(limited_assembly: Path) -> Iterator[DeployedPipeline]:
    """The limited stack in a fresh emulator; IR jobs take a simulated 5 minutes."""
    with deployed(limited_assembly, job_seconds=300) as deployment:
        yield deployment
