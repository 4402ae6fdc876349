"""Deploy a synthesized stack from a CDK cloud assembly into the emulator.

The template is the one ``cdk synth`` wrote, deployed through moto's CloudFormation; the
Lambda code is the asset the assembly lists, uploaded to the bootstrap bucket where the
template expects it. What moto's CloudFormation leaves out is completed from the same
template afterwards (``COMPLETIONS`` says how, for each resource type): bucket properties beyond
encryption (versioning, public access block, the EventBridge switch), the bucket, topic and queue
policies, the Lambda permissions, the alarms, and state machines in the backend that executes them.

With IAM enforcement, the deployment also fails where CloudFormation would, on the checks AWS makes
when the resources are created: a function's role that Lambda cannot assume, a state machine's role
that Step Functions cannot assume or that may not deliver its logs, a log group whose key CloudWatch
Logs may not use.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from moto.stepfunctions.models import stepfunctions_backends

from neo_recommender.emulator.lambda_logging import LoggingConfig

if TYPE_CHECKING:
    from neo_recommender.emulator.iam_enforcement import IamEnforcement

_BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"

#: Resource types moto's CloudFormation does not create, and how the emulator covers each instead. A test
#: checks that every resource moto skips is listed here.
COMPLETIONS = {
    "AWS::S3::BucketPolicy": "created with S3 PutBucketPolicy; evaluated on every request to the bucket",
    "AWS::SNS::TopicPolicy": "set with SNS SetTopicAttributes (replacing the default policy, as AWS does); "
                             "evaluated on every publish",
    "AWS::SQS::QueuePolicy": "set with SQS SetQueueAttributes; evaluated on every send, EventBridge's included",
    "AWS::Lambda::Permission": "kept as the function's resource-based policy (AddPermission's statement); "
                               "evaluated on every EventBridge delivery to the function",
    "AWS::Lambda::EventInvokeConfig": "its MaximumRetryAttempts drive the emulator's asynchronous invocations",
    "AWS::CloudWatch::Alarm": "created with CloudWatch PutMetricAlarm; EmbeddedAws.fire_alarm delivers its actions "
                              "as CloudWatch would, through the topic's and the key's policies",
    "AWS::CDK::Metadata": "the CDK's version report; it creates nothing in the account",
    "AWS::CloudWatch::Dashboard": "created with CloudWatch PutDashboard once the alarms it shows exist (moto's "
                                  "CloudFormation cannot resolve their ARNs, since it does not create alarms)",
}
#: Resource types taken out of the template moto's CloudFormation gets, and created afterwards (see COMPLETIONS).
CREATED_AFTERWARDS = ("AWS::CloudWatch::Dashboard",)


class DeploymentFailed(RuntimeError):
    """The deployment failed where CloudFormation would have (a resource AWS refuses to create)."""


@dataclass(frozen=True)
class DeployedStack:
    """What a deployment produced: the stack's outputs and its resources' physical ids."""

    name: str
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    resource_types: dict[str, str]
    function_dead_letter_queues: dict[str, str]
    """Function name -> URL of the queue its DeadLetterConfig names (moto's Lambda does not keep it)."""
    function_retry_attempts: dict[str, int] = field(default_factory=dict)
    """Function name -> retries of a failed asynchronous invocation (its EventInvokeConfig), when set."""
    function_log_groups: dict[str, str] = field(default_factory=dict)
    """Function name -> the log group its LoggingConfig names (where Lambda writes its logs)."""
    function_logging: dict[str, LoggingConfig] = field(default_factory=dict)
    """Function name -> its LoggingConfig: log format, application and system log levels."""
    traced_functions: set[str] = field(default_factory=set)
    """Names of the functions with active X-Ray tracing (TracingConfig Mode Active; moto's Lambda drops it)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Logical id -> type of each resource moto's CloudFormation did not create (completed per COMPLETIONS)."""
    creation_allowing_sets: Counter[frozenset[tuple[str, int]]] = field(default_factory=Counter)
    """The statements that allowed each of the creation checks' requests (``IamEnforcement.allowing_sets``)."""
    moto_notices: list[str] = field(default_factory=list)
    """What moto said while deploying (e.g. "No Moto CloudFormation support for AWS::SNS::TopicPolicy")."""

    def physical_id_of_type(self, resource_type: str) -> list[str]:
        """Physical ids of every resource of one CloudFormation type."""
        return [self.physical_ids[logical] for logical, kind in self.resource_types.items()
                if kind == resource_type]


def deploy_stack(assembly_dir: Path, stack_name: str, account: str, region: str,
                 iam: IamEnforcement | None = None) -> DeployedStack:
    """Deploy ``stack_name`` from the cloud assembly in ``assembly_dir``.

    moto reports each resource type it cannot create; those reports are collected (``DeployedStack.skipped``) and
    each is completed as ``COMPLETIONS`` says, or the deployment fails.
    """
    notices = _Notices()
    moto_logger = logging.getLogger("moto")
    saved = moto_logger.propagate
    moto_logger.addHandler(notices)
    moto_logger.propagate = False  # kept in DeployedStack.moto_notices, not printed
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                deployed = _deploy(assembly_dir, stack_name, account, region, iam)
            except DeploymentFailed:  # CloudFormation rolls a failed creation back: nothing of it is left
                boto3.client("cloudformation", region_name=region).delete_stack(StackName=stack_name)
                raise
    finally:
        moto_logger.removeHandler(notices)
        moto_logger.propagate = saved
    deployed.moto_notices.extend(notices.messages)
    return deployed


def _deploy(assembly_dir: Path, stack_name: str, account: str, region: str,
            iam: IamEnforcement | None) -> DeployedStack:
    template_text = (assembly_dir / f"{stack_name}.template.json").read_text(encoding="utf-8")
    template = json.loads(template_text)
    boto3.client("ssm", region_name=region).put_parameter(
        Name=_BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String", Overwrite=True)
    upload_assets(assembly_dir, stack_name, account, region)

    cloudformation = boto3.client("cloudformation", region_name=region)
    for_moto = {**template, "Resources": {logical: resource for logical, resource in template["Resources"].items()
                                          if resource.get("Type") not in CREATED_AFTERWARDS}}
    with _cloudformation_return_values():
        cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(for_moto),
                                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise DeploymentFailed(f"emulated deployment of {stack_name} ended {stack['StackStatus']}: "
                               f"{stack.get('StackStatusReason')}")
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    created = {r["LogicalResourceId"] for r in resources if r.get("PhysicalResourceId")}
    deployed = DeployedStack(
        name=stack_name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        physical_ids={r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
                      if "LogicalResourceId" in r and "PhysicalResourceId" in r},
        resource_types={r["LogicalResourceId"]: r["ResourceType"] for r in resources
                        if "LogicalResourceId" in r and "ResourceType" in r},
        function_dead_letter_queues={},
        skipped={logical: resource["Type"] for logical, resource in template.get("Resources", {}).items()
                 if logical not in created},
    )
    uncovered = sorted({kind for kind in deployed.skipped.values() if kind not in COMPLETIONS})
    if uncovered:
        raise DeploymentFailed(f"moto's CloudFormation does not create {', '.join(uncovered)}, and the emulator "
                               "has no completion for it (see deploy.COMPLETIONS)")
    deployed.function_dead_letter_queues.update(_function_dead_letter_queues(template, deployed))
    deployed.function_retry_attempts.update(_function_retry_attempts(template, deployed))
    deployed.function_log_groups.update(_function_log_groups(template, deployed))
    deployed.traced_functions.update(_traced_functions(template, deployed))
    deployed.function_logging.update({deployed.physical_ids[logical]: LoggingConfig.from_template(
        resource.get("Properties", {})) for logical, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Lambda::Function"})
    _apply_bucket_properties(template, deployed, region)
    resolve = _resolver(stack_name, account, region)
    _apply_resource_policies(template, resolve, region, iam)
    _create_alarms(template, resolve, stack_name, region)
    _create_dashboards(template, resolve, stack_name, account, region)
    if iam is not None:
        with iam.collecting() as creation_sets:
            _check_creation(template, deployed, resolve, iam)
        deployed.creation_allowing_sets.update(creation_sets)
    _create_executable_state_machines(deployed, account, region)
    return deployed


def upload_assets(assembly_dir: Path, stack_name: str, account: str, region: str) -> None:
    """Upload the stack's file assets (zipping folders) to the destinations the asset manifest names."""
    manifest = json.loads((assembly_dir / f"{stack_name}.assets.json").read_text(encoding="utf-8"))
    s3 = boto3.client("s3", region_name=region)
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for asset in manifest.get("files", {}).values():
        source = assembly_dir / asset["source"]["path"]
        body = _zip_folder(source) if source.is_dir() else source.read_bytes()
        for destination in asset["destinations"].values():
            bucket = (destination["bucketName"].replace("${AWS::AccountId}", account)
                      .replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws"))
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
                existing.add(bucket)
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)


def _function_dead_letter_queues(template: dict[str, Any], deployed: DeployedStack) -> dict[str, str]:
    queues = {}
    for logical_id, resource in template.get("Resources", {}).items():
        target = resource.get("Properties", {}).get("DeadLetterConfig", {}).get("TargetArn")
        if resource.get("Type") == "AWS::Lambda::Function" and isinstance(target, dict) and "Fn::GetAtt" in target:
            queues[deployed.physical_ids[logical_id]] = deployed.physical_ids[target["Fn::GetAtt"][0]]
    return queues


def _function_retry_attempts(template: dict[str, Any], deployed: DeployedStack) -> dict[str, int]:
    attempts = {}
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        function = properties.get("FunctionName")
        if (resource.get("Type") == "AWS::Lambda::EventInvokeConfig" and "MaximumRetryAttempts" in properties
                and isinstance(function, dict) and "Ref" in function):
            attempts[deployed.physical_ids[function["Ref"]]] = int(properties["MaximumRetryAttempts"])
    return attempts


def _apply_bucket_properties(template: dict[str, Any], deployed: DeployedStack, region: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::S3::Bucket":
            continue
        bucket = deployed.physical_ids[logical_id]
        properties = resource.get("Properties", {})
        if "VersioningConfiguration" in properties:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={
                "Status": properties["VersioningConfiguration"]["Status"]})
        if "PublicAccessBlockConfiguration" in properties:
            s3.put_public_access_block(Bucket=bucket,
                                       PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"])
        notification = properties.get("NotificationConfiguration", {})
        if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})


@contextmanager
def _cloudformation_return_values() -> Iterator[None]:
    """``Fn::GetAtt`` values as CloudFormation returns them, where moto's differ (the template's policies name them).

    A log group's ``Arn`` ends in ``:*`` ("arn:aws:logs:us-west-1:123456789012:log-group:/mystack-testgroup-
    12ABC1AB12A1:*", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
    #aws-resource-logs-loggroup-return-values), so a policy naming it covers the group's log streams.
    """
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(group: LogGroup, attribute_name: str) -> str:
        value = original(group, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" else value

    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]
    try:
        yield
    finally:
        LogGroup.get_cfn_attribute = original  # type: ignore[method-assign]


def _traced_functions(template: dict[str, Any], deployed: DeployedStack) -> set[str]:
    return {deployed.physical_ids[logical] for logical, resource in template.get("Resources", {}).items()
            if resource.get("Type") == "AWS::Lambda::Function"
            and resource.get("Properties", {}).get("TracingConfig", {}).get("Mode") == "Active"}


def _function_log_groups(template: dict[str, Any], deployed: DeployedStack) -> dict[str, str]:
    groups = {}
    for logical_id, resource in template.get("Resources", {}).items():
        group = resource.get("Properties", {}).get("LoggingConfig", {}).get("LogGroup")
        if resource.get("Type") == "AWS::Lambda::Function" and isinstance(group, dict) and "Ref" in group:
            groups[deployed.physical_ids[logical_id]] = deployed.physical_ids[group["Ref"]]
    return groups


def _resolver(stack_name: str, account: str, region: str) -> Any:
    """Resolve a template fragment's intrinsic functions against the deployed stack (moto's own resolver)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import clean_json

    backend = cloudformation_backends[account][region]
    stack = next(s for s in backend.stacks.values() if s.name == stack_name)
    return lambda fragment: clean_json(fragment, stack.resource_map)


def _apply_resource_policies(template: dict[str, Any], resolve: Any, region: str, iam: IamEnforcement | None) -> None:
    """Bucket, topic and queue policies through their APIs; Lambda permissions as AddPermission stores them."""
    s3, sns, sqs = (boto3.client(name, region_name=region) for name in ("s3", "sns", "sqs"))
    for resource in template.get("Resources", {}).values():
        kind, properties = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::S3::BucketPolicy":
            s3.put_bucket_policy(Bucket=resolve(properties["Bucket"]),
                                 Policy=json.dumps(resolve(properties["PolicyDocument"])))
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in resolve(properties["Topics"]):
                sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                                         AttributeValue=json.dumps(resolve(properties["PolicyDocument"])))
        elif kind == "AWS::SQS::QueuePolicy":
            for queue_url in resolve(properties["Queues"]):
                sqs.set_queue_attributes(QueueUrl=queue_url,
                                         Attributes={"Policy": json.dumps(resolve(properties["PolicyDocument"]))})
        elif kind == "AWS::Lambda::Permission" and iam is not None:
            statement = permission_statement(resolve(properties))
            iam.function_permissions.setdefault(statement["Resource"], []).append(statement)


def permission_statement(properties: dict[str, Any]) -> dict[str, Any]:
    """The resource-based policy statement Lambda's AddPermission stores for an ``AWS::Lambda::Permission``
    (https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html: ``SourceArn`` becomes an ``ArnLike``
    condition on ``AWS:SourceArn``, ``SourceAccount`` a ``StringEquals`` on ``AWS:SourceAccount``)."""
    function = properties["FunctionName"]
    principal = properties["Principal"]
    condition: dict[str, dict[str, str]] = {}
    if properties.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": properties["SourceArn"]}
    if properties.get("SourceAccount"):
        condition["StringEquals"] = {"AWS:SourceAccount": properties["SourceAccount"]}
    statement: dict[str, Any] = {
        "Effect": "Allow", "Action": properties["Action"],
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Resource": function}
    if condition:
        statement["Condition"] = condition
    return statement


def _create_alarms(template: dict[str, Any], resolve: Any, stack_name: str, region: str) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        properties = resolve(resource["Properties"])
        # CloudFormation names an alarm without AlarmName "<stack>-<logical id>-<suffix>".
        cloudwatch.put_metric_alarm(AlarmName=properties.pop("AlarmName", f"{stack_name}-{logical_id}"),
                                    **properties)


def _create_dashboards(template: dict[str, Any], resolve: Any, stack_name: str, account: str, region: str) -> None:
    """Each dashboard, its references to the alarms resolved to the ARNs ``_create_alarms`` gave them."""
    alarms = {logical: f"arn:aws:cloudwatch:{region}:{account}:alarm:{stack_name}-{logical}"
              for logical, resource in template.get("Resources", {}).items()
              if resource.get("Type") == "AWS::CloudWatch::Alarm"}

    def alarm_arns(value: Any) -> Any:
        if isinstance(value, dict):
            target = value.get("Fn::GetAtt")
            if isinstance(target, list) and target[0] in alarms:
                return alarms[target[0]]
            return {key: alarm_arns(item) for key, item in value.items()}
        if isinstance(value, list):
            return [alarm_arns(item) for item in value]
        return value

    cloudwatch = boto3.client("cloudwatch", region_name=region)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::CloudWatch::Dashboard":
            properties = resolve(alarm_arns(resource["Properties"]))
            cloudwatch.put_dashboard(DashboardName=properties.get("DashboardName", f"{stack_name}-{logical_id}"),
                                     DashboardBody=properties["DashboardBody"])


def _check_creation(template: dict[str, Any], deployed: DeployedStack, resolve: Any, iam: IamEnforcement) -> None:
    """What AWS checks when it creates the stack's functions, state machines and encrypted log groups."""
    from neo_recommender.emulator.iam_policy import Principal
    from neo_recommender.emulator.iam_requests import plain_request

    for logical_id, resource in template.get("Resources", {}).items():
        kind, properties = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            # CreateFunction: "The role defined for the function cannot be assumed by Lambda."
            # (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html)
            role = resolve(properties["Role"])
            if not iam.check_assume_role(role, "lambda.amazonaws.com").allowed:
                raise DeploymentFailed(f"{logical_id}: InvalidParameterValueException: The role defined for the "
                                       "function cannot be assumed by Lambda.")
        elif kind == "AWS::StepFunctions::StateMachine":
            role = resolve(properties["RoleArn"])
            arn = deployed.physical_ids[logical_id]
            # CreateStateMachine checks the role's trust (https://docs.aws.amazon.com/step-functions/latest/dg/
            # procedure-create-iam-role.html) and, with logging, the log-delivery permissions
            # (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy).
            if not iam.check_assume_role(role, "states.amazonaws.com", source_arn=arn).allowed:
                raise DeploymentFailed(f"{logical_id}: InvalidDefinition: Neither the global service principal "
                                       "states.amazonaws.com, nor the regional one is authorized to assume the "
                                       "provided role.")
            if properties.get("LoggingConfiguration", {}).get("Destinations"):
                actions = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                           "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                           "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")
                decision = iam.check(_role_session(role, "StepFunctions"),
                                     [plain_request(action, ("*",)) for action in actions], delivered=True)
                if not decision.allowed:
                    raise DeploymentFailed(f"{logical_id}: AccessDeniedException: The state machine IAM Role is not "
                                           f"authorized to access the Log Destination ({decision.context.action})")
        elif kind == "AWS::Logs::LogGroup" and properties.get("KmsKeyId"):
            # "CloudWatch Logs must have permission to use the key" or CreateLogGroup fails
            # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
            group = deployed.physical_ids[logical_id]
            group_arn = f"arn:aws:logs:{iam.region}:{iam.account}:log-group:{group}"
            decision = iam.check_key_use(Principal(f"logs.{iam.region}.amazonaws.com", iam.account),
                                         resolve(properties["KmsKeyId"]),
                                         ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
                                         via_service=None, delivered=True,
                                         keys={"kms:EncryptionContext:aws:logs:arn": group_arn})
            if not decision.allowed:
                raise DeploymentFailed(f"{logical_id}: AccessDeniedException: The specified KMS key does not exist "
                                       f"or is not allowed to be used with Arn '{group_arn}'")


def _role_session(role_arn: str, session: str) -> Any:
    from neo_recommender.emulator.iam_enforcement import role_principal

    return role_principal(role_arn, session)


def _create_executable_state_machines(deployed: DeployedStack, account: str, region: str) -> None:
    # moto's CloudFormation resolved the definition's references; the executing backend is separate.
    stepfunctions = boto3.client("stepfunctions", region_name=region)
    for arn in deployed.physical_id_of_type("AWS::StepFunctions::StateMachine"):
        created = stepfunctions_backends[account][region].describe_state_machine(arn)
        stepfunctions.create_state_machine(
            name=created.name, definition=created.definition, roleArn=created.roleArn,
            type=created.type, loggingConfiguration=created.loggingConfiguration or {"level": "OFF"},
            tracingConfiguration=created.tracingConfiguration or {"enabled": False})


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


class _Notices(logging.Handler):
    """Collects moto's "No Moto CloudFormation support for ..." notices (kept, never hidden)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
