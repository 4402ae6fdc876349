"""The cdk-nag (AwsSolutions pack) findings the pipeline accepts, each with why it cannot be narrowed.

Only IAM5 (wildcards in IAM policies) remains after the fixes properties can make; each
finding is acknowledged on the role that carries it, with its exact finding id, so a new
wildcard anywhere still fails ``cdk synth``. L1 (not the latest runtime) is acknowledged only when
the user chose an older tested runtime with the ``runtime`` prop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Validations

from constructs import IConstruct
from neo_recommender.function_settings import DEFAULT_RUNTIME

if TYPE_CHECKING:
    from neo_recommender.pipeline import InferenceRecommenderPipeline

_SAGEMAKER = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
_XRAY_REASON = ("X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
                "permissions, so AWS requires Resource '*'.")
_TASK_TOKEN_REASON = ("states:SendTaskSuccess and states:SendTaskFailure have no resource type in the Service "
                      "Authorization Reference (list_awsstepfunctions.html), so AWS allows them only on Resource '*'; "
                      "the task token itself names the one execution answered.")
_NAME_PREFIX_REASON = ("Scoped to the 'nr-' name prefix the pipeline gives every model package group, package "
                       "and Inference Recommender job; the names are derived per submission at run time.")


def acknowledge_findings(pipeline: InferenceRecommenderPipeline, name_prefix: str, in_vpc: bool = False,
                         sagemaker_full_access: bool = False) -> None:
    """Acknowledge the pipeline's unavoidable IAM5 findings on the roles that carry them.

    ``in_vpc`` adds the network-interface wildcards SageMaker needs to place endpoints in a VPC;
    ``sagemaker_full_access`` the IAM4 finding of the managed policy the user asked for.
    """
    if sagemaker_full_access:
        _acknowledge(pipeline.recommender_role, {}, iam4={
            "Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSageMakerFullAccess": (
                "Asked for with sagemaker_full_access: AWS documents only this managed policy for the Inference "
                "Recommender role (inference-recommender-prerequisites.html) and publishes no least-privilege list; "
                "the pipeline's own scoped statements stay beside it.")})
    bucket = _nag_text(pipeline, pipeline.bucket.bucket_arn)
    submissions = f"Resource::{bucket}/{pipeline.watched_prefix}*"
    groups = f"Resource::{_SAGEMAKER}:model-package-group/{name_prefix}*"
    packages = f"Resource::{_SAGEMAKER}:model-package/{name_prefix}*"
    jobs = f"Resource::{_SAGEMAKER}:inference-recommendations-job/{name_prefix}*"
    submissions_reason = ("Read access to the watched prefix only: submissions are uploaded under "
                          f"{pipeline.watched_prefix}<model>/ with names chosen by users.")
    functions = pipeline.functions

    _acknowledge(functions.validate_submission.role, {submissions: submissions_reason, "Resource::*": _XRAY_REASON})
    _acknowledge(functions.register_model.role, {groups: _NAME_PREFIX_REASON, packages: _NAME_PREFIX_REASON,
                                                 "Resource::*": _XRAY_REASON})
    _acknowledge(functions.start_job.role, {jobs: _NAME_PREFIX_REASON, "Resource::*": _XRAY_REASON})
    _acknowledge(functions.await_job_slot.role, {"Resource::*": _XRAY_REASON})
    _acknowledge(functions.check_job.role, {jobs: _NAME_PREFIX_REASON, "Resource::*": _XRAY_REASON})
    _acknowledge(functions.publish_results.role, {jobs: _NAME_PREFIX_REASON, packages: _NAME_PREFIX_REASON,
                                                  "Resource::*": (
        "sagemaker:ListInferenceRecommendationsJobSteps has no resource type in the Service Authorization Reference "
        "(list_amazonsagemaker.html), so AWS allows it only on Resource '*'; " + _XRAY_REASON)})
    _acknowledge(pipeline.task_response_policy, {"Resource::*": _TASK_TOKEN_REASON})
    if pipeline.poller_policy is not None:
        _acknowledge(pipeline.poller_policy, {"Resource::*": _TASK_TOKEN_REASON})
    _acknowledge(functions.record_failure.role, {jobs: _NAME_PREFIX_REASON, "Resource::*": _XRAY_REASON})
    _acknowledge(pipeline.record_ended_run_function.role, {jobs: _NAME_PREFIX_REASON, "Resource::*": _XRAY_REASON})
    if pipeline.watch_jobs_function is not None:
        _acknowledge(pipeline.watch_jobs_function.role, {jobs: _NAME_PREFIX_REASON, "Resource::*": (
            "sagemaker:ListInferenceRecommendationsJobs (one call lists every running job of the pass) and X-Ray "
            "tracing support no resource-level permissions, so AWS requires Resource '*'.")})

    if pipeline.function_settings.runtime.name != DEFAULT_RUNTIME:
        for function in pipeline.all_functions:
            Validations.of(function).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-L1", reason=(
                f"Runtime {pipeline.function_settings.runtime.name} was chosen with the runtime prop, one of the "
                f"runtimes the Lambda code is tested on; the default is {DEFAULT_RUNTIME}.")))

    state_machine_findings = {
        f"Resource::<{_logical_id(function)}.Arn>:*": (
            "CDK's LambdaInvoke task grants invoke on the function and its versions/aliases (ARN:*); "
            "these are the pipeline's own step functions.")
        for function in vars(functions).values()
    }
    state_machine_findings["Resource::*"] = (
        "X-Ray tracing and CloudWatch Logs delivery for Step Functions (logs:CreateLogDelivery, "
        "logs:PutResourcePolicy, ...) support no resource-level permissions, so AWS requires Resource '*'.")
    _acknowledge(pipeline.state_machine.role, state_machine_findings)

    ir_created = ("Inference Recommender creates, benchmarks and deletes these itself, under names it chooses "
                  "(sm-epc-*, neo-*); they can be scoped to this account and region only.")
    _acknowledge(pipeline.recommender_role, {
        submissions: "Inference Recommender reads the model and payload archives under the watched prefix.",
        f"Resource::{bucket}/{pipeline.compiled_output_prefix}*": (
            "Neo writes compiled artifacts under the pipeline's compiled-output prefix, one folder per run."),
        groups: _NAME_PREFIX_REASON,
        packages: _NAME_PREFIX_REASON,
        **{f"Resource::{_SAGEMAKER}:{kind}/*": ir_created
           for kind in ("model", "endpoint-config", "endpoint", "compilation-job")},
        "Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/*": (
            "Container images are pulled from SageMaker-owned registry accounts that differ by region "
            "(e.g. 683313688378 for XGBoost in us-east-1, 763104351884 for DLCs)."),
        "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*": (
            "The benchmark endpoints and compilation jobs log to log groups SageMaker names per resource."),
        "Resource::*": ("ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level "
                        "permissions (PutMetricData is limited to SageMaker namespaces by condition)"
                        + ("; nor do ec2:DescribeNetworkInterfaces, DescribeVpcs, DescribeDhcpOptions, "
                           "DescribeSubnets and DescribeSecurityGroups, which SageMaker calls to place endpoints "
                           "in the VPC." if in_vpc else ".")),
        **({"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*": (
            "SageMaker creates the benchmark endpoints' network interfaces in the given subnets and security "
            "groups and names them itself.")} if in_vpc else {}),
    })


def _acknowledge(scope: IConstruct | None, findings: dict[str, str], iam4: dict[str, str] | None = None) -> None:
    assert scope is not None, "every step function has a role"
    Validations.of(scope).acknowledge(*(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}[{finding}]", reason=reason)
        for rule, found in (("IAM5", findings), ("IAM4", iam4 or {})) for finding, reason in found.items()))


def _nag_text(scope: IConstruct, value: str) -> str:
    """A value as cdk-nag prints it in finding ids: ``<Logical.Arn>`` for an attribute, else the literal."""
    resolved = Stack.of(scope).resolve(value)
    if isinstance(resolved, dict) and "Fn::Join" in resolved and resolved["Fn::Join"][0] == "":
        return "".join(_nag_part(part) for part in resolved["Fn::Join"][1])
    return _nag_part(resolved)


def _nag_part(part: object) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and "Ref" in part:
        return f"<{part['Ref']}>"
    if isinstance(part, dict) and "Fn::GetAtt" in part:
        logical_id, attribute = part["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    raise ValueError(f"cannot name {part!r} the way cdk-nag does; import the bucket by name or ARN")


def _logical_id(construct: IConstruct) -> str:
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))
