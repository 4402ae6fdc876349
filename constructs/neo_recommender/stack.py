"""``NeoRecommenderStack``: one pipeline, configured from cdk.json context, with its outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from neo_recommender.job_settings import JobSettings
from neo_recommender.pipeline import SAGEMAKER_NAME_PREFIX, InferenceRecommenderPipeline
from neo_recommender.workflow import JobPolling

CONTEXT_PREFIX = "neo-recommender:"

#: Context key (after the prefix) of each pipeline prop the stack sets, for error messages.
CONTEXT_KEYS = {
    "watched_prefix": "watchedPrefix",
    "notification_email": "notificationEmail",
    "alarm_email": "alarmEmail",
    "poll_interval": "pollIntervalSeconds",
    "job_deadline": "jobDeadlineMinutes",
    "removal_policy": "removalPolicy",
    "results_retention": "resultsRetentionDays",
    "encryption_key": "kmsKeyArn",
    "name_prefix": "namePrefix",
    "model_approval_status": "modelApprovalStatus",
    "job_settings.job_type": "jobType",
    "job_settings.instance_types": "instanceTypes",
    "job_settings.job_duration": "jobDurationSeconds",
    "job_settings.traffic_pattern": "trafficPattern",
    "job_settings.stopping_conditions": "stoppingConditions",
    "job_settings.resource_limit": "resourceLimit",
    "max_concurrent_jobs": "maxConcurrentJobs",
    "max_queue_wait": "maxQueueWaitHours",
    "job_polling": "jobPolling",
    "sagemaker_full_access": "sagemakerFullAccess",
    "log_level": "logLevel",
    "log_retention": "logRetentionDays",
    "record_in_model_registry": "recordInModelRegistry",
    "runtime": "pythonRuntime",
    "function_props memory_size": "functionMemoryMb",
    "function_props timeout": "functionTimeoutSeconds",
    "tracing": "tracing",
    "dashboard": "dashboard",
}


@dataclass(frozen=True)
class StackSettings:
    """The stack's configuration, read from context keys ``neo-recommender:<name>`` (see ``CONTEXT_KEYS``).

    Values come from cdk.json (JSON values) or ``cdk deploy -c key=value`` (strings): lists may be
    given as comma-separated text and objects as JSON text.
    """

    watched_prefix: str = "models/"
    notification_email: str | None = None
    alarm_email: str | None = None
    poll_interval_seconds: int = 60
    job_deadline_minutes: int = 180
    removal_policy: str = "retain"
    results_retention_days: int = 0
    kms_key_arn: str | None = None
    name_prefix: str = SAGEMAKER_NAME_PREFIX
    model_approval_status: str = "PendingManualApproval"
    job_type: str = "Default"
    instance_types: tuple[str, ...] = ()
    job_duration_seconds: int | None = None
    traffic_pattern: dict[str, Any] | None = None
    stopping_conditions: dict[str, Any] | None = None
    resource_limit: dict[str, Any] | None = None
    max_concurrent_jobs: int | None = None
    max_queue_wait_hours: int | None = None
    job_polling: str = "shared"
    sagemaker_full_access: bool = False
    log_level: str = "INFO"
    log_retention_days: int | None = None
    record_in_model_registry: bool = True
    python_runtime: str | None = None
    function_memory_mb: int | None = None
    function_timeout_seconds: int | None = None
    tracing: str = "active"
    dashboard: bool = True
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_context(cls, scope: Construct) -> StackSettings:
        """Read every setting from the construct tree's context, keeping defaults for unset keys.

        A value of the wrong type is collected in ``problems`` (naming the key), not raised here.
        """
        problems: list[str] = []
        node = scope.node  # one read from the CDK's Node.js process, not one per setting

        def get(name: str, default: Any, convert: Any = str) -> Any:
            value = node.try_get_context(CONTEXT_PREFIX + name)
            if value is None or value in ("", []):
                return default
            try:
                return convert(value)
            except (TypeError, ValueError) as error:
                problems.append(f"context {CONTEXT_PREFIX}{name} {error}")
                return default

        return cls(
            watched_prefix=get("watchedPrefix", cls.watched_prefix),
            notification_email=get("notificationEmail", None),
            alarm_email=get("alarmEmail", None),
            poll_interval_seconds=get("pollIntervalSeconds", cls.poll_interval_seconds, _whole_number),
            job_deadline_minutes=get("jobDeadlineMinutes", cls.job_deadline_minutes, _whole_number),
            removal_policy=get("removalPolicy", cls.removal_policy, _removal_policy),
            results_retention_days=get("resultsRetentionDays", cls.results_retention_days, _whole_number),
            kms_key_arn=get("kmsKeyArn", None, _key_arn),
            name_prefix=get("namePrefix", cls.name_prefix),
            model_approval_status=get("modelApprovalStatus", cls.model_approval_status),
            job_type=get("jobType", cls.job_type),
            instance_types=get("instanceTypes", (), _text_list),
            job_duration_seconds=get("jobDurationSeconds", None, _whole_number),
            traffic_pattern=get("trafficPattern", None, _json_object),
            stopping_conditions=get("stoppingConditions", None, _json_object),
            resource_limit=get("resourceLimit", None, _json_object),
            max_concurrent_jobs=get("maxConcurrentJobs", None, _whole_number) or None,  # 0: no limit
            max_queue_wait_hours=get("maxQueueWaitHours", None, _whole_number),
            job_polling=get("jobPolling", cls.job_polling, _job_polling),
            sagemaker_full_access=get("sagemakerFullAccess", False, _boolean),
            log_level=get("logLevel", cls.log_level),
            log_retention_days=get("logRetentionDays", None, _retention_days),
            record_in_model_registry=get("recordInModelRegistry", True, _boolean),
            python_runtime=get("pythonRuntime", None),
            function_memory_mb=get("functionMemoryMb", None, _whole_number),
            function_timeout_seconds=get("functionTimeoutSeconds", None, _whole_number),
            tracing=get("tracing", cls.tracing, _tracing),
            dashboard=get("dashboard", True, _boolean),
            problems=tuple(problems),
        )

    def function_props(self) -> dict[str, Any]:
        """The pipeline's ``function_props`` from ``functionMemoryMb`` and ``functionTimeoutSeconds``."""
        props: dict[str, Any] = {}
        if self.function_memory_mb is not None:
            props["memory_size"] = self.function_memory_mb
        if self.function_timeout_seconds is not None:
            props["timeout"] = Duration.seconds(self.function_timeout_seconds)
        return props

    def job_settings(self) -> JobSettings:
        """The pipeline's ``job_settings`` from these values."""
        return JobSettings(
            job_type=self.job_type,
            instance_types=self.instance_types,
            job_duration=Duration.seconds(self.job_duration_seconds) if self.job_duration_seconds else None,
            traffic_pattern=self.traffic_pattern,
            stopping_conditions=self.stopping_conditions,
            resource_limit=self.resource_limit,
        )


class NeoRecommenderStack(Stack):
    """A stack holding one ``InferenceRecommenderPipeline``, configured from cdk.json context.

    Its outputs name everything a user needs next: the bucket and prefix to upload to, the results
    table, the topic and the state machine (and the KMS key when one is configured).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        """Create the stack; ``kwargs`` are passed to ``Stack`` (env, synthesizer, ...)."""
        super().__init__(scope, construct_id, **kwargs)
        settings = StackSettings.from_context(self)
        if settings.problems:
            raise ValueError("NeoRecommenderStack: " + "; ".join(settings.problems))
        encryption_key = (kms.Key.from_key_arn(self, "EncryptionKey", settings.kms_key_arn)
                          if settings.kms_key_arn else None)
        try:
            self.pipeline = InferenceRecommenderPipeline(
                self, "Pipeline",
                watched_prefix=settings.watched_prefix,
                notification_email=settings.notification_email,
                alarm_email=settings.alarm_email,
                poll_interval=Duration.seconds(settings.poll_interval_seconds),
                job_deadline=Duration.minutes(settings.job_deadline_minutes),
                removal_policy=RemovalPolicy.RETAIN if settings.removal_policy == "retain" else RemovalPolicy.DESTROY,
                results_retention=(Duration.days(settings.results_retention_days)
                                   if settings.results_retention_days > 0 else None),
                encryption_key=encryption_key,
                name_prefix=settings.name_prefix,
                model_approval_status=settings.model_approval_status,
                job_settings=settings.job_settings(),
                max_concurrent_jobs=settings.max_concurrent_jobs,
                max_queue_wait=(Duration.hours(settings.max_queue_wait_hours)
                                if settings.max_queue_wait_hours else None),
                job_polling=JobPolling.PER_RUN if settings.job_polling == "perRun" else JobPolling.SHARED,
                sagemaker_full_access=settings.sagemaker_full_access,
                log_level=settings.log_level,
                log_retention=(getattr(logs.RetentionDays, _RETENTION_DAYS[settings.log_retention_days])
                               if settings.log_retention_days else None),
                record_in_model_registry=settings.record_in_model_registry,
                runtime=(lambda_.Runtime(settings.python_runtime, lambda_.RuntimeFamily.PYTHON)
                         if settings.python_runtime else None),
                function_props=settings.function_props(),
                tracing=_TRACING[settings.tracing],
                dashboard=settings.dashboard,
            )
        except ValueError as error:
            raise ValueError(f"{error} (NeoRecommenderStack reads these from cdk.json context: "
                             + ", ".join(f"{prop} = {CONTEXT_PREFIX}{key}" for prop, key in CONTEXT_KEYS.items()
                                         if prop in str(error)) + ")") from None
        outputs = {
            "SubmissionBucketName": (self.pipeline.bucket.bucket_name, "Upload submissions here"),
            "WatchedPrefix": (settings.watched_prefix, "Key prefix of submissions: <prefix><model>/recommend.json"),
            "ResultsTableName": (self.pipeline.table.table_name, "DynamoDB table of runs and recommendations"),
            "NotificationTopicArn": (self.pipeline.topic.topic_arn, "SNS topic announcing finished runs"),
            "AlarmTopicArn": (self.pipeline.alarm_topic.topic_arn, "SNS topic of the pipeline's alarms"),
            "StateMachineArn": (self.pipeline.state_machine.state_machine_arn, "Workflow of each run"),
            "RecommenderRoleArn": (self.pipeline.recommender_role.role_arn, "Role Inference Recommender assumes"),
            "DeadLetterQueueUrl": (self.pipeline.dead_letter_queue.queue_url,
                                   "What could not be delivered, processed or recorded (alarmed)"),
        }
        if encryption_key is not None:
            outputs["EncryptionKeyArn"] = (encryption_key.key_arn, "KMS key of the bucket, table, topic and logs")
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)


def _whole_number(value: Any) -> int:
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError(f"must be a whole number, not {value!r}")
    return int(str(value).strip())


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise ValueError(f"must be true or false, not {value!r}")
    return str(value).lower() == "true"


#: CloudWatch Logs' retention periods (``AWS::Logs::LogGroup`` ``RetentionInDays``) and their ``RetentionDays`` names.
_RETENTION_DAYS = dict(zip(
    (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
    ("ONE_DAY", "THREE_DAYS", "FIVE_DAYS", "ONE_WEEK", "TWO_WEEKS", "ONE_MONTH", "TWO_MONTHS", "THREE_MONTHS",
     "FOUR_MONTHS", "FIVE_MONTHS", "SIX_MONTHS", "ONE_YEAR", "THIRTEEN_MONTHS", "EIGHTEEN_MONTHS", "TWO_YEARS",
     "THREE_YEARS", "FIVE_YEARS", "SIX_YEARS", "SEVEN_YEARS", "EIGHT_YEARS", "NINE_YEARS", "TEN_YEARS"), strict=True))


def _retention_days(value: Any) -> int:
    """A number of days CloudWatch Logs can keep logs for."""
    days = _whole_number(value)
    if days not in _RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch Logs' retention periods in days "
                         f"({', '.join(map(str, _RETENTION_DAYS))}), not {value!r}")
    return days


#: The ``tracing`` context values and the X-Ray modes they set (``AWS::Lambda::Function`` ``TracingConfig``).
_TRACING = {"active": lambda_.Tracing.ACTIVE, "passThrough": lambda_.Tracing.PASS_THROUGH,
            "disabled": lambda_.Tracing.DISABLED}


def _tracing(value: Any) -> str:
    if value not in _TRACING:
        raise ValueError(f"must be one of {', '.join(map(repr, _TRACING))}, not {value!r}")
    return str(value)


def _removal_policy(value: Any) -> str:
    policy = str(value).lower()
    if policy not in ("retain", "destroy"):
        raise ValueError(f"must be 'retain' or 'destroy', not {value!r}")
    return policy


def _job_polling(value: Any) -> str:
    if value not in ("shared", "perRun"):
        raise ValueError(f"must be 'shared' (one poller for every running job) or 'perRun', not {value!r}")
    return str(value)


def _key_arn(value: Any) -> str:
    text = str(value)
    if not text.startswith("arn:") or ":kms:" not in text or ":key/" not in text:
        raise ValueError(f"must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not {value!r}")
    return text


def _text_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not a valid JSON list ({error.msg})") from None
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, not {type(value).__name__}")
    return value
