"""Deploy a synthesized stack from a CDK cloud assembly into the emulator.

The template is the one ``cdk synth`` wrote, deployed through moto's CloudFormation; the
Lambda code is the asset the assembly lists, uploaded to the bootstrap bucket where the
template expects it. What moto's CloudFormation leaves out is completed from the same
template afterwards: bucket properties beyond encryption (versioning, public access block,
the EventBridge switch), and state machines in the backend that executes them.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.stepfunctions.models import stepfunctions_backends

_BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


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

    def physical_id_of_type(self, resource_type: str) -> list[str]:
        """Physical ids of every resource of one CloudFormation type."""
        return [self.physical_ids[logical] for logical, kind in self.resource_types.items()
                if kind == resource_type]


def deploy_stack(assembly_dir: Path, stack_name: str, account: str, region: str) -> DeployedStack:
    """Deploy ``stack_name`` from the cloud assembly in ``assembly_dir``."""
    # moto has no model for bucket/topic policies or CDK metadata: it skips them, and says so
    # each time it parses the template. Those notices are expected here.
    with warnings.catch_warnings(), _quiet("moto"):
        warnings.simplefilter("ignore")
        return _deploy(assembly_dir, stack_name, account, region)


def _deploy(assembly_dir: Path, stack_name: str, account: str, region: str) -> DeployedStack:
    template_text = (assembly_dir / f"{stack_name}.template.json").read_text(encoding="utf-8")
    template = json.loads(template_text)
    boto3.client("ssm", region_name=region).put_parameter(
        Name=_BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String", Overwrite=True)
    upload_assets(assembly_dir, stack_name, account, region)

    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=template_text,
                                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"emulated deployment of {stack_name} ended {stack['StackStatus']}: "
                           f"{stack.get('StackStatusReason')}")
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    deployed = DeployedStack(
        name=stack_name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        physical_ids={r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
                      if "LogicalResourceId" in r and "PhysicalResourceId" in r},
        resource_types={r["LogicalResourceId"]: r["ResourceType"] for r in resources
                        if "LogicalResourceId" in r and "ResourceType" in r},
        function_dead_letter_queues={},
    )
    deployed.function_dead_letter_queues.update(_function_dead_letter_queues(template, deployed))
    deployed.function_retry_attempts.update(_function_retry_attempts(template, deployed))
    _apply_bucket_properties(template, deployed, region)
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


class _quiet:
    """Silence one logger for the duration of a block."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)
        self._level = self._logger.level

    def __enter__(self) -> None:
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)
