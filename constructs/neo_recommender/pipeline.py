"""``InferenceRecommenderPipeline``: S3 submission -> EventBridge -> Step Functions -> DynamoDB + SNS.

Read top to bottom, the constructor follows the architecture: storage (buckets, table,
topic), the role Inference Recommender assumes, the step functions, the state machine,
and the rule that starts it when a manifest lands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
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
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from neo_recommender import operations, permissions, prop_checks, storage
from neo_recommender.dashboard import create_dashboard
from neo_recommender.function_settings import FunctionSettings, function_settings
from neo_recommender.job_settings import JobSettings
from neo_recommender.lambda_code import handler_asset_dir
from neo_recommender.nag_acknowledgments import acknowledge_findings
from neo_recommender.workflow import JobPolling, WorkflowFunctions, build_definition
from neo_runtime import environment_names as names
from neo_runtime import metrics

if TYPE_CHECKING:  # aws_ec2 is large; it is loaded only when a VPC is given
    from aws_cdk import aws_ec2 as ec2

#: Manifest file name whose upload starts a run.
MANIFEST_FILE_NAME = "recommend.json"
#: Prefix of names the pipeline gives SageMaker resources (IAM policies are scoped to it).
SAGEMAKER_NAME_PREFIX = "nr-"
#: How long a run may wait for a job slot (or for IR's account quota) unless ``max_queue_wait`` says otherwise.
DEFAULT_MAX_QUEUE_WAIT = Duration.hours(24)
#: A queued run that no released slot has woken asks again after this long. Wake-ups are the rule (a
#: release wakes the runs first in line; retried releases wake again); this only bounds a lost one.
SLOT_RECHECK = Duration.hours(1)
#: A run waiting on the shared poller checks its job itself after this long, then twice as long each
#: time: a bound on a lost answer (the poller answers within a poll interval), not a poll.
WATCH_RECHECK = Duration.hours(1)

_HANDLER_MODULE = "neo_runtime.handlers.{}"
#: The period of the pipeline's own metrics unless a ``metric_*`` call says otherwise.
PERIOD_OF_METRICS = Duration.minutes(5)


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
        bucket_props: s3.BucketProps | dict[str, Any] | None = None,
        table: dynamodb.ITable | None = None,
        table_props: dynamodb.TableProps | dict[str, Any] | None = None,
        topic: sns.ITopic | None = None,
        topic_props: sns.TopicProps | dict[str, Any] | None = None,
        recommender_role: iam.IRole | None = None,
        sagemaker_full_access: bool = False,
        name_prefix: str = SAGEMAKER_NAME_PREFIX,
        encryption_key: kms.IKey | None = None,
        job_settings: JobSettings | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        max_concurrent_jobs: int | None = None,
        max_queue_wait: Duration | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
        job_polling: JobPolling = JobPolling.SHARED,
        runtime: lambda_.Runtime | None = None,
        function_props: lambda_.FunctionOptions | dict[str, Any] | None = None,
        log_level: str = "INFO",
        log_retention: logs.RetentionDays | None = None,
        tracing: lambda_.Tracing | None = None,
        record_in_model_registry: bool = True,
        dashboard: bool = True,
    ) -> None:
        """Create the pipeline.

        :param watched_prefix: key prefix under which submissions are watched. @default ``"models/"``
        :param poll_interval: time between two checks of a running IR job (whole minutes with the shared
            poller: its EventBridge schedule). @default 1 minute
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
        :param bucket_props: an ``s3.BucketProps`` (or a dict of its keyword arguments) whose fields
            are merged over the created bucket's secure defaults (not with ``bucket``). @default none
        :param table: an existing results table with the pipeline's keys and indexes (see
            docs/results-and-cli.md, DynamoDB). @default a new table
        :param table_props: a ``dynamodb.TableProps`` (its keys must be the pipeline's ``pk``/``sk``) or a
            dict of ``dynamodb.Table`` keyword arguments, merged over the created table's defaults (not
            with ``table``). @default none
        :param topic: an existing topic to announce runs on. @default a new topic
        :param topic_props: an ``sns.TopicProps`` (or a dict of its keyword arguments) merged over the
            created topic's defaults (not with ``topic``). @default none
        :param recommender_role: an existing role for Inference Recommender to assume (trusting
            ``sagemaker.amazonaws.com``); the pipeline adds the policies it needs unless the role is
            imported as immutable. @default a new role
        :param sagemaker_full_access: also attach the AWS managed policy ``AmazonSageMakerFullAccess`` to the IR
            role, the only setup AWS documents for Inference Recommender (it publishes no least-privilege list);
            the pipeline's own statements stay, since that policy reads only S3 buckets named for SageMaker.
            @default False (the pipeline's least-privilege statements only)
        :param name_prefix: prefix of the SageMaker names the pipeline gives model package groups and
            jobs; IAM policies are scoped to it. @default ``"nr-"``
        :param encryption_key: a customer-managed KMS key for everything the pipeline creates: the
            submission bucket (SSE-KMS), the table, the topic, the log groups, and the volumes and
            compiled output of IR's benchmark instances (``VolumeKmsKeyId``). A key defined in the app
            gets the key-policy statement CloudWatch Logs needs; an imported one must have it.
            @default AWS-managed encryption (SSE-S3, the AWS-managed DynamoDB and SNS keys)
        :param job_settings: the Inference Recommender job of runs whose manifest leaves these out:
            job type, instance types, job duration, and the traffic pattern, stopping conditions and
            resource limit of Advanced jobs. @default ``JobSettings()`` (a Default job)
        :param vpc: run IR's benchmark endpoints in this VPC (``InputConfig.VpcConfig``). The subnets
            need a route to S3 and ECR (NAT or VPC endpoints). @default no VPC
        :param vpc_subnets: which of the VPC's subnets (not with ``vpc`` left out). @default the private
            subnets with egress
        :param security_groups: security groups of the benchmark endpoints (1 to 5). @default one new
            group with no inbound rules
        :param max_concurrent_jobs: at most this many IR jobs of this pipeline run at once; further
            runs wait at no cost, first come first served, until a released slot wakes them (keep it
            within the account's Inference Recommender quota). @default no limit
        :param max_queue_wait: a run still waiting for a job slot, or for room in the account's IR
            quota (``ResourceLimitExceeded``), after this long ends ``TIMED_OUT`` with
            ``JobQueueTimedOut``. @default 24 hours
        :param alarm_topic: where the pipeline's alarms (failed runs, dead letters, a failing job poller) are
            published; the pipeline adds the topic-policy and key-policy statements that let CloudWatch publish
            (an imported topic or key must have them; a topic on the AWS managed key ``alias/aws/sns`` is refused,
            since CloudWatch can never use that key). @default a topic of its own, encrypted with
            ``encryption_key`` or else a new customer managed key
        :param alarm_email: an address subscribed to the alarm topic. @default no subscription
        :param job_polling: how runs learn that their job has ended: ``JobPolling.SHARED``, one poller
            checking every running job each ``poll_interval`` (a run's cost does not grow with its job),
            or ``JobPolling.PER_RUN``, each run polling its own job (a Wait/Check/Choice loop: three
            state transitions per poll, nothing shared). @default ``JobPolling.SHARED``
        :param runtime: the functions' Python runtime, one the Lambda code is tested on (3.11 to 3.14).
            @default ``lambda_.Runtime.PYTHON_3_14``
        :param function_props: a ``lambda_.FunctionOptions`` (or a dict of its keyword arguments) with
            ``memory_size`` (MB, 128 to 10240) and ``timeout`` (a ``Duration``, 30 s to 15 minutes) for every
            function, and no other field; the shared poller keeps its own timeout, under the poll interval.
            @default 256 MB and each function's own timeout (30 s to 2 minutes)
        :param log_level: the functions' application log level in Lambda's JSON log format: ``DEBUG``,
            ``INFO``, ``WARN`` or ``ERROR``. @default ``"INFO"``
        :param log_retention: how long the functions' and the state machine's logs are kept.
            @default ``logs.RetentionDays.THREE_MONTHS``
        :param tracing: X-Ray tracing of the functions. @default ``lambda_.Tracing.ACTIVE``
        :param record_in_model_registry: after each completed run, write the recommendation (deployment,
            compiled or not, cost, latency, throughput, the run and the ranked rows) into the benchmarked model
            package version's ``CustomerMetadataProperties`` with ``UpdateModelPackage``, so the SageMaker model
            registry shows it beside the model. @default True
        :param dashboard: a CloudWatch dashboard of the pipeline: runs by status, the queue, running IR jobs,
            Neo's savings, function errors and throttles, dead letters and the alarms. @default True
        """
        super().__init__(scope, construct_id)
        self._steps: dict[lambda_.IFunction, str] = {}  # each function's construct id, without asking the CDK
        self.function_settings = function_settings(runtime=runtime, function_props=function_props,
                                                   log_level=log_level, log_retention=log_retention, tracing=tracing)
        self.watched_prefix = watched_prefix
        self.compiled_output_prefix = "neo-compiled/"
        poll_interval = poll_interval or Duration.minutes(1)
        job_deadline = job_deadline or Duration.hours(3)
        max_queue_wait = max_queue_wait or DEFAULT_MAX_QUEUE_WAIT
        self.job_settings = job_settings or JobSettings()
        if vpc is None and (vpc_subnets is not None or security_groups):
            raise ValueError("InferenceRecommenderPipeline: vpc_subnets and security_groups need vpc")
        subnet_ids = _subnet_ids(vpc, vpc_subnets) if vpc is not None else None
        prop_checks.check_props(self, prop_checks.PipelineProps(
            watched_prefix=watched_prefix, compiled_output_prefix=self.compiled_output_prefix,
            poll_interval=poll_interval, job_deadline=job_deadline, name_prefix=name_prefix,
            model_approval_status=model_approval_status, results_retention=results_retention,
            job_settings=self.job_settings, subnet_count=len(subnet_ids) if subnet_ids is not None else None,
            security_group_count=len(security_groups) if security_groups is not None else None,
            max_concurrent_jobs=max_concurrent_jobs, max_queue_wait=max_queue_wait,
            shared_poller=job_polling is JobPolling.SHARED))
        # No run lives longer than this: the queue, the job's deadline, and an hour to publish.
        run_timeout = max_queue_wait.plus(job_deadline).plus(Duration.hours(1))
        slot_recheck = SLOT_RECHECK if SLOT_RECHECK.to_seconds() >= poll_interval.to_seconds() else poll_interval
        self.max_concurrent_jobs = max_concurrent_jobs
        self.job_polling = job_polling
        retention_days = int(results_retention.to_days(integral=False)) if results_retention is not None else 0
        self.encryption_key = encryption_key
        if encryption_key is not None:
            storage.allow_log_encryption(self, encryption_key)

        # Storage: where submissions arrive and results are kept (the user's own, or created here).
        self.bucket, self.access_logs_bucket = storage.submission_bucket(
            self, bucket, storage.struct_overrides(bucket_props, s3.BucketProps, "bucket_props"), removal_policy,
            encryption_key)
        storage.deliver_events_to_eventbridge(self.bucket)
        self.table = storage.results_table(self, table, storage.table_overrides(table_props), removal_policy,
                                           encryption_key)
        self.topic = storage.notification_topic(
            self, topic, storage.struct_overrides(topic_props, sns.TopicProps, "topic_props"), encryption_key)
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
        self.sagemaker_full_access = sagemaker_full_access
        if sagemaker_full_access:
            permissions.attach_sagemaker_full_access(self.recommender_role)
        if encryption_key is not None:
            permissions.grant_volume_encryption(self.recommender_role, encryption_key)

        # Where IR's benchmark endpoints run: SageMaker's network, or the given VPC.
        self.security_groups: list[ec2.ISecurityGroup] = []
        vpc_config: dict[str, list[str]] | None = None
        if vpc is not None and subnet_ids is not None:
            self.security_groups = list(security_groups or [_endpoint_security_group(self, vpc)])
            vpc_config = {"SecurityGroupIds": [group.security_group_id for group in self.security_groups],
                          "Subnets": subnet_ids}
            permissions.grant_vpc_access(self.recommender_role, subnet_ids, vpc_config["SecurityGroupIds"])

        # Where anything that cannot be delivered, processed or recorded is kept (see operations.py).
        self.dead_letter_queue = operations.dead_letter_queue(self)

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
            names.MAX_QUEUE_WAIT_SECONDS: str(int(max_queue_wait.to_seconds())),
            names.DEAD_LETTER_QUEUE_URL: self.dead_letter_queue.queue_url,
            names.JOB_DEADLINE_SECONDS: str(int(job_deadline.to_seconds())),
            **_job_slot_environment(max_concurrent_jobs, slot_recheck, job_deadline),
        }
        validate_environment = {**environment, names.JOB_DEFAULTS: json.dumps(
            self.job_settings.to_manifest_defaults(), separators=(",", ":"))}
        start_environment = {**environment, **self._job_placement_environment(encryption_key, vpc_config)}
        self.functions = WorkflowFunctions(
            validate_submission=self._function("ValidateSubmission", "validate_submission",
                                               validate_environment, timeout=Duration.minutes(1)),
            register_model=self._function("RegisterModel", "register_model", environment,
                                          timeout=Duration.minutes(2)),
            start_job=self._function("StartRecommendationJob", "start_job", start_environment),
            await_job_slot=self._function("AwaitJobSlot", "await_job_slot", environment),
            check_job=self._function("CheckRecommendationJob", "check_job", environment),
            publish_results=self._function("PublishResults", "publish_results", {
                **environment, names.RECORD_IN_MODEL_REGISTRY: "true" if record_in_model_registry else "false"},
                timeout=Duration.minutes(2)),
            record_failure=self._function("RecordFailure", "record_failure", environment),
        )
        permissions.grant_workflow_functions(
            self.functions, bucket=self.bucket, watched_prefix=watched_prefix, table=self.table,
            topic=self.topic, recommender_role=self.recommender_role, name_prefix=name_prefix,
            job_slots=max_concurrent_jobs is not None, registry_metadata=record_in_model_registry)
        self.record_in_model_registry = record_in_model_registry
        if encryption_key is not None:
            permissions.grant_volume_key_use(self.functions.start_job, encryption_key)
        # The safety net for runs whose execution ended without recording why (not a workflow step).
        self.record_ended_run_function = self._function(
            "RecordEndedRun", "record_ended_run", environment, dead_letter_queue=self.dead_letter_queue)
        permissions.grant_failure_recording(
            [self.functions.publish_results, self.functions.record_failure, self.record_ended_run_function],
            self.record_ended_run_function, queue=self.dead_letter_queue, table=self.table, topic=self.topic,
            name_prefix=name_prefix, job_slots=max_concurrent_jobs is not None)

        # The shared poller: one pass over every running job each poll interval, on a schedule that the
        # runs turn on when their job starts and the poller turns off when no job is left.
        self.watch_jobs_function: lambda_.Function | None = None
        self.watch_schedule: events.Rule | None = None
        if job_polling is JobPolling.SHARED:
            # Its own timeout whatever function_props say: a pass must end before the next one starts.
            self.watch_jobs_function = self._function("WatchJobs", "watch_jobs", environment,
                                                       timeout=Duration.seconds(50), retry_attempts=0,
                                                       fixed_timeout=True)
            self.watch_schedule = events.Rule(
                self, "JobWatchSchedule",
                description="Runs the neo-recommender job poller while Inference Recommender jobs run",
                schedule=events.Schedule.rate(poll_interval),
                # ENABLED in the template: a stack update rewrites the rule's State, and DISABLED there would
                # silence the poller while jobs run. After a deployment the poller's first idle pass turns it off.
                targets=[targets.LambdaFunction(self.watch_jobs_function, retry_attempts=0,
                                                max_event_age=poll_interval)],
            )
            for function in (self.functions.start_job, self.functions.check_job):
                function.add_environment(names.WATCH_SCHEDULE_RULE, self.watch_schedule.rule_name)
                function.add_environment(names.WATCH_RECHECK_SECONDS, str(int(WATCH_RECHECK.to_seconds())))
            permissions.grant_job_watching(
                [self.functions.start_job, self.functions.check_job], self.watch_jobs_function,
                self.watch_schedule, table=self.table, name_prefix=name_prefix,
                job_slots=max_concurrent_jobs is not None)

        # The state machine that runs them.
        self.state_machine_log_group = logs.LogGroup(
            self, "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{Names.unique_resource_name(self, max_length=200)}",
            retention=self.function_settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=encryption_key,
        )
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(build_definition(
                Construct(self, "Workflow"), self.functions, poll_interval=poll_interval,
                job_polling=job_polling, table=self.table)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(destination=self.state_machine_log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=False),
            tracing_enabled=True,
            timeout=run_timeout,
        )

        # The steps that wake queued runs answer their task tokens (SendTaskSuccess has no resource type: "*").
        self.task_response_policy = permissions.allow_task_responses(self, [
            self.functions.await_job_slot, self.functions.publish_results, self.functions.record_failure,
            self.record_ended_run_function])
        self.poller_policy: iam.Policy | None = None
        if self.watch_jobs_function is not None and self.watch_schedule is not None:
            self.poller_policy = permissions.allow_job_answers(
                self, self.watch_jobs_function, self.watch_schedule, self.state_machine, self.table)

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
            targets=[targets.SfnStateMachine(self.state_machine, dead_letter_queue=self.dead_letter_queue,
                                             **operations.EVENT_DELIVERY)],
        )

        # The safety net, and the alarms that tell operators something went wrong.
        self.run_ended_rule = operations.record_unfinished_runs(
            self, self.state_machine, self.record_ended_run_function, self.dead_letter_queue)
        # Alarms go to a topic of their own that CloudWatch may publish to and use the key of (the results topic's
        # AWS managed key cannot let CloudWatch in); operators subscribe to it, the ML team to the results.
        self.alarm_topic: sns.ITopic = alarm_topic or operations.alarm_topic(self, encryption_key)
        operations.allow_alarm_publishing(self, self.alarm_topic)
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(_email(alarm_email)))
        self.alarms = operations.create_alarms(
            self, state_machine=self.state_machine, poller=self.watch_jobs_function,
            queue=self.dead_letter_queue, topic=self.alarm_topic)

        # What operators look at: the pipeline's own metrics beside its resources' AWS metrics and alarms.
        self.name_prefix = name_prefix
        self.dashboard: cloudwatch.Dashboard | None = create_dashboard(self, self) if dashboard else None

        # The IAM wildcards that cannot be narrowed, acknowledged for cdk-nag with their reasons.
        acknowledge_findings(self, name_prefix, vpc_config is not None, sagemaker_full_access)

    @property
    def all_functions(self) -> list[lambda_.IFunction]:
        """Every Lambda function of the pipeline: the workflow's steps, the safety net, the shared poller."""
        extra = [self.record_ended_run_function] + ([self.watch_jobs_function] if self.watch_jobs_function else [])
        return [*vars(self.functions).values(), *extra]

    def step_of(self, function: lambda_.IFunction) -> str:
        """The step one of ``all_functions`` runs: its construct id (``PublishResults``)."""
        if function not in self._steps:
            raise ValueError(f"{function} is not one of this pipeline's functions (all_functions)")
        return self._steps[function]

    def add_notification_email(self, address: str) -> None:
        """Subscribe an e-mail address to the topic (AWS sends a confirmation mail first)."""
        self.topic.add_subscription(subscriptions.EmailSubscription(_email(address)))

    def grant_submit(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to upload submissions (archives and ``recommend.json``) under the watched prefix."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resource_arns=[self.bucket.arn_for_objects(f"{self.watched_prefix}*")])
        if self.bucket.encryption_key is not None:  # SSE-KMS uploads; multipart completion decrypts
            self.bucket.encryption_key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")
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

    def metric_runs(self, status: str, **props: Any) -> cloudwatch.Metric:
        """Runs that started (``STARTED``), were queued (``QUEUED``: once a run, when it first waits for a job slot
        or for room in the account's IR quota), or ended ``COMPLETED``, ``FAILED`` or ``TIMED_OUT``, from the
        pipeline's own metrics. @default sum over 5 minutes"""
        names = {"STARTED": metrics.RUNS_STARTED, "QUEUED": metrics.RUNS_QUEUED, **metrics.OF_FINAL_STATUS}
        if status not in names:
            raise ValueError(f"metric_runs: status must be one of {', '.join(names)}, not {status!r}")
        return self._metric(names[status], "Sum", props)

    def metric_queue_wait(self, **props: Any) -> cloudwatch.Metric:
        """Seconds a queued run waited (for a job slot, the account's IR quota, or both), from its first wait to its
        job's start, counted when the job starts. @default average over 5 minutes"""
        return self._metric(metrics.QUEUE_WAIT, "Average", props)

    def metric_runs_waiting(self, **props: Any) -> cloudwatch.Metric:
        """Runs waiting for a job slot (the queue's depth), counted by every request for a slot and by each pass of
        the shared poller; only with ``max_concurrent_jobs``. @default maximum over 5 minutes"""
        return self._metric(metrics.RUNS_WAITING, "Maximum", props)

    def metric_running_jobs(self, **props: Any) -> cloudwatch.Metric:
        """IR jobs running, as the shared poller counts them on each pass (none with ``JobPolling.PER_RUN``).
        @default maximum over 5 minutes"""
        return self._metric(metrics.RUNNING_JOBS, "Maximum", props)

    def metric_job_duration(self, **props: Any) -> cloudwatch.Metric:
        """Seconds from an IR job's creation to its completion, for completed runs. @default average over 5 minutes"""
        return self._metric(metrics.JOB_DURATION, "Average", props)

    def metric_compiled_recommendations(self, **props: Any) -> cloudwatch.Metric:
        """Neo-compiled rows among a completed run's recommendations. @default sum over 5 minutes"""
        return self._metric(metrics.COMPILED_RECOMMENDATIONS, "Sum", props)

    def metric_neo_saving(self, **props: Any) -> cloudwatch.Metric:
        """Neo's saving in cost per inference (percent) on the recommended configuration's compiled/uncompiled
        pair, for runs that benchmarked both. @default average over 5 minutes"""
        return self._metric(metrics.NEO_SAVING, "Average", props)

    def _metric(self, name: str, statistic: str, props: dict[str, Any]) -> cloudwatch.Metric:
        options: dict[str, Any] = {"period": PERIOD_OF_METRICS, "statistic": statistic, **props}
        return cloudwatch.Metric(namespace=metrics.NAMESPACE, metric_name=name,
                                 dimensions_map={metrics.DIMENSION: self.name_prefix}, **options)

    def _job_placement_environment(self, key: kms.IKey | None,
                                   vpc_config: dict[str, list[str]] | None) -> dict[str, str]:
        """What the step creating IR jobs needs to encrypt their volumes and place them in the VPC."""
        environment = {}
        if key is not None:
            environment[names.VOLUME_KMS_KEY_ID] = key.key_arn
        if vpc_config is not None:
            environment[names.VPC_CONFIG] = Stack.of(self).to_json_string(vpc_config)
        return environment

    def _function(self, construct_id: str, module: str, environment: dict[str, str],
                  timeout: Duration | None = None, dead_letter_queue: sqs.IQueue | None = None,
                  retry_attempts: int | None = None, fixed_timeout: bool = False) -> lambda_.Function:
        settings: FunctionSettings = self.function_settings
        log_group = logs.LogGroup(self, f"{construct_id}Logs", retention=settings.log_retention,
                                  removal_policy=RemovalPolicy.DESTROY, encryption_key=self.encryption_key)
        role = iam.Role(self, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        tuned = settings.function_kwargs(timeout or Duration.seconds(30))
        if fixed_timeout:
            tuned["timeout"] = timeout
        function = lambda_.Function(
            self, construct_id,
            architecture=lambda_.Architecture.ARM_64,
            handler=_HANDLER_MODULE.format(module) + ".handler",
            # Each function ships only the part of neo_runtime its handler imports (lambda_code).
            code=lambda_.Code.from_asset(str(handler_asset_dir(_HANDLER_MODULE.format(module)))),
            role=role,
            environment=environment,
            log_group=log_group,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts if retry_attempts is not None else 2 if dead_letter_queue else None,
            **tuned,
        )
        self._steps[function] = construct_id
        return function


def _email(address: str) -> str:
    if "@" not in address or any(ch.isspace() for ch in address):
        raise ValueError(f"InferenceRecommenderPipeline: {address!r} is not an e-mail address")
    return address


def _endpoint_security_group(scope: Construct, vpc: ec2.IVpc) -> ec2.SecurityGroup:
    """The benchmark endpoints' group: no inbound rules (IR invokes them through SageMaker), outbound open."""
    from aws_cdk import aws_ec2 as ec2  # noqa: PLC0415 - only pipelines in a VPC pay for the import
    return ec2.SecurityGroup(scope, "EndpointSecurityGroup", vpc=vpc, allow_all_outbound=True,
                             description="neo-recommender: Inference Recommender benchmark endpoints")


def _subnet_ids(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> list[str]:
    if selection is None:  # not select_subnets()'s fallback to isolated or public subnets
        from aws_cdk import aws_ec2 as ec2  # noqa: PLC0415 - only pipelines in a VPC pay for the import

        return vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
    return vpc.select_subnets(
        availability_zones=selection.availability_zones, one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters, subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets, subnet_type=selection.subnet_type).subnet_ids


def _job_slot_environment(max_concurrent_jobs: int | None, slot_recheck: Duration,
                          job_deadline: Duration) -> dict[str, str]:
    """The queue's settings (``neo_runtime.job_slots``): none without a limit.

    A slot held longer than a job may run plus an hour to publish, or a waiter silent for two
    rechecks plus five minutes after it promised to ask again, was left by an execution that ended
    without giving it back, and is reclaimed.
    """
    if max_concurrent_jobs is None:
        return {}
    return {
        names.MAX_CONCURRENT_JOBS: str(max_concurrent_jobs),
        names.JOB_SLOT_HOLDER_EXPIRY_SECONDS: str(int(job_deadline.plus(Duration.hours(1)).to_seconds())),
        names.JOB_SLOT_RECHECK_SECONDS: str(int(slot_recheck.to_seconds())),
        names.JOB_SLOT_WAITER_GRACE_SECONDS: str(int(slot_recheck.to_seconds()) * 2 + 300),
    }
