"""What Inference Recommender does with the role passed in ``RoleArn``, authorized as AWS would.

AWS documents only ``AmazonSageMakerFullAccess`` for this role (IR's prerequisites,
https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-prerequisites.html); it publishes no
least-privilege list. What IR does with the role is read here from the pages that document each part of the work:

- ``CREATE_MODEL``: https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms
  (a model's execution role reads the model archive, pulls the container image from ECR, writes CloudWatch Logs and
  metrics, and in a VPC manages the endpoint's network interfaces);
- ``COMPILATION``: https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createcompilationjob-perms
  (Neo reads the model and writes the compiled artifacts);
- ``IR_API``: the CreateInferenceRecommendationsJob API reference
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateInferenceRecommendationsJob.html): the role
  "enables Amazon SageMaker to perform tasks on your behalf"; ``VolumeKmsKeyId`` "will be passed to SageMaker Hosting
  for endpoint creation ... The SageMaker execution role must have kms:CreateGrant"; ``OutputConfig.KmsKeyId`` needs
  ``kms:GenerateDataKey``;
- ``S3_KMS``: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html (reading an SSE-KMS object
  needs ``kms:Decrypt``, writing one ``kms:GenerateDataKey``);
- the dataset's dependent actions: ``sagemaker:CreateModel`` depends on ``iam:PassRole`` (the models IR creates run
  with this same role).

``first_refusal`` returns the job's FailureReason for the first need the role's policies refuse, or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neo_recommender.emulator.iam_enforcement import role_principal
from neo_recommender.emulator.iam_requests import ActionRequest, pass_role_request, plain_request

if TYPE_CHECKING:
    from neo_recommender.emulator.iam_enforcement import IamEnforcement

CREATE_MODEL = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms"
COMPILATION = ("https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
               "#sagemaker-roles-createcompilationjob-perms")
IR_API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateInferenceRecommendationsJob.html"
S3_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
S3_GET_OBJECT = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html"
_ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                        r"(?P<repository>[^:@]+)")
#: Where SageMaker endpoints log and publish metrics (CloudWatch namespace and log group names).
_METRIC_NAMESPACE = "/aws/sagemaker/Endpoints"


@dataclass(frozen=True)
class RoleNeed:
    """One thing IR does with the role, the request it makes, and the page that documents it."""

    what: str
    request: ActionRequest
    source: str
    key: str | None = None
    """A KMS key: the request is a key use (the key policy and the role's policies decide)."""
    key_keys: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Benchmark:
    """What one benchmark creates: its endpoint's name, and its Neo compilation's name if compiled."""

    endpoint_name: str
    compilation_name: str | None


def role_needs(job: dict[str, Any], container: dict[str, Any], package_arn: str, payload_url: str | None,
               benchmarks: list[Benchmark], iam: IamEnforcement) -> list[RoleNeed]:
    """Everything IR does with the role for one job, in the order it does it."""
    region, account = iam.region, iam.account
    role_arn = job["RoleArn"]
    input_config = job.get("InputConfig") or {}
    sagemaker = f"arn:aws:sagemaker:{region}:{account}"
    # Not modelled: whether IR adds the compiled inference specification to the package (UpdateModelPackage). The
    # Neo page (inference-recommender-neo-compilation) shows only the rows it returns, naming a compilation job
    # and an InferenceSpecificationName; no AWS page says IR writes the package, so the role gets no
    # UpdateModelPackage. sagemaker_full_access (AWS's documented setup) would cover it if IR needs it.
    needs = [RoleNeed("describe the model package",
                      plain_request("sagemaker:DescribeModelPackage", (package_arn,)), IR_API)]
    for what, url in (("read the model archive", container.get("ModelDataUrl")),
                      ("read the sample payload archive", payload_url)):
        if url:
            needs += _read_object(iam, what, url, CREATE_MODEL)
    image = _ECR_IMAGE.match(str(container.get("Image") or ""))
    needs.append(RoleNeed("get an ECR authorization token", plain_request("ecr:GetAuthorizationToken", ("*",)),
                          CREATE_MODEL))
    if image:
        repository = f"arn:aws:ecr:{image['region']}:{image['account']}:repository/{image['repository']}"
        needs += [RoleNeed(f"pull the container image ({action})", plain_request(action, (repository,)), CREATE_MODEL)
                  for action in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")]
    needs.append(RoleNeed("pass itself to the benchmark models", pass_role_request(role_arn,
                                                                                    "sagemaker.amazonaws.com"),
                          "the dataset: sagemaker:CreateModel depends on iam:PassRole"))
    volume_key = input_config.get("VolumeKmsKeyId")
    if volume_key:
        needs.append(RoleNeed("let SageMaker Hosting encrypt the endpoints' volumes",
                              plain_request("kms:CreateGrant", ("*",)), IR_API, key=volume_key,
                              key_keys=(("kms:GrantIsForAWSResource", "true"),)))
    vpc = input_config.get("VpcConfig")
    if vpc:
        needs += _vpc_needs(vpc, region, account)
    output = job.get("OutputConfig") or {}
    compiled_url = (output.get("CompiledOutputConfig") or {}).get("S3OutputUri")
    for benchmark in benchmarks:
        endpoint = benchmark.endpoint_name
        created = [("sagemaker:CreateModel", f"{sagemaker}:model/{endpoint}"),
                   ("sagemaker:CreateEndpointConfig", f"{sagemaker}:endpoint-config/{endpoint}"),
                   ("sagemaker:CreateEndpoint", f"{sagemaker}:endpoint/{endpoint}"),
                   ("sagemaker:DescribeEndpoint", f"{sagemaker}:endpoint/{endpoint}"),
                   ("sagemaker:InvokeEndpoint", f"{sagemaker}:endpoint/{endpoint}"),
                   ("sagemaker:DeleteEndpoint", f"{sagemaker}:endpoint/{endpoint}"),
                   ("sagemaker:DeleteEndpointConfig", f"{sagemaker}:endpoint-config/{endpoint}"),
                   ("sagemaker:DeleteModel", f"{sagemaker}:model/{endpoint}")]
        if benchmark.compilation_name:
            compilation = f"{sagemaker}:compilation-job/{benchmark.compilation_name}"
            created[:0] = [("sagemaker:CreateCompilationJob", compilation),
                           ("sagemaker:DescribeCompilationJob", compilation)]
            if compiled_url:
                needs += _write_object(iam, "write Neo's compiled model",
                                       f"{compiled_url.rstrip('/')}/{benchmark.compilation_name}/model.tar.gz",
                                       output.get("KmsKeyId"), COMPILATION)
        needs += [RoleNeed(f"run the benchmark endpoint {endpoint} ({action})", plain_request(action, (arn,)), IR_API)
                  for action, arn in created]
        group = f"/aws/sagemaker/Endpoints/{endpoint}"
        stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:AllTraffic/emulated"
        needs += [RoleNeed("create the endpoint's log group", plain_request(
                      "logs:CreateLogGroup", (f"arn:aws:logs:{region}:{account}:log-group:{group}",)), CREATE_MODEL),
                  RoleNeed("create the endpoint's log stream", plain_request("logs:CreateLogStream", (stream,)),
                           CREATE_MODEL),
                  RoleNeed("write the endpoint's logs", plain_request("logs:PutLogEvents", (stream,)), CREATE_MODEL)]
    needs.append(RoleNeed("publish the endpoints' metrics", plain_request(
        "cloudwatch:PutMetricData", ("*",), {"cloudwatch:namespace": _METRIC_NAMESPACE},
        extra_supported=frozenset({"cloudwatch:namespace"})), CREATE_MODEL))
    return needs


def first_refusal(iam: IamEnforcement, role_arn: str, needs: list[RoleNeed]) -> str | None:
    """The FailureReason IR reports for the first need the role may not do, or None."""
    principal = role_principal(role_arn, "SageMaker")
    for need in needs:
        if need.key is not None:
            decision = iam.check_key_use(principal, need.key, (need.request.action.iam_action,), via_service=None,
                                         delivered=True, keys=dict(need.key_keys))
        else:
            decision = iam.check(principal, [need.request], delivered=True)
        if not decision.allowed:
            return (f"AccessDeniedException: Inference Recommender could not {need.what}: "
                    f"User: {principal.display_arn} is not authorized to perform: {decision.context.action} on "
                    f"resource: {decision.context.resource} {decision.reason}")
    return None


def _read_object(iam: IamEnforcement, what: str, url: str, source: str) -> list[RoleNeed]:
    bucket, key = _split(url)
    needs = [RoleNeed(what, plain_request("s3:GetObject", (f"arn:aws:s3:::{bucket}/{key}",)), source)]
    if not iam.object_exists(bucket, key):  # S3 says 404 only to a principal that may list the bucket, else 403
        needs.append(RoleNeed(f"{what} (it is missing: list the bucket)",
                              plain_request("s3:ListBucket", (f"arn:aws:s3:::{bucket}",)), S3_GET_OBJECT))
    kms_key = _object_key(iam, bucket, key)
    if kms_key:
        needs.append(RoleNeed(f"{what} (decrypt)", plain_request("kms:Decrypt", ("*",)), S3_KMS, key=kms_key,
                              key_keys=(("kms:ViaService", f"s3.{iam.region}.amazonaws.com"),
                                        ("kms:CallerAccount", iam.account))))
    return needs


def _write_object(iam: IamEnforcement, what: str, url: str, output_key: str | None, source: str) -> list[RoleNeed]:
    bucket, key = _split(url)
    needs = [RoleNeed(what, plain_request("s3:PutObject", (f"arn:aws:s3:::{bucket}/{key}",)), source)]
    kms_key = output_key or _bucket_key(iam, bucket)
    if kms_key:
        needs.append(RoleNeed(f"{what} (encrypt)", plain_request("kms:GenerateDataKey", ("*",)), S3_KMS, key=kms_key,
                              key_keys=(("kms:ViaService", f"s3.{iam.region}.amazonaws.com"),
                                        ("kms:CallerAccount", iam.account))))
    return needs


def _vpc_needs(vpc: dict[str, Any], region: str, account: str) -> list[RoleNeed]:
    ec2 = f"arn:aws:ec2:{region}:{account}"
    interface = f"{ec2}:network-interface/*"
    resources = (interface, *(f"{ec2}:subnet/{s}" for s in vpc.get("Subnets", [])),
                 *(f"{ec2}:security-group/{g}" for g in vpc.get("SecurityGroupIds", [])))
    needs = [RoleNeed("create the endpoints' network interfaces", plain_request("ec2:CreateNetworkInterface",
                                                                                 resources), CREATE_MODEL)]
    needs += [RoleNeed(f"manage the endpoints' network interfaces ({action})", plain_request(action, (interface,)),
                       CREATE_MODEL)
              for action in ("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                             "ec2:DeleteNetworkInterfacePermission")]
    needs += [RoleNeed(f"look up the VPC ({action})", plain_request(action, ("*",)), CREATE_MODEL)
              for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                             "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups")]
    return needs


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def _object_key(iam: IamEnforcement, bucket: str, key: str) -> str | None:
    return iam.encryption_key_of_object(bucket, key, "s3:GetObject")


def _bucket_key(iam: IamEnforcement, bucket: str) -> str | None:
    return iam.encryption_key_of_object(bucket, "", "s3:PutObject")
