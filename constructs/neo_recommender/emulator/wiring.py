"""Fill the gaps between moto's services so the stack runs as it would in AWS.

- EventBridge targets of type Step Functions and Lambda: moto matches a rule's pattern but
  delivers only to logs, SQS and buses; here a match starts an execution with the event as
  input, or invokes the function asynchronously (two retries, then its dead-letter queue).
  A delivery that fails (``fail_deliveries``, for fault tests) goes to the target's
  dead-letter queue, as EventBridge does once its retries are spent.
- Step Functions' "Execution Status Change" events: an execution that ends puts one on the
  default bus, as Step Functions does.
- Lambda invocations the Lambda service refuses (e.g. throttled): Step Functions names the
  error ``Lambda.<code>`` (``Lambda.TooManyRequestsException``); moto calls it ``Exception``.
- Scheduled rules (``rate(...)``): moto stores them but never fires them (and its empty event
  pattern would match every event); here an enabled rule invokes its Lambda targets with a
  "Scheduled Event" every interval of simulated time, one delivery at a time, and nothing else.
- ``SendTaskFailure``'s ``cause``: moto passes only the error on to the waiting task.
- ``StopExecution`` of an execution waiting on a task token: moto lets the wait run on until its
  timeout; here the stop interrupts it, and the execution ends ``ABORTED`` at once.
- Rule state and patterns: a DISABLED rule delivers nothing, and a pattern with a filter EventBridge does not
  know (e.g. ``{"wildcards": ...}``) is refused when the rule is put, as EventBridge refuses it; moto would
  deliver through a disabled rule and match an unknown filter against everything.
- Who delivers: with IAM enforcement, each delivery is authorized as AWS authorizes it (``deliveries``), and
  a state machine's tasks call their services as the state machine's role.
- Wait states, Retry intervals, task timeouts (a task's ``TimeoutSeconds``: its result and a
  ``.waitForTaskToken`` callback are awaited that long), the state machine's own ``TimeoutSeconds``
  (an execution running longer ends TIMED_OUT), boto3's retry backoff and the schedules:
  moto and botocore sleep for real; here they wait on the simulated clock, so a 45-minute job and
  its polling take seconds. Every AWS call marks the clock busy, so a clock that skips idle time
  (``SimulatedClock(skip_idle=True)``) jumps only while nothing is in flight.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto.core.responses import EmptyResult
from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPatternParser, EventsBackend, Rule, events_backends
from moto.stepfunctions.parser.api import LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.program import program
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval import environment
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.backend import execution_worker
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.responses import StepFunctionResponse
from moto.utilities.arns import parse_arn

from neo_recommender.emulator import deliveries
from neo_recommender.emulator.clock import PulsedEvent, SimulatedClock
from neo_recommender.emulator.iam_enforcement import IamEnforcement, acting_as, role_principal

#: How often Lambda retries an asynchronous invocation that returned an error, before its dead-letter queue
#: (unless the function's EventInvokeConfig says otherwise).
ASYNC_RETRIES = 2
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
#: EventBridge's content filters (https://docs.aws.amazon.com/eventbridge/latest/userguide/
#: eb-create-pattern-operators.html); any other name in a filter is refused when the rule is put.
EVENT_PATTERN_FILTERS = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "cidr",
                                   "equals-ignore-case", "wildcard"})


class ServiceWiring:
    """Installs and removes the EventBridge-to-Step-Functions delivery and the simulated Wait."""

    def __init__(self, clock: SimulatedClock, iam: IamEnforcement | None = None) -> None:
        self.clock = clock
        self.iam = iam
        #: Events EventBridge could neither deliver nor dead-letter (dropped, as EventBridge drops them).
        self.dropped_events: list[dict[str, Any]] = []
        #: While set, scheduled rules do not fire (a deployment in progress: CloudFormation creates a schedule's
        #: target permission in the same deployment, which the emulator completes only after moto's part).
        self.schedules_paused = threading.Event()
        self.delivered_events: list[dict[str, Any]] = []
        self.status_changes: list[dict[str, Any]] = []
        self._lambda_clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        #: Function name -> URL of its dead-letter queue (moto's Lambda does not keep DeadLetterConfig).
        self.function_dead_letter_queues: dict[str, str] = {}
        #: Function name -> retries of a failed asynchronous invocation (its EventInvokeConfig).
        self.function_retry_attempts: dict[str, int] = {}
        #: The next N deliveries to a Step Functions target fail (EventBridge's retries are spent).
        self.fail_deliveries = 0
        #: Rule name -> how many scheduled events it delivered.
        self.scheduled_deliveries: Counter[str] = Counter()
        self._async_invocations: list[threading.Thread] = []
        self._originals: dict[str, Callable[..., Any]] = {}
        self._stop_schedules = threading.Event()
        #: Set to wake the schedules' loop: a rule was enabled or put (or the loop is to stop).
        self._schedules_changed = threading.Event()
        #: A rule change not yet planned by the schedules' loop holds the clock busy (a clock skipping idle time
        #: must not jump past a schedule just enabled, to a run's timeout).
        self._replan_pending = False
        self._replan_lock = threading.Lock()
        self._schedules: threading.Thread | None = None

    def install(self) -> None:
        """Patch moto; idempotent."""
        if self._originals:
            return
        self._originals = {"send_to_targets": Rule.send_to_targets, "wait": WaitFunction._wait_interval,
                           "retry_time": retrier_decl.time, "task_threading": execute_state.threading,
                           "task_thread": execute_state.Thread, "program_threading": program.threading,
                           "worker_thread": execution_worker.Thread, "environment_threading": environment.threading,
                           "callback_wait": CallbackEndpoint.wait, "api_call": BaseClient._make_api_call,
                           "botocore_time": botocore.endpoint.time,
                           "terminated": BaseExecutionWorkerCommunication.terminated,
                           "lambda_error": StateTaskLambda._from_error,
                           "send_task_failure": StepFunctionResponse.send_task_failure,
                           "set_stop": Environment.set_stop, "set_error": Environment.set_error,
                           "validate_pattern": EventPatternParser._validate_event_pattern,
                           "enable_rule": EventsBackend.enable_rule, "put_rule": EventsBackend.put_rule,
                           "lambda_task": StateTaskServiceLambda._eval_service_task,
                           "sdk_task": StateTaskServiceAwsSdk._eval_service_task,
                           "lambda_arn_task": StateTaskLambda._eval_execution}
        wiring = self
        original_send = self._originals["send_to_targets"]

        def send_to_targets(rule: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
            if not rule.event_pattern.get_pattern():  # a schedule-only rule: moto's empty pattern matches all
                return
            if rule.state != "ENABLED":  # "a disabled rule doesn't match any events" (EventBridge's DisableRule)
                return
            wired = [t for t in rule.targets if parse_arn(t["Arn"]).service in ("states", "lambda")]
            if wired and rule.event_pattern.matches_event(original_event):
                for target in wired:
                    wiring.deliver(target, original_event, rule.arn)
            others = [t for t in rule.targets if t not in wired]
            if others:
                saved, rule.targets = rule.targets, others
                try:
                    original_send(rule, original_event, transform_input)
                finally:
                    rule.targets = saved

        def wait_interval(function: WaitFunction, env: Any, wait_seconds: int) -> None:
            if wait_seconds > 0:
                wiring.clock.wait(env.program_state_event, wait_seconds)

        class TaskTerminatedEvent(threading.Event):
            """A task's end, awaited for its TimeoutSeconds of simulated time (moto's ExecutionState)."""

            def wait(self, timeout: float | None = None) -> bool:
                return wiring.clock.wait(self, timeout)

        def callback_wait(endpoint: CallbackEndpoint, timeout: float | None = None) -> Any:
            wiring.clock.wait(endpoint._notify_event, timeout)
            return endpoint._outcome

        original_api_call = self._originals["api_call"]

        def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            with wiring.clock.busy():
                return original_api_call(client, operation_name, api_params)

        original_terminated = self._originals["terminated"]
        original_lambda_error = self._originals["lambda_error"]

        def lambda_error(task: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
            failure = original_lambda_error(task, env, ex)
            if isinstance(ex, ClientError):
                error = f"Lambda.{ex.response['Error']['Code']}"
                return FailureEvent(env=env, error_name=CustomErrorName(error), event_type=failure.event_type,
                                    event_details=EventDetails(lambdaFunctionFailedEventDetails=(
                                        LambdaFunctionFailedEventDetails(error=error,
                                                                         cause=ex.response["Error"]["Message"]))))
            return failure

        def terminated(communication: BaseExecutionWorkerCommunication) -> None:
            original_terminated(communication)
            wiring.publish_status_change(communication.execution)

        def send_task_failure(response: StepFunctionResponse) -> EmptyResult:
            response.stepfunction_backend.send_task_failure(
                response._get_param("taskToken"), error=response._get_param("error"),
                cause=response._get_param("cause"))
            return EmptyResult()

        original_set_stop, original_set_error = self._originals["set_stop"], self._originals["set_error"]

        def set_stop(env: Environment, stop_date: Any, cause: str | None, error: str | None) -> None:
            original_set_stop(env, stop_date, cause, error)
            for endpoint in list(env.callback_pool_manager._pool.values()):
                endpoint.interrupt_all()

        def set_error(env: Environment, error: Any) -> None:
            if not isinstance(env._program_state, ProgramStopped):  # an aborted execution stays aborted
                original_set_error(env, error)

        original_validate = self._originals["validate_pattern"]

        def validate_pattern(parser: EventPatternParser, pattern: dict[str, Any]) -> None:
            _refuse_unknown_filters(pattern)
            original_validate(parser, pattern)

        def as_state_machine_role(original: Callable[..., Any]) -> Callable[..., Any]:
            def eval_service_task(task: Any, env: Environment, *args: Any, **kwargs: Any) -> Any:
                if wiring.iam is None:
                    return original(task, env, *args, **kwargs)
                context = env.states.context_object.context_object_data
                role = context["Execution"]["RoleArn"]
                with acting_as(role_principal(role, context["Execution"]["Name"])):
                    return original(task, env, *args, **kwargs)
            return eval_service_task

        def replanning(original: Callable[..., Any]) -> Callable[..., Any]:
            def changed(backend: EventsBackend, *args: Any, **kwargs: Any) -> Any:
                answer = original(backend, *args, **kwargs)
                wiring._schedules_may_have_changed()
                return answer
            return changed

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
        EventsBackend.enable_rule = replanning(self._originals["enable_rule"])  # type: ignore[method-assign]
        EventsBackend.put_rule = replanning(self._originals["put_rule"])  # type: ignore[method-assign]
        EventPatternParser._validate_event_pattern = validate_pattern  # type: ignore[method-assign]
        StateTaskServiceLambda._eval_service_task = as_state_machine_role(  # type: ignore[method-assign]
            self._originals["lambda_task"])
        StateTaskServiceAwsSdk._eval_service_task = as_state_machine_role(  # type: ignore[method-assign]
            self._originals["sdk_task"])
        # A Task whose Resource is the function's ARN itself (not arn:aws:states:::lambda:invoke) is invoked with the
        # state machine's role too: "Step Functions ... uses the role to invoke the Lambda function"
        # (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html).
        StateTaskLambda._eval_execution = as_state_machine_role(  # type: ignore[method-assign]
            self._originals["lambda_arn_task"])
        Environment.set_stop = set_stop  # type: ignore[method-assign]
        Environment.set_error = set_error  # type: ignore[method-assign]
        StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]
        WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
        retrier_decl.time = SimpleNamespace(sleep=wiring.clock.sleep)  # type: ignore[assignment]
        execute_state.threading = SimpleNamespace(Event=TaskTerminatedEvent)  # type: ignore[assignment]
        worker_thread = self.clock.worker_thread_class()
        execute_state.Thread = worker_thread  # type: ignore[misc]
        program.threading = SimpleNamespace(Thread=worker_thread)  # type: ignore[assignment]
        execution_worker.Thread = worker_thread  # type: ignore[misc]
        # An execution's end pulses its program-state event (set, then cleared): a Wait state woken by it must not
        # look asleep to the clock, or an idle moment before it resumes skips time to its own deadline.
        environment.threading = SimpleNamespace(Event=PulsedEvent, RLock=threading.RLock)  # type: ignore[assignment]
        CallbackEndpoint.wait = callback_wait  # type: ignore[method-assign]
        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
        StateTaskLambda._from_error = lambda_error  # type: ignore[method-assign]
        botocore.endpoint.time = SimpleNamespace(  # type: ignore[assignment]
            sleep=wiring.clock.sleep, time=time.time, monotonic=time.monotonic)
        self._stop_schedules.clear()
        self._schedules = threading.Thread(target=self._run_schedules, name="emulated-schedules", daemon=True)
        self._schedules.start()

    def uninstall(self) -> None:
        """Restore moto."""
        if self._schedules is not None:
            self._stop_schedules.set()
            self._schedules_changed.set()
            self._schedules.join(timeout=30)
            self._schedules = None
        if self._originals:
            Rule.send_to_targets = self._originals["send_to_targets"]  # type: ignore[method-assign]
            EventsBackend.enable_rule = self._originals["enable_rule"]  # type: ignore[method-assign]
            EventsBackend.put_rule = self._originals["put_rule"]  # type: ignore[method-assign]
            WaitFunction._wait_interval = self._originals["wait"]  # type: ignore[method-assign]
            retrier_decl.time = self._originals["retry_time"]  # type: ignore[assignment]
            execute_state.threading = self._originals["task_threading"]  # type: ignore[assignment]
            execute_state.Thread = self._originals["task_thread"]  # type: ignore[misc]
            program.threading = self._originals["program_threading"]  # type: ignore[assignment]
            execution_worker.Thread = self._originals["worker_thread"]  # type: ignore[misc]
            environment.threading = self._originals["environment_threading"]  # type: ignore[assignment]
            CallbackEndpoint.wait = self._originals["callback_wait"]  # type: ignore[method-assign]
            BaseClient._make_api_call = self._originals["api_call"]  # type: ignore[method-assign]
            botocore.endpoint.time = self._originals["botocore_time"]  # type: ignore[assignment]
            BaseExecutionWorkerCommunication.terminated = self._originals["terminated"]  # type: ignore[method-assign]
            StateTaskLambda._from_error = self._originals["lambda_error"]  # type: ignore[method-assign]
            StepFunctionResponse.send_task_failure = self._originals["send_task_failure"]  # type: ignore[method-assign]
            Environment.set_stop = self._originals["set_stop"]  # type: ignore[method-assign]
            Environment.set_error = self._originals["set_error"]  # type: ignore[method-assign]
            EventPatternParser._validate_event_pattern = self._originals["validate_pattern"]  # type: ignore[method-assign]
            StateTaskServiceLambda._eval_service_task = self._originals["lambda_task"]  # type: ignore[method-assign]
            StateTaskServiceAwsSdk._eval_service_task = self._originals["sdk_task"]  # type: ignore[method-assign]
            StateTaskLambda._eval_execution = self._originals["lambda_arn_task"]  # type: ignore[method-assign]
            self._originals = {}
        self._lambda_clients.clear()

    def deliver(self, target: dict[str, Any], event: dict[str, Any], rule_arn: str) -> None:
        """Deliver a matched event to a Step Functions or Lambda target, as EventBridge does.

        A delivery AWS would refuse (the target role, the function's policy) fails each of EventBridge's
        retries alike: the event goes to the target's dead-letter queue, if the queue's policy lets it in.
        """
        dead_letter_queue = target.get("DeadLetterConfig", {}).get("Arn")
        if parse_arn(target["Arn"]).service == "lambda":
            if self.iam is not None:
                decision = deliveries.events_may_invoke(self.iam, rule_arn, target["Arn"])
                if not decision.allowed:
                    self._dead_letter(dead_letter_queue, event, f"Invoke failed: {decision.reason}", rule_arn)
                    return
            self.clock.begin_work()  # until the invocation ends, in its own thread
            invocation = threading.Thread(target=self._invoke_async_work, args=(target["Arn"], event), daemon=True)
            invocation.start()  # before it is listed: a waiter joins only started threads
            self._async_invocations.append(invocation)
            return
        if self.fail_deliveries > 0:
            self.fail_deliveries -= 1
            self._dead_letter(dead_letter_queue, event, "StartExecution failed "
                              "(injected: EventBridge's retries were spent)", rule_arn)
            return
        if self.iam is not None:
            decision = deliveries.events_may_start_execution(self.iam, rule_arn, target.get("RoleArn"),
                                                             target["Arn"])
            if not decision.allowed:
                self._dead_letter(dead_letter_queue, event, f"StartExecution failed: {decision.reason}", rule_arn)
                return
        self.start_execution(target["Arn"], event)

    def fire_alarm(self, alarm_name: str, reason: str) -> list[str]:
        """Set an alarm to ALARM and publish its actions as CloudWatch does; the topics that took them."""
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.sns.models import sns_backends

        backend = cloudwatch_backends[self.iam.account if self.iam else "123456789012"][
            self.iam.region if self.iam else "us-east-1"]
        backend.set_alarm_state(alarm_name, reason, None, "ALARM")  # type: ignore[arg-type]
        alarm = backend.alarms[alarm_name]
        delivered = []
        for action in alarm.alarm_actions:
            arn = parse_arn(action)
            if arn.service != "sns":
                continue
            topic = sns_backends[arn.account][arn.region].topics[action]
            if self.iam is not None and not deliveries.cloudwatch_may_publish(
                    self.iam, alarm.alarm_arn, action, topic.kms_master_key_id or None).allowed:
                continue
            message = json.dumps({"AlarmName": alarm_name, "NewStateValue": "ALARM", "NewStateReason": reason,
                                  "AlarmArn": alarm.alarm_arn, "AlarmDescription": alarm.description})
            sns_backends[arn.account][arn.region].publish(message, arn=action,
                                                          subject=f'ALARM: "{alarm_name}" in {arn.region}')
            delivered.append(action)
        return delivered

    def wait_for_async_invocations(self, timeout_seconds: float = 30.0) -> None:
        """Block until every asynchronous Lambda invocation so far has finished."""
        deadline = time.monotonic() + timeout_seconds
        for invocation in list(self._async_invocations):
            invocation.join(max(0.0, deadline - time.monotonic()))

    def wait_until_quiet(self, quiet_seconds: float | None = None, timeout_seconds: float = 30.0) -> None:
        """Block until asynchronous invocations have all returned and no new one started for ``quiet_seconds``
        (an execution's status-change event is delivered shortly after it ends): by default 0.2 s, or 0.05 s with a
        clock that skips idle time (every delivery then holds the clock busy from the moment it is set off)."""
        if quiet_seconds is None:
            quiet_seconds = 0.05 if self.clock.skip_idle else 0.2
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            started = len(self._async_invocations)
            self.wait_for_async_invocations(max(0.0, deadline - time.monotonic()))
            time.sleep(quiet_seconds)
            if len(self._async_invocations) == started:
                return

    def publish_status_change(self, execution: Any) -> None:
        """Put Step Functions' "Execution Status Change" event of an ended execution on the default bus."""
        arn = parse_arn(execution.exec_arn)
        detail = {
            "executionArn": execution.exec_arn, "stateMachineArn": execution.state_machine_arn,
            "name": execution.name, "status": getattr(execution.exec_status, "value", execution.exec_status),
            "startDate": int(execution.start_date.timestamp() * 1000),
            "stopDate": int(execution.stop_date.timestamp() * 1000) if execution.stop_date else None,
            "input": json.dumps(execution.input_data), "error": execution.error, "cause": execution.cause,
        }
        with self.clock.busy():
            self.status_changes.append(detail)
            events_backends[arn.account][arn.region].put_events([{
                "Source": "aws.states", "DetailType": "Step Functions Execution Status Change",
                "Detail": json.dumps(detail), "Resources": [execution.exec_arn], "EventBusName": "default"}])

    def _run_schedules(self) -> None:
        """Fire every enabled ``rate(...)`` rule once per interval of simulated time, the first an
        interval after it was seen enabled; a disabled rule starts afresh when enabled again."""
        next_fire: dict[str, datetime] = {}
        while not self._stop_schedules.is_set():
            if self.schedules_paused.is_set():
                next_fire.clear()
                self._stop_schedules.wait(0.005)
                continue
            with self.clock.busy():
                self._schedules_changed.clear()
                with self._replan_lock:
                    replanned, self._replan_pending = self._replan_pending, False
                now = self.clock.now()
                enabled = _enabled_schedules()
                for arn in set(next_fire) - set(enabled):
                    del next_fire[arn]
                for arn, (rule, interval) in enabled.items():
                    due = next_fire.setdefault(arn, now + interval)
                    if now >= due:
                        self._fire_schedule(arn, rule, now)
                        # A delivery slower than the interval delays the next one; missed ones are not replayed.
                        later = self.clock.now()
                        next_fire[arn] = due + interval if due + interval > later else later + interval
                if replanned:
                    self.clock.end_work()
            # Until the next delivery is due (a deadline a clock skipping idle time jumps to), or a rule changes,
            # looking again every 50 ms of real time in any case.
            next_due = min(next_fire.values(), default=None)
            self.clock.wait(self._schedules_changed,
                            None if next_due is None else (next_due - self.clock.now()).total_seconds(),
                            real_limit=0.05)
        with self._replan_lock:
            if self._replan_pending:
                self._replan_pending = False
                self.clock.end_work()

    def _schedules_may_have_changed(self) -> None:
        """A rule was enabled or put: the schedules' loop plans again, and the clock waits for it."""
        with self._replan_lock:
            if not self._replan_pending:
                self._replan_pending = True
                self.clock.begin_work()
        self._schedules_changed.set()

    def _fire_schedule(self, arn: str, rule: Rule, now: datetime) -> None:
        """Deliver one "Scheduled Event" of ``rule`` to its Lambda targets."""
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": rule.account_id, "time": _iso_time(now.isoformat()),
                 "region": rule.region_name, "resources": [arn], "detail": {}}
        for target in rule.targets:
            if parse_arn(target["Arn"]).service != "lambda":
                continue
            if self.iam is not None and not deliveries.events_may_invoke(self.iam, arn, target["Arn"]).allowed:
                continue  # with no retries left and no dead-letter queue, the event is dropped
            self._invoke_async(target["Arn"], event)
        self.scheduled_deliveries[rule.name] += 1

    def _invoke_async_work(self, function_arn: str, event: dict[str, Any]) -> None:
        try:
            self._invoke_async(function_arn, event)
        finally:
            self.clock.end_work()

    def _invoke_async(self, function_arn: str, event: dict[str, Any]) -> None:
        arn = parse_arn(function_arn)
        lambda_client = self._lambda_client(arn.region)
        payload = json.dumps({**event, "id": event.get("id") or str(uuid.uuid4())})
        error = ""
        function_name = arn.resource_id.split(":")[0]
        for _ in range(1 + self.function_retry_attempts.get(function_name, ASYNC_RETRIES)):
            response = lambda_client.invoke(FunctionName=function_arn, Payload=payload)
            if "FunctionError" not in response:
                return
            error = response["Payload"].read().decode("utf-8", "replace")[:1000]
        queue_url = self.function_dead_letter_queues.get(function_name)
        if queue_url and self.iam is not None:
            role = lambda_client.get_function(FunctionName=function_arn)["Configuration"]["Role"]
            queue_arn = f"arn:aws:sqs:{arn.region}:{arn.account}:{queue_url.rsplit('/', 1)[-1]}"
            if not deliveries.lambda_may_dead_letter(self.iam, role, function_name, queue_arn).allowed:
                self.dropped_events.append(json.loads(payload))
                return
        if queue_url:
            boto3.client("sqs", region_name=arn.region).send_message(
                QueueUrl=queue_url, MessageBody=payload,
                MessageAttributes={"ErrorMessage": {"DataType": "String", "StringValue": error or "error"}})

    def _lambda_client(self, region: str) -> Any:
        """One Lambda client per region for EventBridge's deliveries (creating one costs more than invoking)."""
        with self._clients_lock:
            if region not in self._lambda_clients:
                self._lambda_clients[region] = boto3.client("lambda", region_name=region)
            return self._lambda_clients[region]

    def _dead_letter(self, queue_arn: str | None, event: dict[str, Any], reason: str, rule_arn: str) -> None:
        if not queue_arn or (self.iam is not None and
                             not deliveries.events_may_dead_letter(self.iam, rule_arn, queue_arn).allowed):
            self.dropped_events.append(event)
            return
        arn = parse_arn(queue_arn)
        sqs = boto3.client("sqs", region_name=arn.region)
        queue_url = sqs.get_queue_url(QueueName=arn.resource_id, QueueOwnerAWSAccountId=arn.account)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event, default=str), MessageAttributes={
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": reason}})

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


def _refuse_unknown_filters(pattern: Any) -> None:
    """Refuse a filter EventBridge does not know, as PutRule does ("Unrecognized match type ...")."""
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if key == "$or":
                for alternative in value:
                    _refuse_unknown_filters(alternative)
            else:
                _refuse_unknown_filters(value)
    elif isinstance(pattern, list):
        for item in pattern:
            if isinstance(item, dict):
                unknown = [name for name in item if name not in EVENT_PATTERN_FILTERS]
                if unknown:
                    raise InvalidEventPatternException(reason=f"Unrecognized match type {unknown[0]}")


def _enabled_schedules() -> dict[str, tuple[Rule, timedelta]]:
    """Enabled rules with a ``rate(...)`` schedule in every emulated account and region, by ARN."""
    rules = {}
    for _, _, backend in list(events_backends.iter_backends()):
        for bus in list(backend.event_buses.values()):
            for rule in list(bus.rules.values()):
                match = _RATE.fullmatch(rule.scheduled_expression or "")
                if match and rule.state == "ENABLED":
                    unit = match.group(2).rstrip("s")
                    rules[rule.arn] = (rule, timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[unit]))
    return rules


def _iso_time(value: Any) -> str:
    # moto stamps S3 events with epoch seconds; EventBridge sends ISO 8601.
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
