"""What an AWS API call asks IAM: its actions, the ARNs of the resources it touches, and its condition keys.

The action of an operation is ``<service prefix>:<operation>`` unless AWS documents another (``_ACTION_OF``);
its resource types and their ARN formats come from the Service Authorization Reference (``iam_dataset``). The
names in an ARN format (``${TableName}``, ``${BucketName}``, ...) are filled from the request's own parameters;
the table below says which parameter holds each name. A resource type whose names the request does not carry
is not involved; a *required* one that cannot be filled is an error here, never a silent ``"*"``.

Dependent actions the reference lists are asked for when the request uses what they guard: ``iam:PassRole``
when a role ARN is passed, ``<service>:AddTags`` when tags are given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neo_recommender.emulator.iam_dataset import ActionInfo, action_info, resource_type_of

#: botocore's signing name -> IAM service prefix, where they differ.
_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}

#: (prefix, operation) -> the IAM action AWS documents for it, where the names differ. Sources: "Required
#: permissions for Amazon S3 API operations" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
#: using-with-s3-policy-actions.html): HeadObject needs s3:GetObject, ListObjects(V2) and HeadBucket need
#: s3:ListBucket, a versioned GetObject or HeadObject needs s3:GetObjectVersion; Lambda's Invoke API is
#: lambda:InvokeFunction (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
_ACTION_OF = {("s3", "HeadObject"): "GetObject", ("s3", "ListObjectsV2"): "ListBucket",
              ("s3", "ListObjects"): "ListBucket", ("s3", "HeadBucket"): "ListBucket",
              ("s3", "ListObjectVersions"): "ListBucketVersions", ("lambda", "Invoke"): "InvokeFunction"}
_VERSIONED_ACTION = {("s3", "GetObject"): "GetObjectVersion", ("s3", "DeleteObject"): "DeleteObjectVersion"}


def _last(separator: str) -> Callable[[str], str]:
    return lambda value: value.rsplit(separator, 1)[-1]


def _after(marker: str) -> Callable[[str], str]:
    return lambda value: value.split(marker, 1)[1] if marker in value else value


def _arn_field(index: int) -> Callable[[str], str]:
    return lambda value: value.split(":")[index] if value.startswith("arn:") else value


#: ARN-format name -> (request parameter, how to get the name from its value). Names not listed come from a
#: parameter of the same name (``${ModelName}`` from ``ModelName``). IR job ARNs are lower case: SageMaker
#: lower-cases the job name in them (CreateInferenceRecommendationsJob returns ``.../inference-recommendations-
#: job/<lower-cased name>``), and IAM matches that ARN.
_NAMES: dict[str, dict[str, tuple[str, Callable[[str], str]]]] = {
    "s3": {"BucketName": ("Bucket", str), "ObjectName": ("Key", str)},
    "sns": {"TopicName": ("TopicArn", _last(":"))},
    "sqs": {"QueueName": ("QueueUrl", _last("/"))},
    "states": {"StateMachineName": ("stateMachineArn", _arn_field(6)),
               "ExecutionId": ("executionArn", _arn_field(7))},
    "lambda": {"FunctionName": ("FunctionName", _arn_field(6))},
    "events": {"RuleName": ("Name", str)},
    "kms": {"KeyId": ("KeyId", _after("key/"))},
    "iam": {"RoleNameWithPath": ("RoleArn", _after(":role/")), "RoleName": ("RoleName", str)},
    "logs": {"LogGroupName": ("logGroupName", str), "LogStreamName": ("logStreamName", str)},
    "ecr": {"RepositoryName": ("repositoryName", str)},
    "sagemaker": {"InferenceRecommendationsJobName": ("JobName", str.lower),
                  "ModelPackageGroupName": ("ModelPackageGroupName", _after(":model-package-group/")),
                  "ModelPackageName": ("ModelPackageName", _after(":model-package/"))},
}
#: Parameters that pass a role to the service (``iam:PassRole``, https://docs.aws.amazon.com/IAM/latest/UserGuide/
#: id_roles_use_passrole.html).
_ROLE_PARAMETERS = ("RoleArn", "roleArn", "ExecutionRoleArn", "Role")


class UnresolvableRequest(LookupError):
    """The emulator cannot tell which resources a request touches; it refuses to guess."""


@dataclass(frozen=True)
class ActionRequest:
    """One action a call needs, on each of the resources it touches, with the request's condition keys."""

    action: ActionInfo
    resources: tuple[str, ...]
    keys: Mapping[str, tuple[str, ...]]
    supported_keys: frozenset[str]


#: Keys every request context carries (https://docs.aws.amazon.com/IAM/latest/UserGuide/
#: reference_policies_condition-keys.html): aws:SecureTransport is "true" because boto3 calls HTTPS endpoints.
GLOBAL_KEYS = frozenset({"aws:securetransport", "aws:principalarn", "aws:principalaccount", "aws:principaltype",
                         "aws:requestedregion", "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner",
                         "aws:viaawsservice"})


def iam_prefix(service_model: Any) -> str:
    """The IAM service prefix of a botocore service model."""
    return _PREFIX_OF_SIGNING_NAME.get(service_model.signing_name, service_model.signing_name)


def action_requests(prefix: str, operation: str, params: Mapping[str, Any], *, region: str,
                    account: str) -> list[ActionRequest]:
    """The actions one call needs: its own and the dependent ones it triggers."""
    name = _ACTION_OF.get((prefix, operation), operation)
    if params.get("VersionId") and (prefix, name) in _VERSIONED_ACTION:
        name = _VERSIONED_ACTION[(prefix, name)]
    info = action_info(prefix, name)
    keys, supported = _condition_keys(prefix, params)
    requests = [ActionRequest(info, _resources(info, params, region, account), keys, supported)]
    role = next((params[p] for p in _ROLE_PARAMETERS if isinstance(params.get(p), str)), None)
    if role is not None and "iam:PassRole" in info.dependent_actions:
        requests.append(pass_role_request(role, f"{prefix}.amazonaws.com"))
    tags_action = next((a for a in info.dependent_actions if a.endswith((":AddTags", ":TagResource"))), None)
    if tags_action and params.get("Tags"):
        tag_service, tag_name = tags_action.split(":")
        requests.append(ActionRequest(action_info(tag_service, tag_name), requests[0].resources, keys, supported))
    return requests


def pass_role_request(role_arn: str, to_service: str) -> ActionRequest:
    """``iam:PassRole`` of ``role_arn`` to a service (the ``iam:PassedToService`` condition key)."""
    info = action_info("iam", "PassRole")
    return ActionRequest(info, (role_arn,), {"iam:passedtoservice": (to_service,)},
                         GLOBAL_KEYS | {"iam:passedtoservice", "iam:associatedresourcearn"})


def plain_request(iam_action: str, resources: tuple[str, ...], keys: Mapping[str, str | tuple[str, ...]] | None = None,
                  extra_supported: frozenset[str] = frozenset()) -> ActionRequest:
    """An action a service takes on a principal's behalf (KMS for SNS, logs for Lambda), with given keys."""
    service, name = iam_action.split(":")
    given = {key.lower(): (value,) if isinstance(value, str) else tuple(value) for key, value in (keys or {}).items()}
    return ActionRequest(action_info(service, name), resources, given, GLOBAL_KEYS | frozenset(given) | extra_supported)


def _resources(info: ActionInfo, params: Mapping[str, Any], region: str, account: str) -> tuple[str, ...]:
    if not info.has_resource_types:
        return ("*",)
    filled: list[str] = []
    for use in info.resource_types:
        arns = _fill(info.service, use.arn_template, params, region, account)
        if arns:
            filled.extend(arns)
        elif use.required and not _given_arn(info, params):
            raise UnresolvableRequest(f"{info.iam_action}: cannot tell the {use.name} it acts on from the request "
                                      f"({sorted(params)})")
    if not filled:
        given = _given_arn(info, params)
        if given is None:
            raise UnresolvableRequest(f"{info.iam_action}: the request names none of its resource types "
                                      f"({', '.join(u.name for u in info.resource_types)})")
        filled = [given]
    # A more specific ARN of the same resource (an index of a table) is what the request touches.
    return tuple(dict.fromkeys(arn for arn in filled
                               if not any(other != arn and other.startswith(arn + "/") for other in filled)))


def _given_arn(info: ActionInfo, params: Mapping[str, Any]) -> str | None:
    """An ARN parameter naming a resource of one of the action's types: ``ResourceArn`` (AddTags, ListTags, ...)
    or another ``...Arn`` parameter (``ModelPackageArn`` of UpdateModelPackage)."""
    types = {use.name for use in info.resource_types}
    candidates = [params.get("ResourceArn"), params.get("resourceArn")] + [
        value for name, value in params.items() if name.endswith(("Arn", "arn"))]
    for arn in candidates:
        if isinstance(arn, str) and arn.startswith("arn:") and resource_type_of(info.service, arn) in types:
            return arn
    return None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _fill(service: str, template: str, params: Mapping[str, Any], region: str, account: str) -> list[str]:
    """The ARNs of one resource type named by the request; several for batch requests (one per table)."""
    names = _VARIABLE.findall(template)
    if service == "dynamodb" and "TableName" in names and "RequestItems" in params:
        return [_substitute(template, {"TableName": table}, region, account) for table in params["RequestItems"]]
    values: dict[str, str] = {}
    for name in names:
        if name in ("Partition", "Region", "Account"):
            continue
        parameter, extract = _NAMES.get(service, {}).get(name, (name, str))
        value = params.get(parameter)
        if not isinstance(value, str) or not value:
            return []
        values[name] = extract(value)
    return [_substitute(template, values, region, account)]


def _substitute(template: str, values: Mapping[str, str], region: str, account: str) -> str:
    every = {"Partition": "aws", "Region": region, "Account": account, **values}
    return _VARIABLE.sub(lambda match: every[match.group(1)], template)


def _condition_keys(prefix: str, params: Mapping[str, Any]) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The request's own condition keys (tags, namespaces, prefixes), and which keys the emulator knows."""
    keys: dict[str, tuple[str, ...]] = {}
    supported = set(GLOBAL_KEYS) | {"aws:tagkeys", "aws:requesttag/"}
    tags = params.get("Tags") or params.get("tags")
    if isinstance(tags, list) and tags and isinstance(tags[0], Mapping):
        tags = {str(t.get("Key")): str(t.get("Value")) for t in tags}
    if isinstance(tags, Mapping) and tags:
        keys["aws:tagkeys"] = tuple(tags)
        keys.update({f"aws:requesttag/{k.lower()}": (str(v),) for k, v in tags.items()})
    if prefix == "cloudwatch":
        supported.add("cloudwatch:namespace")
        if isinstance(params.get("Namespace"), str):
            keys["cloudwatch:namespace"] = (params["Namespace"],)
    if prefix == "s3":
        supported |= {"s3:prefix", "s3:versionid"}
        for key, parameter in (("s3:prefix", "Prefix"), ("s3:versionid", "VersionId")):
            if isinstance(params.get(parameter), str):
                keys[key] = (params[parameter],)
    return keys, frozenset(supported)
