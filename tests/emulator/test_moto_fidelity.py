"""moto accepts an empty index key set through ExpressionAttributeNames; DynamoDB refuses it, and so must we."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from neo_recommender.emulator.moto_fidelity import MotoFidelity


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    fidelity = MotoFidelity()
    fidelity.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="runs", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "model_name")],
            GlobalSecondaryIndexes=[{"IndexName": "ByModel", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "model_name", "KeyType": "HASH"}]}])
        yield client
    fidelity.uninstall()


@pytest.mark.parametrize(("expression", "names"), [("SET model_name = :v", None),
                                                   ("SET #f0 = :v", {"#f0": "model_name"})])
def test_an_empty_string_index_key_is_refused_however_it_is_named(dynamodb: Any, expression: str,
                                                                    names: dict[str, str] | None) -> None:
    extra = {"ExpressionAttributeNames": names} if names else {}
    with pytest.raises(ClientError, match="cannot contain an empty string value"):
        dynamodb.update_item(TableName="runs", Key={"pk": {"S": "RUN#1"}}, UpdateExpression=expression,
                             ExpressionAttributeValues={":v": {"S": ""}}, **extra)


def test_other_attributes_and_non_empty_keys_are_accepted(dynamodb: Any) -> None:
    for name, value in (("note", ""), ("model_name", "xgb")):
        dynamodb.update_item(TableName="runs", Key={"pk": {"S": "RUN#1"}}, UpdateExpression="SET #f0 = :v",
                             ExpressionAttributeNames={"#f0": name}, ExpressionAttributeValues={":v": {"S": value}})
    assert dynamodb.get_item(TableName="runs", Key={"pk": {"S": "RUN#1"}})["Item"]["model_name"] == {"S": "xgb"}


@pytest.fixture
def sagemaker() -> Iterator[Any]:
    fidelity = MotoFidelity()
    fidelity.install()
    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model_package_group(ModelPackageGroupName="nr-model")
        yield client
    fidelity.uninstall()


def _package(sagemaker: Any) -> str:
    return str(sagemaker.create_model_package(
        ModelPackageGroupName="nr-model", ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"team": "ml"},
        InferenceSpecification={"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": []},
    )["ModelPackageArn"])


def test_update_model_package_changes_only_what_it_is_given(sagemaker: Any) -> None:
    # API_UpdateModelPackage.html: properties are added or replaced (removal is CustomerMetadataPropertiesToRemove);
    # an omitted ModelApprovalStatus stays as it was. moto replaced the map and cleared the status.
    arn = _package(sagemaker)
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"neo-recommender:run-id": "r1"})
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"] == {"team": "ml", "neo-recommender:run-id": "r1"}
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


@pytest.mark.parametrize("text", ["cost (per inference)", "37%", "a,b", "x;y"])
def test_metadata_outside_sagemakers_pattern_is_refused(sagemaker: Any, text: str) -> None:
    arn = _package(sagemaker)
    with pytest.raises(ClientError, match="ValidationException.*must satisfy regular expression pattern"):
        sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"note": text})
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={
        "neo-recommender:rank-01": "ml.c5.xlarge x1 neo cost/inference=5.158e-07 latency-ms=43 max/min=6592 é"})
