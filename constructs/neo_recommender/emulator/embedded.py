"""``EmbeddedAws``: moto, the IR simulator, in-process Lambdas and the service wiring, together."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from neo_recommender.emulator.aws_faults import AwsFaults
from neo_recommender.emulator.clock import SimulatedClock
from neo_recommender.emulator.collection_thresholds import FewerCollections
from neo_recommender.emulator.deploy import DeployedStack, deploy_stack
from neo_recommender.emulator.iam_enforcement import IamEnforcement
from neo_recommender.emulator.ir_simulator import FaultPlan, InferenceRecommenderSimulator
from neo_recommender.emulator.lambda_runner import InProcessLambdas
from neo_recommender.emulator.moto_fidelity import MotoFidelity
from neo_recommender.emulator.moto_speedups import MotoSpeedups
from neo_recommender.emulator.wiring import ServiceWiring

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class EmbeddedAws:
    """An in-process AWS account running the synthesized stack end to end.

    Time is simulated: Wait states and Inference Recommender jobs run ``speedup`` times faster
    than real time, so a 45-minute job with one-minute polling takes a few seconds. With ``skip_idle``
    the clock also jumps over time in which nothing works (every run waiting on a job, a timeout or the
    next poll): runs then take as long as their work, not as long as their waits.

    IAM is enforced (``iam``): every AWS call of a deployed function, of the state machine's tasks, of
    EventBridge's and CloudWatch's deliveries and of Inference Recommender's work with its role is
    authorized against the deployed policies, and refused as AWS refuses it.
    """

    def __init__(self, *, speedup: float = 1000.0, job_duration_seconds: float = 45 * 60,
                 faults: FaultPlan | None = None, skip_idle: bool = False) -> None:
        self.clock = SimulatedClock(speedup=speedup, skip_idle=skip_idle)
        self.iam = IamEnforcement(ACCOUNT_ID, REGION)
        self.recommender = InferenceRecommenderSimulator(self.clock, job_duration_seconds=job_duration_seconds,
                                                         faults=faults or FaultPlan())
        self.recommender.iam = self.iam
        self.lambdas = InProcessLambdas(self.clock, self.iam)
        self.wiring = ServiceWiring(self.clock, self.iam)
        self.aws_faults = AwsFaults()
        self.moto_fidelity = MotoFidelity()
        self.moto_speedups = MotoSpeedups()
        self.fewer_collections = FewerCollections()
        #: Descriptions of ended executions, by ARN, with the listing they were read at (see ``wait_for_executions``).
        self._ended_executions: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._mock = mock_aws(config={"lambda": {"use_docker": False},
                                      "stepfunctions": {"execute_state_machine": True}})

    def __enter__(self) -> EmbeddedAws:
        self.fewer_collections.install()
        self._mock.start()
        self.iam.install()
        self.lambdas.install()
        self.wiring.install()
        self.recommender.install()
        self.aws_faults.install()
        self.moto_fidelity.install()
        self.moto_speedups.install()
        self.clock.start_keeper()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wiring.wait_for_async_invocations()  # none may outlive the account it runs in
        self.clock.stop_keeper()
        self.moto_speedups.uninstall()
        self.moto_fidelity.uninstall()
        self.aws_faults.uninstall()
        self.recommender.uninstall()
        self.wiring.uninstall()
        self.lambdas.uninstall()
        self.iam.uninstall()
        self._mock.stop()
        self.fewer_collections.uninstall()

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated account (requests validated by botocore)."""
        return boto3.client(service, region_name=REGION)

    def deploy(self, assembly_dir: Path, stack_name: str) -> DeployedStack:
        """Deploy a stack of a synthesized cloud assembly."""
        self.wiring.schedules_paused.set()
        try:
            deployed = deploy_stack(Path(assembly_dir), stack_name, ACCOUNT_ID, REGION, self.iam)
        finally:
            self.wiring.schedules_paused.clear()
        self.wiring.function_dead_letter_queues.update(deployed.function_dead_letter_queues)
        self.wiring.function_retry_attempts.update(deployed.function_retry_attempts)
        self.lambdas.function_log_groups.update(deployed.function_log_groups)
        self.lambdas.traced_functions.update(deployed.traced_functions)
        self.lambdas.function_logging.update(deployed.function_logging)
        return deployed

    def create_key(self, key_arn: str, policy: dict[str, Any]) -> str:
        """Create a customer managed key with a given ARN and key policy, as a key made outside the stack (a
        ``kmsKeyArn`` to import) exists before the deployment; returns its ARN."""
        from moto.kms.models import kms_backends

        region, account, key_id = key_arn.split(":")[3], key_arn.split(":")[4], key_arn.rsplit("/", 1)[1]
        backend = kms_backends[account][region]
        key = backend.create_key(json.dumps(policy), "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "imported", None)
        backend.keys.pop(key.id)
        key.id, key.arn = key_id, key_arn
        backend.keys[key_id] = key
        return key_arn

    def fire_alarm(self, alarm_name: str, reason: str = "emulated: threshold crossed") -> list[str]:
        """Put an alarm in ALARM and deliver its actions as CloudWatch does; returns the topics that took them.

        CloudWatch publishes as the service principal ``cloudwatch.amazonaws.com``: the topic's policy must allow
        it ``sns:Publish``, and an encrypted topic's key policy must allow it ``kms:GenerateDataKey*`` and
        ``kms:Decrypt`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
        https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). A
        refused delivery is dropped, as CloudWatch drops it (its alarm history says "Failed to execute action").
        """
        return self.wiring.fire_alarm(alarm_name, reason)

    def wait_for_executions(self, state_machine_arn: str, count: int = 1, timeout_seconds: float = 60.0,
                            give_up: Callable[[list[dict[str, Any]]], bool] | None = None) -> list[dict[str, Any]]:
        """Wait until ``count`` executions exist and have all ended; return them (``DescribeExecution``), oldest first.

        The executions are listed once the emulator has seen ``count`` of them end (its status-change
        events; again each time one more ends), and every 2 s in any case: listing hundreds of executions
        is not free, and a burst's listing every half second took CPU from the runs. ``give_up``, given each listing,
        ends the wait early (TimeoutError) when it says nothing more can come."""
        stepfunctions = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_seconds
        listed_at, ended_when_listed = 0.0, -1
        while True:
            ended = sum(1 for change in list(self.wiring.status_changes)
                        if change["stateMachineArn"] == state_machine_arn)
            if (ended >= count and ended != ended_when_listed) or time.monotonic() - listed_at >= 2.0:
                listed_at, ended_when_listed = time.monotonic(), ended
                executions = [execution for page in stepfunctions.get_paginator("list_executions").paginate(
                    stateMachineArn=state_machine_arn) for execution in page["executions"]]
                if len(executions) >= count and all(e["status"] in _TERMINAL for e in executions):
                    return sorted((self._describe_ended(stepfunctions, e) for e in executions),
                                  key=lambda e: e["startDate"])
                states = [e["status"] for e in executions]
                if give_up is not None and give_up(executions):
                    raise TimeoutError(f"gave up waiting for {count} executions to end: {states}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"executions did not finish within {timeout_seconds} s: {states}")
            time.sleep(0.02)

    def _describe_ended(self, stepfunctions: Any, listed: dict[str, Any]) -> dict[str, Any]:
        """``DescribeExecution`` of an ended execution, read again only if its listing changed (a redrive): a test
        that runs one scenario after another would otherwise describe every earlier execution again after each."""
        arn = listed["executionArn"]
        cached = self._ended_executions.get(arn)
        if cached is None or cached[0] != listed:
            cached = (listed, stepfunctions.describe_execution(executionArn=arn))
            self._ended_executions[arn] = cached
        return dict(cached[1])
