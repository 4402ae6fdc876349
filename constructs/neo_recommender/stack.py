"""``NeoRecommenderStack``: one pipeline, configured from cdk.json context, with its outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack

from constructs import Construct
from neo_recommender.pipeline import InferenceRecommenderPipeline

CONTEXT_PREFIX = "neo-recommender:"


@dataclass(frozen=True)
class StackSettings:
    """The stack's configuration, read from context keys ``neo-recommender:<name>``."""

    watched_prefix: str = "models/"
    notification_email: str | None = None
    poll_interval_seconds: int = 60
    job_deadline_minutes: int = 180
    removal_policy: str = "retain"
    results_retention_days: int = 0

    @classmethod
    def from_context(cls, scope: Construct) -> StackSettings:
        """Read every setting from the construct tree's context, keeping defaults for unset keys."""
        def get(name: str, default: Any) -> Any:
            value = scope.node.try_get_context(CONTEXT_PREFIX + name)
            return default if value is None or value == "" else value

        return cls(
            watched_prefix=str(get("watchedPrefix", cls.watched_prefix)),
            notification_email=get("notificationEmail", None),
            poll_interval_seconds=int(get("pollIntervalSeconds", cls.poll_interval_seconds)),
            job_deadline_minutes=int(get("jobDeadlineMinutes", cls.job_deadline_minutes)),
            removal_policy=str(get("removalPolicy", cls.removal_policy)).lower(),
            results_retention_days=int(get("resultsRetentionDays", cls.results_retention_days)),
        )


class NeoRecommenderStack(Stack):
    """A stack holding one ``InferenceRecommenderPipeline``, configured from cdk.json context."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        """Create the stack; ``kwargs`` are passed to ``Stack`` (env, synthesizer, ...)."""
        super().__init__(scope, construct_id, **kwargs)
        settings = StackSettings.from_context(self)
        if settings.removal_policy not in ("retain", "destroy"):
            raise ValueError(f"context {CONTEXT_PREFIX}removalPolicy must be 'retain' or 'destroy', "
                             f"not {settings.removal_policy!r}")
        self.pipeline = InferenceRecommenderPipeline(
            self, "Pipeline",
            watched_prefix=settings.watched_prefix,
            notification_email=settings.notification_email,
            poll_interval=Duration.seconds(settings.poll_interval_seconds),
            job_deadline=Duration.minutes(settings.job_deadline_minutes),
            removal_policy=RemovalPolicy.RETAIN if settings.removal_policy == "retain" else RemovalPolicy.DESTROY,
            results_retention=(Duration.days(settings.results_retention_days)
                               if settings.results_retention_days > 0 else None),
        )
        outputs = {
            "SubmissionBucketName": (self.pipeline.bucket.bucket_name, "Upload submissions here"),
            "WatchedPrefix": (settings.watched_prefix, "Key prefix of submissions: <prefix><model>/recommend.json"),
            "ResultsTableName": (self.pipeline.table.table_name, "DynamoDB table of runs and recommendations"),
            "NotificationTopicArn": (self.pipeline.topic.topic_arn, "SNS topic announcing finished runs"),
            "StateMachineArn": (self.pipeline.state_machine.state_machine_arn, "Workflow of each run"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
