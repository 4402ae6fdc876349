"""The bench's DynamoDB request units: AWS's item-size rules, and what each request consumes.

Sizes follow https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html and
units https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html; each expected
figure below is worked out from those pages by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from dynamodb_units import RequestUnitMeter, item_size, number_size, read_units, write_units  # noqa: E402

TABLE = "units"


def test_sizes_follow_awss_rules() -> None:
    assert item_size({"name": {"S": "café"}}) == 4 + 5  # the name's bytes plus the value's UTF-8 bytes
    assert number_size("123") == 3  # two digits a byte, rounded up, plus one
    assert number_size("-0012.3400") == 3  # leading and trailing zeroes trimmed: 1234
    assert number_size("5.222734254992319E-7") == 9  # 16 significant digits
    assert number_size("0") == 2
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 2 + 1 + 2 + 1
    assert item_size({"b": {"B": b"\x00\x01\x02"}}) == 1 + 3  # raw bytes, not base64
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)  # 3 + 1 per element
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)  # an entry's name counts too
    assert item_size({"e": {"M": {}}}) == 1 + 3
    assert item_size({"s": {"SS": ["a", "bc"]}}) == 1 + 3


def test_units_round_up_per_request() -> None:
    assert [write_units(size) for size in (0, 1, 1024, 1025, 135_000)] == [1, 1, 1, 2, 132]
    assert [read_units(size, True) for size in (0, 4096, 4097)] == [1.0, 1.0, 2.0]
    assert read_units(10_000, False) == 1.5  # eventually consistent: half


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        yield client


def _item(pk: str, sk: str, padding: int) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "filler": {"S": "x" * padding}}


def test_the_meter_bills_each_request_by_its_items_size(dynamodb: Any) -> None:
    key = {"pk": {"S": "RUN#1"}, "sk": {"S": "SUMMARY"}}
    with RequestUnitMeter() as meter:
        dynamodb.put_item(TableName=TABLE, Item=_item("RUN#1", "SUMMARY", 3000))  # about 3 KB: 3 units
        dynamodb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET filler = :p",
                             ExpressionAttributeValues={":p": {"S": "y"}})  # the larger of before (3 KB) and after
        dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)  # a few bytes now: one unit
        dynamodb.get_item(TableName=TABLE, Key=key)  # eventually consistent: half a unit
        dynamodb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": _item("JOB_SLOTS", "s", 5000)}},
                                                        {"PutRequest": {"Item": _item("RUN#2", "R#1", 10)}}]})
        dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ConsistentRead=True,
                       ExpressionAttributeValues={":p": {"S": "JOB_SLOTS"}})  # 5 KB read: two 4 KB blocks
        dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ConsistentRead=True,
                       ProjectionExpression="sk",
                       ExpressionAttributeValues={":p": {"S": "JOB_SLOTS"}})  # projected: the whole item is billed
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):  # a refused condition still costs the item
            dynamodb.put_item(TableName=TABLE, Item=_item("JOB_SLOTS", "s", 1),
                              ConditionExpression="attribute_not_exists(pk)")
        dynamodb.delete_item(TableName=TABLE, Key=key)  # the deleted item: a few bytes, one unit
    assert meter.write_units == {"RUN": 3 + 3 + 1 + 1, "JOB_SLOTS": 5 + 5}
    assert meter.read_units == {"RUN": 1.5, "JOB_SLOTS": 2.0 + 2.0}
    assert meter.largest_item_bytes == item_size(_item("JOB_SLOTS", "s", 5000))
    dynamodb.put_item(TableName=TABLE, Item=_item("RUN#3", "SUMMARY", 10))  # uninstalled: not counted
    assert sum(meter.write_units.values()) == 18
