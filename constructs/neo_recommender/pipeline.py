"""``InferenceRecommenderPipeline``: S3 submission -> EventBridge -> Step Functions -> DynamoDB + SNS.

Read top to bottom, the constructor follows the architecture: storage (buckets, table,
topic), the role Inference Recommender assumes, the step functions, the state machine,
and the rule that starts it when a manifest lands.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from neo_recommender import permissions, storage
from neo_recommender.lambda_code import ASSET_EXCLUDES, lambda_asset_dir
from neo_recommender.nag_acknowledgments import acknowledge_findings
from neo_recommender.workflow import WorkflowFunctions, build_definition

#: Manifest file name whose upload starts a run.
MANIFEST_FILE_NAME = "recommend.json"
#: Prefix of names the pipeline gives SageMaker resources (IAM policies are scoped to it).
SAGEMAKER_NAME_PREFIX = "nr-"

_HANDLER_MODULE = "neo_runtime.handlers.{}.handler"


class InferenceRecommenderPipeline(Construct):
    """Runs SageMaker Inference Recommender (with Neo compilation) for every model submitted to S3.

    Upload ``model.tar.gz``, ``payload.tar.gz`` and, last, ``recommend.json`` under
    ``<watched_prefix><model-name>/``; the ranked recommendations land in ``table`` and a
    notification on ``topic``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watched_prefix: str = "models/",
        poll_interval: Duration | None = None,
        job_deadline: Duration | None = None,
        notification_email: str | None = None,
        model_approval_status: str = "PendingManualApproval",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        results_retention: Duration | None = None,
        bucket: s3.IBucket | None = None,
        bucket_props: dict[str, Any] | None = None,
        table: dynamodb.ITable | None = None,
        table_props: dict[str, Any] | None = None,
        topic: sns.ITopic | None = None,
        topic_props: dict[str, Any] | None = None,
        recommender_role: iam.IRole | None = None,
        name_prefix: str = SAGEMAKER_NAME_PREFIX,
    ) -> None:
        """Create the pipeline.

        :param watched_prefix: key prefix under which submissions are watched. @default ``"models/"``
        :param poll_interval: time between two checks of a running IR job. @default 1 minute
        :param job_deadline: a run whose IR job is still running after this long stops it and
            fails as timed out. @default 3 hours
        :param notification_email: an address subscribed to the topic. @default no subscription
        :param model_approval_status: ``ModelApprovalStatus`` of registered model packages.
            @default ``"PendingManualApproval"``
        :param removal_policy: what happens to the bucket and table when the stack is deleted.
            @default ``RemovalPolicy.RETAIN`` (results and submissions outlive the stack)
        :param results_retention: how long a run's items stay in the table before DynamoDB's TTL
            deletes them (whole days, counted from the run's last write). @default kept forever
        :param bucket: an existing bucket to watch instead of creating one; the pipeline reads
            ``watched_prefix`` and writes ``neo-compiled/`` in it, and turns on its EventBridge
            delivery (an imported bucket must have it on already). @default a new bucket
        :param bucket_props: ``s3.Bucket`` keyword arguments merged over the created bucket's
            secure defaults (not with ``bucket``). @default none
        :param table: an existing results table with the pipeline's keys and indexes (see the
            README). @default a new table
        :param table_props: ``dynamodb.Table`` keyword arguments merged over the created table's
            defaults (not with ``table``). @default none
        :param topic: an existing topic to announce runs on. @default a new topic
        :param topic_props: ``sns.Topic`` keyword arguments merged over the created topic's
            defaults (not with ``topic``). @default none
        :param recommender_role: an existing role for Inference Recommender to assume (trusting
            ``sagemaker.amazonaws.com``); the pipeline adds the policies it needs unless the role is
            imported as immutable. @default a new role
        :param name_prefix: prefix of the SageMaker names the pipeline gives model package groups and
            jobs; IAM policies are scoped to it. @default ``"nr-"``
        """
        super().__init__(scope, construct_id)
        self.watched_prefix = watched_prefix
        self.compiled_output_prefix = "neo-compiled/"
        poll_interval = poll_interval or Duration.minutes(1)
        retention_days = int(results_retention.to_days()) if results_retention is not None else 0
        job_deadline = job_deadline or Duration.hours(3)

        # Storage: where submissions arrive and results are kept (the user's own, or created here).
        self.access_logs_bucket: s3.IBucket | None = None
        if bucket is None:
            bucket, self.access_logs_bucket = storage.create_submission_bucket(self, removal_policy, bucket_props)
        elif bucket_props:
            raise ValueError("InferenceRecommenderPipeline: give bucket or bucket_props, not both")
        self.bucket: s3.IBucket = bucket
        storage.deliver_events_to_eventbridge(self.bucket)

        if table is None:
            table = storage.create_results_table(self, removal_policy, table_props)
        elif table_props:
            raise ValueError("InferenceRecommenderPipeline: give table or table_props, not both")
        else:
            storage.check_results_table(table)
        self.table: dynamodb.ITable = table

        if topic is None:
            topic = storage.create_topic(self, topic_props)
        elif topic_props:
            raise ValueError("InferenceRecommenderPipeline: give topic or topic_props, not both")
        self.topic: sns.ITopic = topic
        if notification_email:
            self.add_notification_email(notification_email)

        # The role Inference Recommender assumes to build endpoints, compile with Neo and load-test.
        self.recommender_role: iam.IRole = recommender_role or iam.Role(
            self, "RecommenderRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Assumed by SageMaker Inference Recommender for neo-recommender jobs",
        )
        permissions.grant_recommender_role(
            self.recommender_role, self.bucket, watched_prefix, self.compiled_output_prefix, name_prefix)

        # The workflow's steps.
        environment = {
            "TABLE_NAME": self.table.table_name,
            "TOPIC_ARN": self.topic.topic_arn,
            "WATCHED_PREFIX": watched_prefix,
            "COMPILED_OUTPUT_PREFIX": self.compiled_output_prefix,
            "JOB_NAME_PREFIX": name_prefix,
            "MODEL_PACKAGE_GROUP_PREFIX": name_prefix,
            "MODEL_APPROVAL_STATUS": model_approval_status,
            "RECOMMENDER_ROLE_ARN": self.recommender_role.role_arn,
            "RESULTS_RETENTION_DAYS": str(retention_days),
        }
        code = lambda_.Code.from_asset(str(lambda_asset_dir()), exclude=ASSET_EXCLUDES)
        self.functions = WorkflowFunctions(
            validate_submission=self._function("ValidateSubmission", "validate_submission", code, environment,
                                               timeout=Duration.minutes(1)),
            register_model=self._function("RegisterModel", "register_model", code, environment,
                                          timeout=Duration.minutes(2)),
            start_job=self._function("StartRecommendationJob", "start_job", code, environment),
            check_job=self._function("CheckRecommendationJob", "check_job", code, environment),
            publish_results=self._function("PublishResults", "publish_results", code, environment,
                                           timeout=Duration.minutes(2)),
            record_failure=self._function("RecordFailure", "record_failure", code, environment),
        )
        permissions.grant_workflow_functions(
            self.functions, bucket=self.bucket, watched_prefix=watched_prefix, table=self.table,
            topic=self.topic, recommender_role=self.recommender_role, name_prefix=name_prefix)

        # The state machine that runs them.
        self.state_machine_log_group = logs.LogGroup(
            self, "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{Names.unique_resource_name(self, max_length=200)}",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(build_definition(
                Construct(self, "Workflow"), self.functions, poll_interval=poll_interval,
                job_deadline=job_deadline)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(destination=self.state_machine_log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=False),
            tracing_enabled=True,
            timeout=job_deadline.plus(Duration.hours(1)),
        )

        # The rule that starts a run when a manifest is uploaded under the watched prefix.
        self.rule = events.Rule(
            self, "SubmissionRule",
            description="Starts a neo-recommender run when recommend.json is uploaded",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": [{"wildcard": f"{watched_prefix}*/{MANIFEST_FILE_NAME}"}]},
                },
            ),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )

        # The IAM wildcards that cannot be narrowed, acknowledged for cdk-nag with their reasons.
        acknowledge_findings(self, name_prefix)

    def add_notification_email(self, address: str) -> None:
        """Subscribe an e-mail address to the topic (AWS sends a confirmation mail first)."""
        if "@" not in address or any(ch.isspace() for ch in address):
            raise ValueError(f"InferenceRecommenderPipeline: {address!r} is not an e-mail address")
        self.topic.add_subscription(subscriptions.EmailSubscription(address))

    def grant_submit(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to upload submissions (archives and ``recommend.json``) under the watched prefix."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resource_arns=[self.bucket.arn_for_objects(f"{self.watched_prefix}*")])
        if self.bucket.encryption_key is not None:
            self.bucket.encryption_key.grant_encrypt(grantee)
        return grant

    def grant_read_results(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read runs and recommendations (what ``neo-recommender results`` does).

        Covers GetItem and Query on the table and its indexes, and DescribeStacks on this stack so the
        command can find the table from the stack's outputs.
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:GetItem", "dynamodb:Query"],
            resource_arns=[self.table.table_arn, f"{self.table.table_arn}/index/*"])
        grant = grant.combine(iam.Grant.add_to_principal(
            grantee=grantee, actions=["cloudformation:DescribeStacks"], resource_arns=[Stack.of(self).stack_id]))
        if self.table.encryption_key is not None:
            self.table.encryption_key.grant_decrypt(grantee)
        return grant

    def metric_failed_runs(self, **props: Any) -> cloudwatch.Metric:
        """Runs that ended FAILED (Step Functions ``ExecutionsFailed``; a duplicate event is not a failure).

        ``props`` are ``cloudwatch.MetricOptions`` (period, statistic, ...). @default sum over 5 minutes
        """
        return self.state_machine.metric_failed(**props)

    def metric_run_duration(self, **props: Any) -> cloudwatch.Metric:
        """How long runs take, upload to results (Step Functions ``ExecutionTime``, milliseconds).

        @default average over 5 minutes
        """
        return self.state_machine.metric_time(**props)

    def metric_throttles(self, **props: Any) -> cloudwatch.IMetric:
        """Throttled executions plus throttled invocations of the pipeline's functions, summed."""
        metrics: dict[str, cloudwatch.IMetric] = {"executions": self.state_machine.metric_throttled(**props)}
        for index, function in enumerate(vars(self.functions).values()):
            metrics[f"function{index}"] = function.metric_throttles(**props)
        return cloudwatch.MathExpression(expression=" + ".join(f"FILL({name}, 0)" for name in metrics),
                                         using_metrics=metrics, label="Throttles",
                                         period=props.get("period", Duration.minutes(5)))

    def _function(self, construct_id: str, module: str, code: lambda_.Code, environment: dict[str, str],
                  timeout: Duration | None = None) -> lambda_.Function:
        log_group = logs.LogGroup(self, f"{construct_id}Logs", retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=RemovalPolicy.DESTROY)
        role = iam.Role(self, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        return lambda_.Function(
            self, construct_id,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=_HANDLER_MODULE.format(module),
            code=code,
            role=role,
            memory_size=256,
            timeout=timeout or Duration.seconds(30),
            environment=environment,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
        )

