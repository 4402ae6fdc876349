"""``EmbeddedAws``: moto, the IR simulator, in-process Lambdas and the service wiring, together."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from neo_recommender.emulator.aws_faults import AwsFaults
from neo_recommender.emulator.clock import SimulatedClock
from neo_recommender.emulator.deploy import DeployedStack, deploy_stack
from neo_recommender.emulator.ir_simulator import FaultPlan, InferenceRecommenderSimulator
from neo_recommender.emulator.lambda_runner import InProcessLambdas
from neo_recommender.emulator.wiring import ServiceWiring

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class EmbeddedAws:
    """An in-process AWS account running the synthesized stack end to end.

    Time is simulated: Wait states and Inference Recommender jobs run ``speedup`` times faster
    than real time, so a 45-minute job with one-minute polling takes a few seconds.
    """

    def __init__(self, *, speedup: float = 1000.0, job_duration_seconds: float = 45 * 60,
                 faults: FaultPlan | None = None) -> None:
        self.clock = SimulatedClock(speedup=speedup)
        self.recommender = InferenceRecommenderSimulator(self.clock, job_duration_seconds=job_duration_seconds,
                                                         faults=faults or FaultPlan())
        self.lambdas = InProcessLambdas(self.clock)
        self.wiring = ServiceWiring(self.clock)
        self.aws_faults = AwsFaults()
        self._mock = mock_aws(config={"lambda": {"use_docker": False},
                                      "stepfunctions": {"execute_state_machine": True}})

    def __enter__(self) -> EmbeddedAws:
        self._mock.start()
        self.lambdas.install()
        self.wiring.install()
        self.recommender.install()
        self.aws_faults.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.aws_faults.uninstall()
        self.recommender.uninstall()
        self.wiring.uninstall()
        self.lambdas.uninstall()
        self._mock.stop()

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated account (requests validated by botocore)."""
        return boto3.client(service, region_name=REGION)

    def deploy(self, assembly_dir: Path, stack_name: str) -> DeployedStack:
        """Deploy a stack of a synthesized cloud assembly."""
        deployed = deploy_stack(Path(assembly_dir), stack_name, ACCOUNT_ID, REGION)
        self.wiring.function_dead_letter_queues.update(deployed.function_dead_letter_queues)
        self.wiring.function_retry_attempts.update(deployed.function_retry_attempts)
        return deployed

    def wait_for_executions(self, state_machine_arn: str, count: int = 1,
                            timeout_seconds: float = 60.0) -> list[dict[str, Any]]:
        """Wait until ``count`` executions exist and have all ended; return them, oldest first."""
        stepfunctions = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_seconds
        while True:
            executions = [execution for page in stepfunctions.get_paginator("list_executions").paginate(
                stateMachineArn=state_machine_arn) for execution in page["executions"]]
            if len(executions) >= count and all(e["status"] in _TERMINAL for e in executions):
                return sorted((stepfunctions.describe_execution(executionArn=e["executionArn"])
                               for e in executions), key=lambda e: e["startDate"])
            if time.monotonic() > deadline:
                states = [e["status"] for e in executions]
                raise TimeoutError(f"executions did not finish within {timeout_seconds} s: {states}")
            time.sleep(0.05 if len(executions) < 20 else 0.5)  # listing hundreds of executions is not free
