"""``InferenceRecommenderPipeline``: S3 submission -> EventBridge -> Step Functions -> DynamoDB + SNS.

Read top to bottom, the constructor follows the architecture: storage (buckets, table,
topic), the role Inference Recommender assumes, the step functions, the state machine,
and the rule that starts it when a manifest lands.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Names, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from neo_recommender import permissions
from neo_recommender.nag_acknowledgments import acknowledge_findings
from neo_recommender.workflow import WorkflowFunctions, build_definition

#: The ``lambdas/`` folder shipped as the functions' code asset.
LAMBDA_ASSET_DIR = Path(__file__).resolve().parents[2] / "lambdas"
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
        """
        super().__init__(scope, construct_id)
        self.watched_prefix = watched_prefix
        self.compiled_output_prefix = "neo-compiled/"
        poll_interval = poll_interval or Duration.minutes(1)
        retention_days = int(results_retention.to_days()) if results_retention is not None else 0
        job_deadline = job_deadline or Duration.hours(3)

        # Storage: where submissions arrive and results are kept.
        self.access_logs_bucket = s3.Bucket(
            self, "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=removal_policy,
        )
        self.bucket = s3.Bucket(
            self, "SubmissionBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="submission-bucket/",
            removal_policy=removal_policy,
        )
        # EventBridge delivery through the bucket's own property, not CDK's notification custom resource.
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True))

        self.table = dynamodb.Table(
            self, "ResultsTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            time_to_live_attribute="expires_at",
            removal_policy=removal_policy,
        )
        # Indexes over run summaries only (recommendation items lack these attributes), one per question.
        for index_name, partition, sort, projection in (
                ("ByModel", "model_name", "created_at", dynamodb.ProjectionType.ALL),
                ("ByJobName", "job_name", None, dynamodb.ProjectionType.ALL),
                ("ByExecution", "execution_arn", None, dynamodb.ProjectionType.KEYS_ONLY),
                ("ByStatus", "status", "updated_at", dynamodb.ProjectionType.ALL)):
            self.table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
                projection_type=projection,
            )

        self.topic = sns.Topic(
            self, "NotificationTopic",
            display_name="neo-recommender results",
            master_key=kms.Alias.from_alias_name(self, "SnsManagedKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        if notification_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(notification_email))

        # The role Inference Recommender assumes to build endpoints, compile with Neo and load-test.
        self.recommender_role = iam.Role(
            self, "RecommenderRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Assumed by SageMaker Inference Recommender for neo-recommender jobs",
        )
        permissions.grant_recommender_role(
            self.recommender_role, self.bucket, watched_prefix, self.compiled_output_prefix,
            SAGEMAKER_NAME_PREFIX)

        # The workflow's steps.
        environment = {
            "TABLE_NAME": self.table.table_name,
            "TOPIC_ARN": self.topic.topic_arn,
            "WATCHED_PREFIX": watched_prefix,
            "COMPILED_OUTPUT_PREFIX": self.compiled_output_prefix,
            "JOB_NAME_PREFIX": SAGEMAKER_NAME_PREFIX,
            "MODEL_PACKAGE_GROUP_PREFIX": SAGEMAKER_NAME_PREFIX,
            "MODEL_APPROVAL_STATUS": model_approval_status,
            "RECOMMENDER_ROLE_ARN": self.recommender_role.role_arn,
            "RESULTS_RETENTION_DAYS": str(retention_days),
        }
        code = lambda_.Code.from_asset(str(LAMBDA_ASSET_DIR), exclude=["**/__pycache__", "**/*.pyc"])
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
            topic=self.topic, recommender_role=self.recommender_role, name_prefix=SAGEMAKER_NAME_PREFIX)

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
        acknowledge_findings(self, SAGEMAKER_NAME_PREFIX)

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

