"""IAM enforced in the emulator: every AWS call a deployed principal makes is authorized before moto answers it.

Who acts is a per-thread stack of principals (``acting_as``): a Lambda function's role while its handler runs,
the state machine's role while a task calls a service, and AWS service principals (EventBridge, CloudWatch,
SageMaker through the IR role) where the emulator delivers on their behalf. Calls made with no principal (the
test's own set-up, the emulator's plumbing) are the account owner's and are not checked.

A call is authorized from AWS's own authorization data (``iam_dataset``: action, resource types, ARN formats) and
the request's parameters (``iam_requests``), against the principal's identity-based policies (the role's inline
and managed policies, as deployed), the resource's policy (bucket, topic, queue, Lambda permissions, role trust),
and, for encrypted resources, the KMS key policy (``iam_policy.decide_key_use``). A denied call gets the service's
own AccessDenied error response, in its protocol, parsed by botocore as any AWS error.

Every decision is counted, every denial kept (``denials``), and every statement that allowed a request is counted
(``coverage``), so tests can tell which statement each scenario needs.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from neo_recommender.emulator.iam_policy import (
    Decision,
    Outcome,
    Policy,
    Principal,
    RequestContext,
    decide,
    decide_key_use,
    parse,
)
from neo_recommender.emulator.iam_requests import (
    GLOBAL_KEYS,
    ActionRequest,
    action_requests,
    iam_prefix,
    plain_request,
)

_local = threading.local()

#: How each service refuses a request: error code, HTTP status, protocol (botocore parses the body).
#: S3 answers a HEAD with a bare 403 (botocore reports code "403"); SNS calls it AuthorizationError.
_DENIAL = {"s3": ("AccessDenied", 403, "rest-xml"), "sns": ("AuthorizationError", 403, "query"),
           "iam": ("AccessDenied", 403, "query"), "sts": ("AccessDenied", 403, "query"),
           "lambda": ("AccessDeniedException", 403, "rest-json"), "sqs": ("AccessDenied", 403, "json"),
           "xray": ("AccessDeniedException", 403, "rest-json")}
_DEFAULT_DENIAL = ("AccessDeniedException", 400, "json")
#: A service's answer when the KMS key of the resource refuses the caller, where it differs from its AccessDenied
#: (SNS Publish: KMSAccessDeniedException, code KMSAccessDenied, https://docs.aws.amazon.com/sns/latest/api/
#: API_Publish.html#API_Publish_Errors).
_KMS_DENIAL = {"sns": ("KMSAccessDenied", 400, "query")}

#: The policy of an AWS managed key (``alias/aws/<service>``): account principals may use it only through the
#: service, and nobody can change that policy. As AWS shows it for aws/sns, aws/dynamodb, aws/s3 (the
#: "auto-<service>" policies; https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key and
#: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services: "the AWS
#: managed key for Amazon SNS ... you can't modify its policy", so AWS services such as CloudWatch cannot use it).
_MANAGED_KEY_POLICY = """{{"Version": "2012-10-17", "Id": "auto-{service}", "Statement": [
 {{"Sid": "Allow access through {service} for all principals in the account that are authorized to use {service}",
   "Effect": "Allow", "Principal": {{"AWS": "*"}},
   "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
              "kms:DescribeKey"],
   "Resource": "*",
   "Condition": {{"StringEquals": {{"kms:ViaService": "{service}.{region}.amazonaws.com",
                                   "kms:CallerAccount": "{account}"}}}}}},
 {{"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow",
   "Principal": {{"AWS": "arn:aws:iam::{account}:root"}},
   "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"], "Resource": "*"}}]}}"""
_KMS_KEYS = frozenset({"kms:viaservice", "kms:calleraccount", "kms:grantisforawsresource", "kms:encryptioncontext:"})


@dataclass(frozen=True)
class Denial:
    """A request the emulator refused, as AWS would have."""

    principal: str
    action: str
    resource: str
    message: str
    delivered: bool
    """False when no caller saw it: a service's delivery on the account's behalf (logs, alarms, events) dropped,
    as AWS drops it."""


class IamEnforcement:
    """Authorizes the AWS calls of the deployed stack's principals; install around an emulator."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.enabled = True
        #: Requests authorized (allowed or denied), by action.
        self.checked: Counter[str] = Counter()
        self.denials: list[Denial] = []
        #: (policy source, statement index) -> requests that statement allowed.
        self.coverage: Counter[tuple[str, int]] = Counter()
        #: The set of statements that allowed a request -> how many requests it allowed (which statements a request
        #: needs: removing the only identity-based statement of a set denies that request).
        self.allowing_sets: Counter[frozenset[tuple[str, int]]] = Counter()
        #: Lambda function ARN -> its resource-based policy statements (AWS::Lambda::Permission, AddPermission).
        self.function_permissions: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._originals: dict[str, Callable[..., Any]] = {}

    # ------------------------------------------------------------------ install

    def install(self) -> None:
        """Authorize every boto3 call made while a principal acts; idempotent."""
        if self._originals:
            return
        from moto.iam.access_control import PermissionResult
        from moto.s3.models import FakeBucket

        self._originals = {"call": BaseClient._make_api_call, "stubber": BotocoreStubber.__call__,
                           "bucket_permission": FakeBucket.get_permission}
        enforcement, original_call, original_stubber = self, self._originals["call"], self._originals["stubber"]

        def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            principal = current_principal()
            if principal is None or not enforcement.enabled:
                return original_call(client, operation_name, api_params)
            decision = enforcement.authorize_call(principal, client.meta.service_model, operation_name, api_params,
                                                  client.meta.region_name or enforcement.region)
            if decision.allowed:
                return original_call(client, operation_name, api_params)
            _local.denial = (iam_prefix(client.meta.service_model), decision.context.action.startswith("kms:"),
                             _message(decision))
            try:
                return original_call(client, operation_name, api_params)
            finally:
                _local.denial = None

        def answer(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            denial = getattr(_local, "denial", None)
            if denial is not None and stubber.enabled:
                _local.denial = None
                return _denied_response(request, *denial)
            return original_stubber(stubber, event_name, request, **kwargs)

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        BotocoreStubber.__call__ = answer  # type: ignore[method-assign]
        # moto's S3 judges bucket policies itself, denying whenever a statement's condition does not hold (so a
        # TLS-only Deny would refuse every request); here bucket policies are evaluated by this enforcement.
        FakeBucket.get_permission = lambda bucket, action, resource: PermissionResult.NEUTRAL  # type: ignore[method-assign]

    def uninstall(self) -> None:
        """Stop authorizing."""
        if self._originals:
            BaseClient._make_api_call = self._originals["call"]  # type: ignore[method-assign]
            BotocoreStubber.__call__ = self._originals["stubber"]  # type: ignore[method-assign]
            from moto.s3.models import FakeBucket

            FakeBucket.get_permission = self._originals["bucket_permission"]  # type: ignore[method-assign]
            self._originals = {}

    # --------------------------------------------------------------- decisions

    def authorize_call(self, principal: Principal, service_model: Any, operation: str, params: Mapping[str, Any],
                       region: str) -> Decision:
        """Authorize one API call: its action and dependent actions, then the KMS use it implies."""
        prefix = iam_prefix(service_model)
        requests = action_requests(prefix, operation, params, region=region, account=self.account)
        decision = self.check(principal, requests, delivered=True)
        if decision.allowed and prefix == "s3" and operation in ("GetObject", "HeadObject"):
            decision = self.check_missing_object(principal, str(params.get("Bucket")), str(params.get("Key")),
                                                 params.get("VersionId"), delivered=True) or decision
        if decision.allowed:
            for key_arn, actions, via in self._keys_used(prefix, requests[0], params):
                decision = self.check_key_use(principal, key_arn, actions, via_service=via, delivered=True)
                if not decision.allowed:
                    break
        return decision

    def check(self, principal: Principal, requests: Sequence[ActionRequest], *, delivered: bool,
              keys: Mapping[str, str] | None = None) -> Decision:
        """Authorize each action on each of its resources; the first denial answers."""
        decision: Decision | None = None
        for request in requests:
            for resource in request.resources:
                context = self._context(principal, request, resource, keys)
                decision = decide(self.identity_policies(principal), self.resource_policies(resource), context)
                self._record(decision, delivered)
                if not decision.allowed:
                    return decision
        assert decision is not None, "a call needs at least one action"
        return decision

    def check_key_use(self, principal: Principal, key: str, actions: Sequence[str], *, via_service: str | None,
                      delivered: bool, keys: Mapping[str, str] | None = None) -> Decision:
        """Authorize KMS actions on a key for a principal, through a service (``kms:ViaService``) or directly."""
        key_arn, key_policy = self.key_policy(key)
        decision: Decision | None = None
        for action in actions:
            given = {"kms:ViaService": via_service} if via_service else {}
            if not principal.is_service:
                given["kms:CallerAccount"] = principal.account
            request = plain_request(action, (key_arn,), {**given, **(keys or {})}, extra_supported=_KMS_KEYS)
            context = self._context(principal, request, key_arn, None)
            decision = decide_key_use(key_policy, self.identity_policies(principal), context)
            self._record(decision, delivered)
            if not decision.allowed:
                return decision
        assert decision is not None
        return decision

    def check_missing_object(self, principal: Principal, bucket: str, key: str, version: Any, *,
                             delivered: bool) -> Decision | None:
        """A request for an object that does not exist: S3 answers 404 only to a principal that may list the bucket,
        otherwise 403 AccessDenied ("If the object you request doesn't exist, the error that Amazon S3 returns depends
        on whether you also have the s3:ListBucket permission", GetObject in the S3 API reference)."""
        if self.object_exists(bucket, key, version):
            return None
        return self.check(principal, [plain_request("s3:ListBucket", (f"arn:aws:s3:::{bucket}",))],
                          delivered=delivered)

    def object_exists(self, bucket: str, key: str, version: Any = None) -> bool:
        """Whether an emulated object (its current version, or the version given) exists; True for a bucket the
        emulator does not hold (nothing to say about it)."""
        from moto.s3.models import FakeKey, s3_backends

        found = s3_backends[self.account]["aws"].buckets.get(bucket)
        if found is None:
            return True
        if version is None:  # the current version; a delete marker is no object
            return isinstance(found.keys.get(key), FakeKey)
        return any(isinstance(v, FakeKey) and v.version_id == version for v in found.keys.getlist(key, []))

    def check_assume_role(self, role_arn: str, service: str, *, source_arn: str | None = None) -> Decision:
        """Whether ``service`` may assume ``role_arn`` (its trust policy), as the service does before acting."""
        principal = Principal(service, self.account)
        keys = {"aws:SourceAccount": self.account, **({"aws:SourceArn": source_arn} if source_arn else {})}
        request = plain_request("sts:AssumeRole", (role_arn,), keys)
        context = self._context(principal, request, role_arn, None)
        decision = decide([], [self._trust_policy(role_arn)], context)
        self._record(decision, delivered=True)
        return decision

    @contextmanager
    def collecting(self) -> Iterator[Counter[frozenset[tuple[str, int]]]]:
        """The allowing sets of the decisions this thread makes meanwhile (e.g. a deployment's creation checks)."""
        saved = getattr(_local, "collected", None)
        _local.collected = collected = Counter()
        try:
            yield collected
        finally:
            _local.collected = saved

    def record_denial(self, decision: Decision, delivered: bool) -> None:
        """Keep a denial found outside a boto3 call (a delivery, a simulated service's own check)."""
        self._record(decision, delivered)

    # ------------------------------------------------------------------ policies

    def identity_policies(self, principal: Principal) -> list[Policy]:
        """The role's inline and attached managed policies, as deployed (none for a service principal)."""
        if principal.is_service:
            return []
        from moto.iam.models import iam_backends

        role = _role(iam_backends[self.account]["aws"], principal.arn)
        if role is None:
            return []
        policies = [Policy(name, parse(document)) for name, document in role.policies.items()]
        for arn, managed in role.managed_policies.items():
            version = next(v for v in managed.versions if v.is_default)
            policies.append(Policy(f"managed:{arn}", parse(version.document)))
        return policies

    def resource_policies(self, resource: str) -> list[Policy]:
        """The resource-based policy of the resource an ARN names, if its service has one."""
        if not resource.startswith("arn:"):
            return []
        service, region, account = resource.split(":")[2:5]
        if service == "s3":
            return self._bucket_policy(resource.split(":::", 1)[1].split("/", 1)[0])
        if service == "sns":
            from moto.sns.models import sns_backends

            topic = sns_backends[account][region].topics.get(resource)
            return [Policy(f"topic-policy:{resource}", topic._policy_json, resource_based=True)] if topic else []
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[account][region].queues.get(resource.rsplit(":", 1)[1])
            policy = getattr(queue, "policy", None)
            return [Policy(f"queue-policy:{resource}", parse(policy), resource_based=True)] if policy else []
        if service == "lambda":
            function_arn = ":".join(resource.split(":")[:7])
            statements = self.function_permissions.get(function_arn)
            if statements:
                return [Policy(f"function-policy:{function_arn}", {"Statement": statements}, resource_based=True)]
        return []

    def key_policy(self, key: str) -> tuple[str, Policy]:
        """A key's ARN and policy: an AWS managed key's documented policy, or the customer key's own."""
        if ":alias/aws/" in key or key.startswith("alias/aws/"):
            service = key.rsplit("/", 1)[1]
            arn = key if key.startswith("arn:") else f"arn:aws:kms:{self.region}:{self.account}:{key}"
            text = _MANAGED_KEY_POLICY.format(service=service, region=self.region, account=self.account)
            return arn, Policy(f"aws-managed-key-policy:{arn}", json.loads(text), resource_based=True)
        from moto.kms.models import kms_backends

        backend = kms_backends[self.account][self.region]
        key_id = key.rsplit("/", 1)[-1] if ":key/" in key or key.startswith("key/") else key
        if ":alias/" in key or key.startswith("alias/"):
            key_id = backend.get_key_id_from_alias("alias/" + key.split("alias/", 1)[1]) or key_id
        found = backend.keys.get(key_id)
        arn = found.arn if found is not None else key
        document = parse(found.policy) if found is not None else {"Statement": []}
        return arn, Policy(f"key-policy:{arn}", document, resource_based=True)

    # ------------------------------------------------------------------ helpers

    def _context(self, principal: Principal, request: ActionRequest, resource: str,
                 keys: Mapping[str, str] | None) -> RequestContext:
        values = dict(request.keys)
        values.update({"aws:securetransport": ("true",), "aws:requestedregion": (self.region,)})
        if principal.is_service:
            values["aws:viaawsservice"] = ("true",)
        else:
            values.update({"aws:principalarn": (principal.arn,), "aws:principalaccount": (principal.account,),
                           "aws:principaltype": ("AssumedRole",), "aws:viaawsservice": ("false",)})
        # aws:SourceOwner, the legacy key of SNS's default topic policy, is undocumented ("aws:SourceAccount was
        # introduced as the preferred replacement", awsdocs/iam-user-guide#111). It is given only for a service
        # delivering on behalf of the account's own resource (an alarm to a topic with the default policy, which
        # works in AWS); a role's own call gets no allow from that policy, the stricter reading.
        if principal.is_service and resource.startswith("arn:aws:sns:"):
            values["aws:sourceowner"] = (resource.split(":")[4],)
        values.update({key.lower(): (value,) for key, value in (keys or {}).items()})
        return RequestContext(request.action.iam_action, resource, principal, values,
                              request.supported_keys | GLOBAL_KEYS)

    def _record(self, decision: Decision, delivered: bool) -> None:
        with self._lock:
            self.checked[decision.context.action] += 1
            for ref in decision.allowed_by:
                self.coverage[(ref.source, ref.index)] += 1
            if decision.allowed_by:
                allowing = frozenset((ref.source, ref.index) for ref in decision.allowed_by)
                self.allowing_sets[allowing] += 1
                collected = getattr(_local, "collected", None)
                if collected is not None:
                    collected[allowing] += 1
            if decision.outcome is not Outcome.ALLOWED:
                self.denials.append(Denial(decision.context.principal.display_arn, decision.context.action,
                                           decision.context.resource, _message(decision), delivered))

    def _bucket_policy(self, bucket: str) -> list[Policy]:
        from moto.s3.models import s3_backends

        found = s3_backends[self.account]["aws"].buckets.get(bucket)
        if found is None or not found.policy:
            return []
        return [Policy(f"bucket-policy:{bucket}", parse(found.policy.decode()), resource_based=True)]

    def _trust_policy(self, role_arn: str) -> Policy:
        from moto.iam.models import iam_backends

        role = _role(iam_backends[self.account]["aws"], role_arn)
        document = parse(role.assume_role_policy_document) if role is not None else {"Statement": []}
        return Policy(f"trust-policy:{role_arn}", document, resource_based=True)

    def _keys_used(self, prefix: str, request: ActionRequest, params: Mapping[str, Any]) -> list[
            tuple[str, tuple[str, ...], str]]:
        """KMS use a call implies on an encrypted resource: (key, actions, the service calling KMS)."""
        action = request.action.iam_action
        via = f"{prefix}.{self.region}.amazonaws.com"
        if action == "sns:Publish":
            # "The publisher needs kms:GenerateDataKey* and kms:Decrypt on the topic's key"
            # (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#sns-what-permissions-for-sse).
            key = self._topic_key(request.resources[0])
            return [(key, ("kms:GenerateDataKey", "kms:Decrypt"), via)] if key else []
        if action in ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"):
            # "To upload an object encrypted with a KMS key you need kms:GenerateDataKey, to download it
            # kms:Decrypt" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
            key = self.encryption_key_of_object(str(params.get("Bucket")), str(params.get("Key")), action)
            wanted = ("kms:GenerateDataKey",) if action == "s3:PutObject" else ("kms:Decrypt",)
            return [(key, wanted, via)] if key else []
        return []

    def _topic_key(self, topic_arn: str) -> str | None:
        from moto.sns.models import sns_backends

        service_region, account = topic_arn.split(":")[3:5]
        topic = sns_backends[account][service_region].topics.get(topic_arn)
        return (topic.kms_master_key_id or None) if topic is not None else None

    def encryption_key_of_object(self, bucket: str, key: str, action: str) -> str | None:
        """The KMS key an object is (GetObject) or would be (PutObject) encrypted with; None for SSE-S3."""
        from moto.s3.models import s3_backends

        found = s3_backends[self.account]["aws"].buckets.get(bucket)
        if found is None:
            return None
        if action != "s3:PutObject":
            stored = found.keys.get(key)
            if stored is not None:  # a delete marker (a deleted object of a versioned bucket) has no encryption
                return stored.kms_key_id if getattr(stored, "encryption", None) == "aws:kms" else None
        rules = (found.encryption or {}).get("Rule", []) if isinstance(found.encryption, dict) else []
        for rule in [rules] if isinstance(rules, dict) else rules:  # moto keeps one rule as an object
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms":
                return str(default.get("KMSMasterKeyID") or "alias/aws/s3")
        return None


def current_principal() -> Principal | None:
    """Who is acting in this thread (None: the account owner, unchecked)."""
    stack = getattr(_local, "principals", None)
    return stack[-1] if stack else None


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Make every AWS call of this thread, meanwhile, one that ``principal`` makes."""
    stack = getattr(_local, "principals", None)
    if stack is None:
        stack = _local.principals = []
    stack.append(principal)
    try:
        yield
    finally:
        stack.pop()


def role_principal(role_arn: str, session_name: str) -> Principal:
    """The session a service opens with a role (Lambda names it after the function)."""
    return Principal(role_arn, role_arn.split(":")[4], session_name)


def _role(backend: Any, role_arn: str) -> Any:
    name = role_arn.rsplit("/", 1)[-1]
    return backend.roles.get(next((rid for rid, r in backend.roles.items() if r.name == name), ""), None)


def _message(decision: Decision) -> str:
    context = decision.context
    return (f"User: {context.principal.display_arn} is not authorized to perform: {context.action} on resource: "
            f"{context.resource} {decision.reason}")


def _denied_response(request: Any, service: str, by_key: bool, message: str) -> AWSResponse:
    code, status, protocol = (_KMS_DENIAL.get(service) if by_key else None) or _DENIAL.get(service, _DEFAULT_DENIAL)
    if service == "s3" and request.method == "HEAD":
        return AWSResponse(request.url, 403, {}, MockRawResponse(b""))  # type: ignore[arg-type]
    if protocol == "rest-xml":
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{_xml(message)}</Message>"
                "<RequestId>emulated</RequestId></Error>")
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"},
                           MockRawResponse(body.encode()))  # type: ignore[arg-type]
    if protocol == "query":
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message>"
                "</Error><RequestId>emulated</RequestId></ErrorResponse>")
        return AWSResponse(request.url, status, {"Content-Type": "text/xml"},
                           MockRawResponse(body.encode()))  # type: ignore[arg-type]
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    if service == "sqs":  # SQS's JSON protocol keeps the query error code in a header
        headers["x-amzn-query-error"] = f"{code};Sender"
    return AWSResponse(request.url, status, headers,  # type: ignore[arg-type]
                       MockRawResponse(json.dumps({"__type": code, "message": message, "Message": message}).encode()))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
