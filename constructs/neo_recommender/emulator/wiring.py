"""Fill the gaps between moto's services so the stack runs as it would in AWS.

- EventBridge targets of type Step Functions: moto matches a rule's pattern but delivers
  only to logs, SQS and buses; here a match starts an execution with the event as input.
- Wait states, Retry intervals, task timeouts (a ``.waitForTaskToken`` task's ``TimeoutSeconds``)
  and boto3's retry backoff: moto and botocore sleep for real; here they sleep on the simulated
  clock, so a 45-minute job and its polling take seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
from moto.events.models import Rule
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.utilities.arns import parse_arn

from neo_recommender.emulator.clock import SimulatedClock


class ServiceWiring:
    """Installs and removes the EventBridge-to-Step-Functions delivery and the simulated Wait."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.delivered_events: list[dict[str, Any]] = []
        self._originals: dict[str, Callable[..., Any]] = {}

    def install(self) -> None:
        """Patch moto; idempotent."""
        if self._originals:
            return
        self._originals = {"send_to_targets": Rule.send_to_targets, "wait": WaitFunction._wait_interval,
                           "retry_time": retrier_decl.time, "timeout": Timeout._eval_body,
                           "botocore_time": botocore.endpoint.time}
        wiring = self
        original_send = self._originals["send_to_targets"]

        def send_to_targets(rule: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
            states = [t for t in rule.targets if parse_arn(t["Arn"]).service == "states"]
            if states and rule.event_pattern.matches_event(original_event):
                for target in states:
                    wiring.start_execution(target["Arn"], original_event)
            others = [t for t in rule.targets if t not in states]
            if others:
                saved, rule.targets = rule.targets, others
                try:
                    original_send(rule, original_event, transform_input)
                finally:
                    rule.targets = saved

        def wait_interval(function: WaitFunction, env: Any, wait_seconds: int) -> None:
            if wait_seconds > 0:
                env.program_state_event.wait(wiring.clock.real_seconds(wait_seconds))

        def timeout_seconds(timeout: Timeout, env: Any) -> None:
            env.stack.append(wiring.clock.real_seconds(timeout._eval_seconds(env)))

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
        WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
        retrier_decl.time = SimpleNamespace(sleep=wiring.clock.sleep)  # type: ignore[assignment]
        Timeout._eval_body = timeout_seconds  # type: ignore[method-assign]
        botocore.endpoint.time = SimpleNamespace(  # type: ignore[assignment]
            sleep=wiring.clock.sleep, time=time.time, monotonic=time.monotonic)

    def uninstall(self) -> None:
        """Restore moto."""
        if self._originals:
            Rule.send_to_targets = self._originals["send_to_targets"]  # type: ignore[method-assign]
            WaitFunction._wait_interval = self._originals["wait"]  # type: ignore[method-assign]
            retrier_decl.time = self._originals["retry_time"]  # type: ignore[assignment]
            Timeout._eval_body = self._originals["timeout"]  # type: ignore[method-assign]
            botocore.endpoint.time = self._originals["botocore_time"]  # type: ignore[assignment]
            self._originals = {}

    def start_execution(self, state_machine_arn: str, event: dict[str, Any]) -> str:
        """Start an execution as EventBridge does: the event (id and ISO time of its own) is the input."""
        delivered = {**event, "id": str(uuid.uuid4()), "time": _iso_time(event.get("time"))}
        self.delivered_events.append(delivered)
        arn = parse_arn(state_machine_arn)
        backend = stepfunctions_parser_backends[arn.account][arn.region]
        # EventBridge names each execution it starts uniquely; a redelivered event is a new execution.
        execution = backend.start_execution(state_machine_arn, name=f"{delivered['id']}",
                                            execution_input=json.dumps(delivered))
        return execution.execution_arn


def _iso_time(value: Any) -> str:
    # moto stamps S3 events with epoch seconds; EventBridge sends ISO 8601.
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
