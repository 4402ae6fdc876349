"""IAM enforcement on boto3 calls: a principal's calls are authorized, and refused as each service refuses them.

These are the enforcement's own unit tests (the only ones that switch it off); every other emulator test runs
with it on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from neo_recommender.emulator.iam_enforcement import IamEnforcement, acting_as, role_principal

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def aws() -> Iterator[IamEnforcement]:
    with mock_aws():
        enforcement = IamEnforcement(ACCOUNT, REGION)
        enforcement.install()
        try:
            yield enforcement
        finally:
            enforcement.uninstall()


def _role(name: str, *statements: dict[str, Any], service: str = "lambda.amazonaws.com") -> str:
    iam = boto3.client("iam", region_name=REGION)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="Policy", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    return str(arn)


def _error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response


def test_a_denied_dynamodb_call_gets_dynamodbs_access_denied(aws: IamEnforcement) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"
    role = _role("Writer", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table})
    with acting_as(role_principal(role, "fn")):
        response = _error(dynamodb.put_item, TableName="t", Item={"pk": {"S": "a"}})
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})  # allowed
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Writer/fn is not authorized to perform: dynamodb:PutItem on "
        f"resource: {table} because no identity-based policy allows the dynamodb:PutItem action")
    assert aws.denials[-1].action == "dynamodb:PutItem" and aws.checked["dynamodb:GetItem"] == 1


def test_s3_sns_sqs_and_lambda_refuse_in_their_own_protocols(aws: IamEnforcement) -> None:
    s3, sns, sqs = (boto3.client(name, region_name=REGION) for name in ("s3", "sns", "sqs"))
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="k", Body=b"x")
    topic = sns.create_topic(Name="t")["TopicArn"]
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    role = _role("Nothing")
    with acting_as(role_principal(role, "fn")):
        got = _error(s3.get_object, Bucket="bucket", Key="k")
        head = _error(s3.head_object, Bucket="bucket", Key="k")
        published = _error(sns.publish, TopicArn=topic, Message="m")
        sent = _error(sqs.send_message, QueueUrl=queue, MessageBody="m")
        invoked = _error(boto3.client("lambda", region_name=REGION).invoke, FunctionName="f")
    assert (got["Error"]["Code"], got["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert "s3:GetObject on resource: arn:aws:s3:::bucket/k" in got["Error"]["Message"]
    assert head["Error"]["Code"] == "403"  # a HEAD answer has no body
    assert (published["Error"]["Code"], published["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthorizationError", 403)
    assert sent["Error"]["Code"] == "AccessDenied"
    assert (invoked["Error"]["Code"], invoked["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 403)


def test_a_role_passing_a_role_needs_pass_role_for_that_service(aws: IamEnforcement) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    target = _role("Target", service="sagemaker.amazonaws.com")
    caller = _role("Caller", {"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": "*"},
                   {"Effect": "Allow", "Action": "iam:PassRole", "Resource": target,
                    "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}})
    with acting_as(role_principal(caller, "fn")):
        response = _error(sagemaker.create_model, ModelName="m", ExecutionRoleArn=target,
                          PrimaryContainer={"Image": "i"})
    assert "iam:PassRole on resource: " + target in response["Error"]["Message"]


def test_publishing_to_a_topic_whose_key_refuses_the_caller_gets_snss_kms_error(aws: IamEnforcement) -> None:
    kms, sns = boto3.client("kms", region_name=REGION), boto3.client("sns", region_name=REGION)
    # A key policy that lets nobody but the account root use the key directly (no delegation to IAM).
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"}, "Action": "kms:*",
        "Resource": "*"}]}))["KeyMetadata"]["Arn"]
    topic = sns.create_topic(Name="t", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    role = _role("Publisher", {"Effect": "Allow", "Action": ["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"],
                               "Resource": "*"})
    with acting_as(role_principal(role, "fn")):
        response = _error(sns.publish, TopicArn=topic, Message="m")
    assert response["Error"]["Code"] == "KMSAccessDenied"
    assert "kms:GenerateDataKey on resource: " + key in response["Error"]["Message"]


def test_only_the_acting_principal_is_checked_and_enforcement_can_be_switched_off(aws: IamEnforcement) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    role = _role("Nothing")
    dynamodb.list_tables()  # the account owner: not checked
    with acting_as(role_principal(role, "fn")):
        _error(dynamodb.list_tables)
        with acting_as(None):  # a nested owner action (e.g. a test hook inside an invocation)
            dynamodb.list_tables()
        aws.enabled = False
        dynamodb.list_tables()
    assert [d.action for d in aws.denials] == ["dynamodb:ListTables"]
