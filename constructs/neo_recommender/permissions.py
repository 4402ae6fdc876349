"""Least-privilege IAM for the pipeline: what each step function and the IR role may do.

SageMaker resources the pipeline names itself (model package groups, IR jobs) start with
``name_prefix``, so policies are scoped to that prefix. Inference Recommender names the
models, endpoints and Neo compilation jobs it creates on its own; those statements are
scoped to the account and region, the narrowest AWS documents.

An action with no resource type in the Service Authorization Reference can only be allowed on
``"*"`` (``UNSCOPED_ACTIONS``); a grant scoped to an ARN is denied in a real account.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aws_cdk import Aws
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct

if TYPE_CHECKING:
    from neo_recommender.workflow import WorkflowFunctions


#: Actions the pipeline calls that have no resource type in the Service Authorization Reference
#: (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html,
#: .../list_awsstepfunctions.html): AWS allows them only on "*".
UNSCOPED_ACTIONS = ("sagemaker:ListInferenceRecommendationsJobSteps", "sagemaker:ListInferenceRecommendationsJobs",
                    "states:SendTaskSuccess", "states:SendTaskFailure")

#: What reading and writing a table encrypted with a customer-managed key takes.
TABLE_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]


@cache
def pseudo_parameters() -> tuple[str, str, str]:
    """``AWS::Partition``, ``AWS::Region`` and ``AWS::AccountId`` as the CDK's tokens. Each is a static property read
    from the CDK's Node.js process, and synth time is mostly such calls: the tokens never change, so they are read
    once."""
    return Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID


def sagemaker_arn(resource: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:<resource>`` in the deploying stack."""
    partition, region, account = pseudo_parameters()
    return f"arn:{partition}:sagemaker:{region}:{account}:{resource}"


def grant_workflow_functions(
    functions: WorkflowFunctions,
    *,
    bucket: s3.IBucket,
    watched_prefix: str,
    table: dynamodb.ITable,
    topic: sns.ITopic,
    recommender_role: iam.IRole,
    name_prefix: str,
    job_slots: bool = False,
    registry_metadata: bool = False,
) -> None:
    """Give each step function exactly the calls its handler makes.

    ``job_slots``: the pipeline limits concurrent jobs, so the steps that take and give back
    slots read and write the holders' item and the queued runs' items (``neo_runtime.job_slots``).
    ``registry_metadata``: results are written back to the model package version (``UpdateModelPackage``,
    scoped to the prefix).
    """
    groups = sagemaker_arn(f"model-package-group/{name_prefix}*")
    packages = sagemaker_arn(f"model-package/{name_prefix}*")
    jobs = sagemaker_arn(f"inference-recommendations-job/{name_prefix}*")

    # ValidateSubmission: read the manifest (any version) and check the archives; claim the run.
    _allow_reading_submissions(functions.validate_submission, bucket, watched_prefix)
    _allow_key(functions.validate_submission, bucket.encryption_key, ["kms:Decrypt"])
    for function in vars(functions).values():
        if function is not functions.register_model:  # the one step that never touches the table
            _allow_key(function, table.encryption_key, TABLE_KEY_ACTIONS)
    _allow(functions.validate_submission, ["dynamodb:PutItem", "dynamodb:UpdateItem"], [table.table_arn])

    # RegisterModel: the model package group and a package version in it.
    _allow(functions.register_model, ["sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup"],
           [groups])
    _allow(functions.register_model, ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"],
           [packages, groups])

    # StartRecommendationJob: create (and tag) the job, passing only the IR role, only to SageMaker.
    _allow(functions.start_job, ["sagemaker:CreateInferenceRecommendationsJob",
                                 "sagemaker:DescribeInferenceRecommendationsJob", "sagemaker:AddTags"], [jobs])
    functions.start_job.add_to_role_policy(iam.PolicyStatement(
        actions=["iam:PassRole"], resources=[recommender_role.role_arn],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}))
    _allow(functions.start_job, ["dynamodb:UpdateItem"], [table.table_arn])

    # CheckRecommendationJob: poll, and stop a job past its deadline.
    _allow(functions.check_job, ["sagemaker:DescribeInferenceRecommendationsJob",
                                 "sagemaker:StopInferenceRecommendationsJob"], [jobs])

    # PublishResults: read the job and its steps (listing steps has no resource type); write the results; notify.
    _allow(functions.publish_results, ["sagemaker:DescribeInferenceRecommendationsJob"], [jobs])
    _allow(functions.publish_results, ["sagemaker:ListInferenceRecommendationsJobSteps"], ["*"])
    _allow(functions.publish_results, ["dynamodb:BatchWriteItem", "dynamodb:UpdateItem"], [table.table_arn])
    allow_publishing(functions.publish_results, topic)
    if registry_metadata:
        _allow(functions.publish_results, ["sagemaker:UpdateModelPackage"], [packages])

    if job_slots:
        # The holders' item and the waiting runs' items (neo_runtime.job_slots): a request reads both, writes its
        # own, and takes runs no longer waiting off the queue; the run waiting for a slot only reads them.
        for function in (functions.start_job, functions.publish_results, functions.record_failure):
            _allow(function, ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                   [table.table_arn])
        _allow(functions.await_job_slot, ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
               [table.table_arn])

    # RecordFailure: record and announce; stop a job whose run failed while it was still running.
    _allow(functions.record_failure, ["sagemaker:DescribeInferenceRecommendationsJob",
                                      "sagemaker:StopInferenceRecommendationsJob"], [jobs])
    _allow(functions.record_failure, ["dynamodb:UpdateItem"], [table.table_arn])
    allow_publishing(functions.record_failure, topic)


def grant_failure_recording(reporters: list[lambda_.IFunction], safety_net: lambda_.IFunction, *,
                            queue: sqs.IQueue, table: dynamodb.ITable, topic: sns.ITopic, name_prefix: str,
                            job_slots: bool) -> None:
    """What recording and announcing a failure takes beyond the workflow steps' own grants.

    ``reporters`` keep what SNS or DynamoDB would not take in the dead-letter queue. ``safety_net``
    (``record_ended_run``) reads the run's record, then does what RecordFailure does.
    """
    for function in reporters:
        _allow(function, ["sqs:SendMessage"], [queue.queue_arn])
        _allow_key(function, queue.encryption_master_key, ["kms:GenerateDataKey", "kms:Decrypt"])
    _allow(safety_net, ["dynamodb:GetItem", "dynamodb:UpdateItem"]
           + (["dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"] if job_slots else []), [table.table_arn])
    _allow_key(safety_net, table.encryption_key, TABLE_KEY_ACTIONS)
    _allow(safety_net, ["sagemaker:DescribeInferenceRecommendationsJob", "sagemaker:StopInferenceRecommendationsJob"],
           [sagemaker_arn(f"inference-recommendations-job/{name_prefix}*")])
    allow_publishing(safety_net, topic)


def allow_task_responses(scope: Construct, functions: list[lambda_.IFunction]) -> iam.Policy:
    """Let ``functions`` resume executions of ``state_machine`` waiting on a task token (a queued run).

    ``states:SendTaskSuccess`` has no resource type in the Service Authorization Reference, so it can only be
    allowed on ``"*"``; the task token itself names the execution.
    """
    roles = [function.role for function in functions if function.role is not None]
    return iam.Policy(scope, "TaskResponsePolicy", roles=roles, statements=[iam.PolicyStatement(
        actions=["states:SendTaskSuccess"], resources=["*"])])


def grant_job_watching(starters: list[lambda_.IFunction], poller: lambda_.IFunction, schedule: events.IRule, *,
                       table: dynamodb.ITable, name_prefix: str, job_slots: bool = False) -> None:
    """The shared poller and the steps that put jobs on its watch list (``neo_runtime.job_watch``).

    ``starters`` write a job's item and turn the schedule on. The poller reads the list, lists the
    deployment's jobs, stops those past their deadline and takes ended jobs off the list (what it
    may do with its schedule and the runs is in ``allow_job_answers``). With ``job_slots`` it also
    reads the holders' item, the queue and the queued runs' wake-up tokens, to wake a run a lost
    wake-up left waiting.
    """
    for function in starters:
        _allow(function, ["dynamodb:PutItem"], [table.table_arn])
        _allow(function, ["events:EnableRule"], [schedule.rule_arn])
    _allow(poller, ["dynamodb:Query", "dynamodb:DeleteItem"] + (["dynamodb:GetItem"] if job_slots else []),
           [table.table_arn])
    _allow_key(poller, table.encryption_key, TABLE_KEY_ACTIONS)
    # ListInferenceRecommendationsJobs has no resource type: one call per pass lists every job.
    _allow(poller, ["sagemaker:ListInferenceRecommendationsJobs"], ["*"])
    _allow(poller, ["sagemaker:DescribeInferenceRecommendationsJob", "sagemaker:StopInferenceRecommendationsJob"],
           [sagemaker_arn(f"inference-recommendations-job/{name_prefix}*")])


def allow_job_answers(scope: Construct, poller: lambda_.IFunction, schedule: events.IRule,
                      state_machine: sfn.StateMachine, table: dynamodb.ITable) -> iam.Policy:
    """The poller turns its schedule on and off and answers the runs waiting on it; the state
    machine's AwaitRecommendationJob state writes their tokens.

    The poller's part is a policy of its own: the schedule names the function, and the state machine
    names the steps that turn the schedule on, so the function's default policy naming either would
    be a dependency cycle.
    """
    _allow_key(state_machine, table.encryption_key, TABLE_KEY_ACTIONS)
    roles = [poller.role] if poller.role is not None else []
    # SendTaskSuccess and SendTaskFailure have no resource type: "*" (the token names the execution).
    return iam.Policy(scope, "PollerPolicy", roles=roles, statements=[
        iam.PolicyStatement(actions=["events:EnableRule", "events:DisableRule"], resources=[schedule.rule_arn]),
        iam.PolicyStatement(actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"])])


def grant_recommender_role(
    role: iam.IRole, bucket: s3.IBucket, watched_prefix: str, compiled_output_prefix: str, name_prefix: str
) -> None:
    """What Inference Recommender does with its role: read the submission, build endpoints, compile, log.

    A bucket encrypted with a customer-managed key also needs the key: decrypt to read, encrypt for
    Neo's output.
    """
    _allow_reading_submissions(role, bucket, watched_prefix)
    _allow_key(role, bucket.encryption_key, ["kms:Decrypt", "kms:GenerateDataKey"])
    _allow(role, ["s3:GetObject", "s3:PutObject"], [bucket.arn_for_objects(f"{compiled_output_prefix}*")])
    _allow(role, ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
           [sagemaker_arn(f"model-package/{name_prefix}*"),
            sagemaker_arn(f"model-package-group/{name_prefix}*")])
    # IR creates, benchmarks and deletes these under names of its own (sm-epc-*, neo-*).
    _allow(role, [
        "sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel",
        "sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig",
        "sagemaker:CreateEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint",
        "sagemaker:UpdateEndpoint", "sagemaker:InvokeEndpoint",
        "sagemaker:CreateCompilationJob", "sagemaker:DescribeCompilationJob", "sagemaker:StopCompilationJob",
        "sagemaker:AddTags", "sagemaker:ListTags",
    ], [sagemaker_arn(f"{kind}/*") for kind in ("model", "endpoint-config", "endpoint", "compilation-job")])
    role.add_to_principal_policy(iam.PolicyStatement(
        actions=["iam:PassRole"], resources=[role.role_arn],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}))
    # Container images live in SageMaker-owned accounts that differ by region.
    partition, region, account = pseudo_parameters()
    _allow(role, ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
           [f"arn:{partition}:ecr:{region}:*:repository/*"])
    _allow(role, ["ecr:GetAuthorizationToken"], ["*"])
    _allow(role, ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
           [f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/*"])
    role.add_to_principal_policy(iam.PolicyStatement(
        actions=["cloudwatch:PutMetricData"], resources=["*"],
        conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]}}))


#: The managed policy AWS's Inference Recommender prerequisites attach to the IR role
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-prerequisites.html).
SAGEMAKER_FULL_ACCESS = "AmazonSageMakerFullAccess"


def attach_sagemaker_full_access(role: iam.IRole) -> None:
    """Attach ``AmazonSageMakerFullAccess``, AWS's documented setup for the IR role."""
    role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(SAGEMAKER_FULL_ACCESS))


def grant_volume_encryption(role: iam.IRole, key: kms.IKey) -> None:
    """IR encrypts its benchmark instances' volumes and Neo's output with ``key`` (``VolumeKmsKeyId``).

    AWS documents that the job fails during endpoint creation unless the role may ``kms:CreateGrant``;
    the grant is limited to grants for AWS resources (the endpoints' EBS volumes).
    """
    key.grant(role, "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
    role.add_to_principal_policy(iam.PolicyStatement(
        actions=["kms:CreateGrant"], resources=[key.key_arn],
        conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}))


def grant_volume_key_use(function: iam.IGrantable, key: kms.IKey) -> None:
    """The step that creates the IR job names the key; SageMaker checks the caller may describe it."""
    key.grant(function, "kms:DescribeKey")


def grant_vpc_access(role: iam.IRole, subnet_ids: list[str], security_group_ids: list[str]) -> None:
    """What SageMaker needs to put IR's benchmark endpoints in the VPC: their network interfaces.

    Creating an interface is scoped to the given subnets and groups; the Describe calls cannot be
    scoped to a resource (AWS requires ``"*"``), and deleting or permitting an interface names the
    interface, which SageMaker creates.
    """
    partition, region, account = pseudo_parameters()
    ec2_arn = f"arn:{partition}:ec2:{region}:{account}"
    _allow(role, ["ec2:CreateNetworkInterface"],
           [f"{ec2_arn}:network-interface/*"]
           + [f"{ec2_arn}:subnet/{subnet}" for subnet in subnet_ids]
           + [f"{ec2_arn}:security-group/{group}" for group in security_group_ids])
    _allow(role, ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                  "ec2:DeleteNetworkInterfacePermission"], [f"{ec2_arn}:network-interface/*"])
    _allow(role, ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                  "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], ["*"])


def allow_publishing(grantee: iam.IGrantable, topic: sns.ITopic) -> None:
    """``sns:Publish`` on the topic, and the two KMS actions SNS needs when the topic has a customer key.

    (``topic.grant_publish`` would grant ``kms:GenerateDataKey*``, a wildcard cdk-nag flags.)
    """
    _allow(grantee, ["sns:Publish"], [topic.topic_arn])
    _allow_key(grantee, topic.master_key, ["kms:GenerateDataKey", "kms:Decrypt"])


def _allow_key(grantee: iam.IGrantable, key: kms.IKey | None, actions: list[str]) -> None:
    # Exact actions rather than CDK's grant_encrypt/grant_encrypt_decrypt, which add the wildcards
    # kms:ReEncrypt* and kms:GenerateDataKey*. A key imported by alias ignores grants.
    if key is not None:
        key.grant(grantee, *actions)


def _allow_reading_submissions(grantee: iam.IGrantable, bucket: s3.IBucket, watched_prefix: str) -> None:
    # Explicit actions rather than grant_read's wildcards. ListBucket lets HeadObject answer 404
    # for a missing archive instead of 403; it carries no prefix condition because HeadObject
    # requests have no s3:prefix to match.
    _allow(grantee, ["s3:GetObject", "s3:GetObjectVersion"], [bucket.arn_for_objects(f"{watched_prefix}*")])
    _allow(grantee, ["s3:ListBucket"], [bucket.bucket_arn])


def _allow(grantee: iam.IGrantable, actions: list[str], resources: list[str]) -> None:
    statement = iam.PolicyStatement(actions=actions, resources=resources)
    # The same statement in the same default policy either way. A function's or role's own method is one call
    # into the CDK's Node.js process; grant_principal.add_to_principal_policy is four (reading the principal, and
    # the two fields of the struct it returns), and synth time is mostly such calls.
    if isinstance(grantee, lambda_.Function):
        grantee.add_to_role_policy(statement)
    elif isinstance(grantee, iam.Role):
        grantee.add_to_policy(statement)
    else:
        grantee.grant_principal.add_to_principal_policy(statement)

