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
