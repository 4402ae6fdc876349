"""What keeps the pipeline from losing anything, and tells operators when something went wrong.

- One dead-letter queue (SSE, TLS-only, 14 days): S3 events EventBridge could not deliver to the
  state machine, status-change events the safety-net function could not process, notifications SNS
  would not take and failures DynamoDB would not record.
- A safety-net rule: Step Functions' "Execution Status Change" events (FAILED, TIMED_OUT, ABORTED) of
  the state machine go to a function that records and announces any run whose own failure path did
  not (``neo_runtime.handlers.record_ended_run``).
- Alarms on failed runs, dead letters and function errors, published to a topic.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct

#: How long EventBridge keeps trying to deliver an event before it goes to the dead-letter queue.
EVENT_DELIVERY = {"retry_attempts": 185, "max_event_age": Duration.hours(24)}
#: Execution statuses after which a run may have ended unrecorded.
UNFINISHED_RUN_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"]


def dead_letter_queue(scope: Construct) -> sqs.Queue:
    """The pipeline's one dead-letter queue: encrypted (SQS-managed keys), TLS-only, kept 14 days."""
    return sqs.Queue(scope, "DeadLetterQueue", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                     retention_period=Duration.days(14))


def record_unfinished_runs(scope: Construct, state_machine: sfn.IStateMachine, function: lambda_.IFunction,
                           queue: sqs.IQueue) -> events.Rule:
    """Send the state machine's FAILED, TIMED_OUT and ABORTED executions to ``function``."""
    return events.Rule(
        scope, "RunEndedRule",
        description="Records neo-recommender runs whose execution ended without recording why",
        event_pattern=events.EventPattern(
            source=["aws.states"], detail_type=["Step Functions Execution Status Change"],
            detail={"stateMachineArn": [state_machine.state_machine_arn], "status": UNFINISHED_RUN_STATUSES}),
        targets=[targets.LambdaFunction(function, dead_letter_queue=queue, **EVENT_DELIVERY)],
    )


def create_alarms(scope: Construct, *, state_machine: sfn.StateMachine, functions: Sequence[lambda_.IFunction],
                  queue: sqs.IQueue, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
    """Alarms on failed runs, dead letters and function errors, each published to ``topic``."""
    period = Duration.minutes(5)
    failed_runs = cloudwatch.MathExpression(
        expression="FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)", label="Unsuccessful runs",
        period=period, using_metrics={
            "failed": state_machine.metric_failed(period=period),
            "timedOut": state_machine.metric_timed_out(period=period),
            "aborted": state_machine.metric_aborted(period=period)})
    function_errors = cloudwatch.MathExpression(
        expression=" + ".join(f"FILL(errors{index}, 0)" for index in range(len(functions))),
        label="Function errors", period=period,
        using_metrics={f"errors{index}": function.metric_errors(period=period)
                       for index, function in enumerate(functions)})
    dead_letters = queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum")
    alarms = [
        _alarm(scope, "FailedRunsAlarm", failed_runs,
               "A neo-recommender run failed or timed out; its record and SNS message say why."),
        _alarm(scope, "DeadLettersAlarm", dead_letters,
               "Something the pipeline could not deliver or record is in its dead-letter queue; read and redrive it."),
        _alarm(scope, "FunctionErrorsAlarm", function_errors,
               "A neo-recommender function raised an error; see its log group."),
    ]
    action = cloudwatch_actions.SnsAction(topic)
    for alarm in alarms:
        alarm.add_alarm_action(action)
    return alarms


def allow_alarm_publishing(scope: Construct, key: kms.IKey | None) -> None:
    """CloudWatch alarms publish to a topic encrypted with ``key`` only if its key policy lets them."""
    if key is None:
        return
    statement = iam.PolicyStatement(
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"],
        conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}})
    if not key.add_to_resource_policy(statement, allow_no_op=True).statement_added:
        Annotations.of(scope).add_warning_v2(
            "neo-recommender:imported-key-alarms",
            "encryption_key is imported: for the pipeline's alarms to reach the topic, its key policy must allow "
            "the service principal cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey.")


def _alarm(scope: Construct, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(scope, construct_id, metric=metric, threshold=1, evaluation_periods=1,
                            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                            alarm_description=description)
