"""What keeps the pipeline from losing anything, and tells operators when something went wrong.

- One dead-letter queue (SSE, TLS-only, 14 days): S3 events EventBridge could not deliver to the
  state machine, status-change events the safety-net function could not process, notifications SNS
  would not take and failures DynamoDB would not record.
- A safety-net rule: Step Functions' "Execution Status Change" events (FAILED, TIMED_OUT, ABORTED) of
  the state machine go to a function that records and announces any run whose own failure path did
  not (``neo_runtime.handlers.record_ended_run``).
- Alarms on what ends a run or loses work, published to a topic CloudWatch can use: failed runs, dead letters,
  and a shared poller failing pass after pass. Errors the workflow retries by design (``TransientAwsError``,
  ``SlotContention``, ``ModelPackageNotReady``) raise no alarm: they end no run, and a run they end is a
  failed run.
"""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
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


#: How many poll periods in a row the shared poller must fail before its alarm: one failed pass is retried by
#: the next; runs that outlive a broken poller check their job themselves every hour.
POLLER_FAILED_PERIODS = 3


def create_alarms(scope: Construct, *, state_machine: sfn.StateMachine, poller: lambda_.IFunction | None,
                  queue: sqs.IQueue, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
    """Alarms on failed runs, dead letters and a persistently failing poller, each published to ``topic``.

    A run ends FAILED when a step's error outlasts its retries (every step catches into RecordFailure), so
    failed runs are the errors that end a run; the safety net's errors end in the dead-letter queue.
    """
    period = Duration.minutes(5)
    failed_runs = cloudwatch.MathExpression(
        expression="FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)", label="Unsuccessful runs",
        period=period, using_metrics={
            "failed": state_machine.metric_failed(period=period),
            "timedOut": state_machine.metric_timed_out(period=period),
            "aborted": state_machine.metric_aborted(period=period)})
    dead_letters = queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum")
    alarms = [
        _alarm(scope, "FailedRunsAlarm", failed_runs,
               "A neo-recommender run failed or timed out; its record and SNS message say why."),
        _alarm(scope, "DeadLettersAlarm", dead_letters,
               "Something the pipeline could not deliver or record is in its dead-letter queue; read and redrive it."),
    ]
    if poller is not None:
        alarms.append(_alarm(
            scope, "JobPollerFailingAlarm", poller.metric_errors(period=period, statistic="Sum"),
            f"The neo-recommender job poller failed in each of the last {POLLER_FAILED_PERIODS} periods of 5 minutes; "
            "waiting runs now check their job themselves every hour. See the WatchJobs log group.",
            evaluation_periods=POLLER_FAILED_PERIODS))
    action = cloudwatch_actions.SnsAction(topic)
    for alarm in alarms:
        alarm.add_alarm_action(action)
    return alarms


def alarm_topic(scope: Construct, encryption_key: kms.IKey | None) -> sns.Topic:
    """The alarms' own TLS-only topic, encrypted with ``encryption_key`` or a new customer managed key.

    Not the AWS managed key ``alias/aws/sns``: its key policy cannot be changed, so CloudWatch could never use it
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    """
    # The key guards alarm messages in flight only, so it goes with the stack (after KMS's 7-day waiting period).
    key = encryption_key or kms.Key(scope, "AlarmTopicKey", enable_key_rotation=True,
                                    description="neo-recommender: encrypts the alarm topic (CloudWatch may use it)",
                                    removal_policy=RemovalPolicy.DESTROY, pending_window=Duration.days(7))
    return sns.Topic(scope, "AlarmTopic", display_name="neo-recommender alarms", master_key=key, enforce_ssl=True)


def allow_alarm_publishing(scope: Construct, topic: sns.ITopic) -> None:
    """Let CloudWatch alarms of this account publish to ``topic``: its topic policy and its key's policy.

    A topic policy replaces SNS's default one, which is what let CloudWatch publish before; a TLS-only policy
    that holds only a Deny allows nothing, so the Allow is added here. Both statements are limited to this
    account's alarms (aws:SourceAccount, aws:SourceArn) against the confused deputy.
    """
    stack = Stack.of(scope)
    if getattr(topic.master_key, "alias_name", None) == "alias/aws/sns":
        raise ValueError("InferenceRecommenderPipeline: alarm_topic is encrypted with the AWS managed key "
                         "alias/aws/sns, whose policy cannot allow CloudWatch: no alarm could ever notify. Give a "
                         "topic encrypted with a customer managed key, or leave alarm_topic out.")
    conditions = {"StringEquals": {"aws:SourceAccount": stack.account},
                  "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}"
                                                ":alarm:*"}}
    cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    topic_added = topic.add_to_resource_policy(iam.PolicyStatement(
        sid="AllowCloudWatchAlarms", principals=[cloudwatch_principal], actions=["sns:Publish"],
        resources=[topic.topic_arn], conditions=conditions)).statement_added
    key = topic.master_key
    key_added = key is None or key.add_to_resource_policy(iam.PolicyStatement(
        sid="AllowCloudWatchAlarmsToUseTheKey", principals=[cloudwatch_principal],
        actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"], conditions=conditions),
        allow_no_op=True).statement_added
    if not (topic_added and key_added):
        Annotations.of(scope).add_warning_v2(
            "neo-recommender:imported-alarm-topic",
            "alarm_topic (or its key) is imported, so the pipeline cannot extend its policies. For the alarms to "
            "notify, the topic policy must allow the service principal cloudwatch.amazonaws.com sns:Publish, and an "
            "encrypting key's policy must allow it kms:Decrypt and kms:GenerateDataKey*.")


def _alarm(scope: Construct, construct_id: str, metric: cloudwatch.IMetric, description: str,
           evaluation_periods: int = 1) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(scope, construct_id, metric=metric, threshold=1, evaluation_periods=evaluation_periods,
                            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                            alarm_description=description)
