"""The emulator's IAM policy evaluation, against AWS's documented logic and examples.

Each case names the IAM User Guide page it comes from (reference_policies_evaluation-logic.html,
reference_policies_elements_condition_operators.html, reference_policies_elements_principal.html).
"""

from __future__ import annotations

from typing import Any

import pytest

from neo_recommender.emulator.iam_policy import (
    Outcome,
    Policy,
    Principal,
    RequestContext,
    UnsupportedPolicy,
    decide,
    decide_key_use,
)

ACCOUNT = "123456789012"
ROLE = Principal(f"arn:aws:iam::{ACCOUNT}:role/StepRole", ACCOUNT, "fn")
EVENTS = Principal("events.amazonaws.com", ACCOUNT)


def _context(action: str, resource: str, principal: Principal = ROLE, **keys: str) -> RequestContext:
    return RequestContext(action, resource, principal, {k.lower(): (v,) for k, v in keys.items()},
                          frozenset({"aws:securetransport", "aws:sourcearn", "aws:sourceaccount", "kms:viaservice",
                                     "kms:calleraccount", "iam:passedtoservice"}))


def _policy(*statements: dict[str, Any], resource_based: bool = False) -> Policy:
    return Policy("test", {"Version": "2012-10-17", "Statement": list(statements)}, resource_based)


TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Results"


def test_an_action_no_policy_allows_is_implicitly_denied_with_awss_wording() -> None:
    decision = decide([], [], _context("dynamodb:PutItem", TABLE))
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.reason == "because no identity-based policy allows the dynamodb:PutItem action"


def test_actions_match_case_insensitively_with_wildcards_and_resources_case_sensitively() -> None:
    # Step Functions' SDK integrations grant "dynamodb:updateItem" (lower camel case): IAM treats it as UpdateItem.
    identity = [_policy({"Effect": "Allow", "Action": ["dynamodb:updateItem", "s3:Get?bject"], "Resource": TABLE})]
    assert decide(identity, [], _context("dynamodb:UpdateItem", TABLE)).allowed
    assert decide(identity, [], _context("s3:GetObject", TABLE)).allowed
    assert not decide(identity, [], _context("dynamodb:UpdateItem", TABLE.replace("Results", "results"))).allowed


def test_a_scoped_grant_never_matches_the_star_of_an_action_without_resource_types() -> None:
    # Service Authorization Reference: an action without resource types "must specify all resources ("*")".
    scoped = [_policy({"Effect": "Allow", "Action": "sagemaker:ListInferenceRecommendationsJobSteps",
                       "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-recommendations-job/nr-*"})]
    assert not decide(scoped, [], _context("sagemaker:ListInferenceRecommendationsJobSteps", "*")).allowed
    star = [_policy({"Effect": "Allow", "Action": "sagemaker:ListInferenceRecommendationsJobSteps", "Resource": "*"})]
    assert decide(star, [], _context("sagemaker:ListInferenceRecommendationsJobSteps", "*")).allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    identity = [_policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                        {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})]
    assert decide(identity, [], _context("s3:GetObject", "arn:aws:s3:::b/k")).allowed
    decision = decide(identity, [], _context("s3:PutObject", "arn:aws:s3:::b/k"))
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert decision.reason == "with an explicit deny in an identity-based policy"


def test_not_resource_excludes_what_it_names() -> None:
    identity = [_policy({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/secret/*"})]
    assert decide(identity, [], _context("s3:GetObject", "arn:aws:s3:::b/models/m.tar.gz")).allowed
    assert not decide(identity, [], _context("s3:GetObject", "arn:aws:s3:::b/secret/key")).allowed


def test_a_tls_only_deny_in_a_bucket_policy_denies_plain_http_only() -> None:
    # The statement CDK's enforce_ssl writes; an Allow whose condition fails is neutral, not a deny.
    bucket_policy = _policy({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                             "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, resource_based=True)
    identity = [_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})]
    assert decide(identity, [bucket_policy], _context("s3:GetObject", "arn:aws:s3:::b/k",
                                                       **{"aws:SecureTransport": "true"})).allowed
    assert decide(identity, [bucket_policy], _context("s3:GetObject", "arn:aws:s3:::b/k", **{
        "aws:SecureTransport": "false"})).outcome is Outcome.EXPLICIT_DENY


def test_a_service_principal_needs_the_resource_policy_and_its_conditions() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/SubmissionRule"
    queue_policy = _policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage", "Resource": queue,
                            "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}, resource_based=True)
    assert decide([], [queue_policy], _context("sqs:SendMessage", queue, EVENTS, **{"aws:SourceArn": rule})).allowed
    other = decide([], [queue_policy], _context("sqs:SendMessage", queue, EVENTS,
                                                **{"aws:SourceArn": rule.replace("Submission", "Other")}))
    assert other.outcome is Outcome.IMPLICIT_DENY
    assert other.reason == "because no resource-based policy allows the sqs:SendMessage action"


def test_a_resource_policy_naming_the_account_delegates_to_identity_policies() -> None:
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:t"
    account_only = _policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "sns:Publish", "Resource": topic}, resource_based=True)
    assert not decide([], [account_only], _context("sns:Publish", topic)).allowed
    naming_role = _policy({"Effect": "Allow", "Principal": {"AWS": ROLE.arn}, "Action": "sns:Publish",
                           "Resource": topic}, resource_based=True)
    assert decide([], [naming_role], _context("sns:Publish", topic)).allowed


def test_condition_operators_follow_the_documented_absent_key_rules() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/IR"
    pass_role = [_policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": role,
                          "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}})]
    assert decide(pass_role, [], _context("iam:PassRole", role, **{"iam:PassedToService": "sagemaker.amazonaws.com"}
                                          )).allowed
    assert not decide(pass_role, [], _context("iam:PassRole", role, **{"iam:PassedToService": "ec2.amazonaws.com"}
                                              )).allowed
    assert not decide(pass_role, [], _context("iam:PassRole", role)).allowed  # key absent: the condition is false
    negated = [_policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": role,
                        "Condition": {"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}})]
    assert decide(negated, [], _context("iam:PassRole", role)).allowed  # negated operator, absent key: true
    if_exists = [_policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": role,
                          "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "sagemaker.amazonaws.com"}}})]
    assert decide(if_exists, [], _context("iam:PassRole", role)).allowed


def test_arn_like_matches_each_component_separately() -> None:
    trust = _policy({"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
                     "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:*"},
                                   "StringEquals": {"aws:SourceAccount": ACCOUNT}}}, resource_based=True)
    states = Principal("states.amazonaws.com", ACCOUNT)
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Pipeline"
    assert decide([], [trust], _context("sts:AssumeRole", "role", states, **{
        "aws:SourceArn": machine, "aws:SourceAccount": ACCOUNT})).allowed
    elsewhere = machine.replace("us-east-1", "eu-west-1")
    assert not decide([], [trust], _context("sts:AssumeRole", "role", states, **{
        "aws:SourceArn": elsewhere, "aws:SourceAccount": ACCOUNT})).allowed


def test_a_key_policy_must_allow_a_key_use_itself_or_delegate_to_iam() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"
    delegating = _policy({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                          "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
                         resource_based=True)
    grant = [_policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})]
    assert decide_key_use(delegating, grant, _context("kms:Decrypt", key)).allowed
    assert not decide_key_use(delegating, [], _context("kms:Decrypt", key)).allowed
    # A service principal gets nothing from the delegation: only a statement naming it lets it use the key.
    cloudwatch = Principal("cloudwatch.amazonaws.com", ACCOUNT)
    assert not decide_key_use(delegating, [], _context("kms:Decrypt", key, cloudwatch)).allowed


def test_the_aws_managed_sns_key_lets_account_principals_through_sns_but_not_cloudwatch() -> None:
    from neo_recommender.emulator.iam_enforcement import IamEnforcement

    _, managed = IamEnforcement(ACCOUNT, "us-east-1").key_policy("alias/aws/sns")
    via_sns = {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    assert decide_key_use(managed, [], _context("kms:GenerateDataKey", "k", **via_sns,
                                                **{"kms:CallerAccount": ACCOUNT})).allowed
    cloudwatch = Principal("cloudwatch.amazonaws.com", ACCOUNT)
    assert not decide_key_use(managed, [], _context("kms:GenerateDataKey", "k", cloudwatch, **via_sns)).allowed


def test_what_the_evaluator_cannot_judge_is_an_error_not_a_guess() -> None:
    unknown_key = [_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                            "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "ml"}}})]
    with pytest.raises(UnsupportedPolicy, match="s3:existingobjecttag/team"):
        decide(unknown_key, [], _context("s3:GetObject", "arn:aws:s3:::b/k"))
    unknown_operator = [_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                 "Condition": {"StringMatches": {"aws:SourceArn": "x"}}})]
    with pytest.raises(UnsupportedPolicy, match="StringMatches"):
        decide(unknown_operator, [], _context("s3:GetObject", "arn:aws:s3:::b/k"))
