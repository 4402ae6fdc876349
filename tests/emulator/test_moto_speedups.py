"""The emulator's caches make moto faster without changing what it answers (emulator/moto_speedups.py)."""

from __future__ import annotations

import ast
import json
import threading
import time
from collections.abc import Iterator

import boto3
import moto.core.responses as moto_responses
import moto.core.routing as moto_routing
import moto.core.utils as moto_utils
import pytest
from botocore import session as botocore_session
from botocore.auth import SigV4Auth
from botocore.config import Config
from botocore.exceptions import NoCredentialsError
from moto import mock_aws
from moto.cloudformation.models import Stack
from moto.core.base_backend import BaseBackend
from moto.core.loaders import Loader
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import ActionCountValidator
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

from neo_recommender.emulator.moto_speedups import BUILD_LOCK, UNCHECKED_SIGNATURE, MotoSpeedups

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"a": 1}, "End": True}}})


@pytest.fixture
def speedups() -> Iterator[MotoSpeedups]:
    installed = MotoSpeedups()
    installed.install()
    try:
        yield installed
    finally:
        installed.uninstall()


def test_a_definition_is_parsed_once_and_each_execution_gets_components_of_its_own(speedups: MotoSpeedups) -> None:
    first_program, first_tree = AmazonStateLanguageParser.parse(DEFINITION)
    second_program, second_tree = AmazonStateLanguageParser.parse(DEFINITION)
    assert second_tree is first_tree  # the ANTLR parse tree is shared ...
    assert second_program is not first_program  # ... the components holding an execution's state are not
    assert (speedups.parse_misses, speedups.parse_hits) == (1, 1)


def test_botocore_sessions_share_one_loader_per_search_path(speedups: MotoSpeedups,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = botocore_session.Session(), botocore_session.Session()
    loader = first.get_component("data_loader")
    assert second.get_component("data_loader") is loader  # each file read once for both
    assert first.create_client("sqs", region_name="us-east-1").meta.service_model.service_name == "sqs"
    monkeypatch.setenv("AWS_DATA_PATH", "/tmp/models-of-my-own")
    assert botocore_session.Session().get_component("data_loader") is not loader  # another search path
    speedups.uninstall()
    assert botocore_session.Session().get_component("data_loader") is not botocore_session.Session().get_component(
        "data_loader")  # botocore's own again: a loader per session


def test_a_definition_with_a_syntax_error_still_fails_every_time(speedups: MotoSpeedups) -> None:
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": ')
    assert speedups.parse_hits == 0


def test_tasks_share_one_client_per_region_and_service(speedups: MotoSpeedups) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    first = lambda_eval_utils.boto_client_for("us-east-1", "lambda")
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is first
    assert lambda_eval_utils.boto_client_for("eu-west-1", "lambda") is not first


def test_json_templates_are_read_as_json_and_yaml_ones_by_moto() -> None:
    speedups = MotoSpeedups()
    speedups.install()
    try:
        assert Stack.parse_template('{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}') == {
            "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
        assert Stack.parse_template("Resources:\n  T:\n    Type: AWS::SNS::Topic\n") == {
            "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
    finally:
        speedups.uninstall()


def test_uninstall_gives_moto_its_own_functions_back() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    def moto_functions() -> tuple[object, ...]:
        return (AmazonStateLanguageParser.parse, json_path.parse, Stack.parse_template,
                lambda_eval_utils.boto_client_for, BaseJSONSerializer._serialize_type_structure, BaseBackend.urls,
                moto_utils._load_service_model, moto_responses.method_names_from_class,
                moto_responses.get_service_router, moto_routing.ServiceOperationRouter._get_router, ast.parse,
                SigV4Auth.add_auth, UpdateExpressionParser.make, ActionCountValidator.traverse,
                botocore_session.create_loader)

    before = moto_functions()
    speedups = MotoSpeedups()
    speedups.install()
    assert moto_functions() != before
    speedups.uninstall()
    assert moto_functions() == before
    assert lambda_eval_utils.boto_client_for is boto_client.boto_client_for


def test_a_service_model_is_loaded_once_when_threads_ask_for_it_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    own = Loader.load_service_model

    def slow_load(loader: Loader, service_name: str, type_name: str, api_version: str | None = None) -> object:
        loads.append(service_name)
        time.sleep(0.05)  # every thread asks while the first load runs, as a burst's executions do
        return own(loader, service_name, type_name, api_version)

    monkeypatch.setattr(Loader, "load_service_model", slow_load)
    speedups = MotoSpeedups()
    speedups.install()
    try:
        start, models = threading.Barrier(8), []

        def ask() -> None:
            start.wait()
            models.append(moto_utils._load_service_model("lambda", "service-2"))
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        speedups.uninstall()
    assert loads == ["lambda"]
    assert len(models) == 8 and all(model is models[0] for model in models)
    assert models[0] == moto_utils._load_service_model("lambda", "service-2")  # moto's own load, by moto's loader


def test_a_service_router_is_built_once_when_threads_ask_for_it_at_once(speedups: MotoSpeedups,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    maps = []
    own = moto_routing._create_map

    def slow_create_map(rules: list[object]) -> object:
        maps.append(len(rules))
        time.sleep(0.05)  # every thread asks while the first one builds, as a burst's executions do
        return own(rules)  # type: ignore[arg-type]

    monkeypatch.setattr(moto_routing, "_create_map", slow_create_map)
    moto_routing.get_service_router.cache_clear()  # as in a fresh process: no router built yet
    start, routers = threading.Barrier(8), []

    def ask() -> None:
        start.wait()
        service_router = moto_responses.get_service_router("glacier")
        routers.append((service_router, service_router._get_router("rest-json")))
    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(maps) == 1
    assert len(routers) == 8 and all(pair == routers[0] for pair in routers)


def test_a_response_class_method_names_are_moto_own_kept_and_listed_again_for_a_new_action(
        speedups: MotoSpeedups) -> None:
    from moto.dynamodb.responses import DynamoHandler

    class Handler(DynamoHandler):
        pass

    names = moto_responses.method_names_from_class(Handler)
    assert list(names) == speedups._original_method_names(Handler)  # moto's own list
    assert moto_responses.method_names_from_class(Handler) is names  # kept
    assert "put_item" in names and "brand_new_action" not in names
    Handler.brand_new_action = lambda self: None  # type: ignore[attr-defined]
    assert "brand_new_action" in moto_responses.method_names_from_class(Handler)
    del Handler.brand_new_action  # type: ignore[attr-defined]
    assert "brand_new_action" not in moto_responses.method_names_from_class(Handler)
    Handler.put_item = "not a function any more"  # type: ignore[assignment]
    assert "put_item" not in moto_responses.method_names_from_class(Handler)  # as inspect.isfunction says


def test_python_is_parsed_by_one_thread_at_a_time(speedups: MotoSpeedups) -> None:
    parsed = threading.Event()

    def parse() -> None:
        ast.literal_eval("{'input': [1, 1024, 1024, 3]}")  # as moto's preprocessor and the manifest check do
        parsed.set()
    with BUILD_LOCK:  # another thread parsing
        thread = threading.Thread(target=parse)
        thread.start()
        assert not parsed.wait(0.2)
    assert parsed.wait(5)
    thread.join()


def _url_tables() -> dict[str, list[tuple[str, str]]]:
    """Each service's URL patterns and the names of their handlers."""
    from moto.backends import get_backend

    tables = {}
    for service in ("s3", "dynamodb", "lambda", "stepfunctions", "sagemaker"):
        regions = get_backend(service)["123456789012"]  # type: ignore[call-overload]
        backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        tables[service] = [(url, getattr(handler, "__qualname__", repr(handler))) for url, handler in
                           backend.urls.items()]
    return tables


def test_a_url_table_is_moto_own_built_once_and_again_when_its_variables_change(
        speedups: MotoSpeedups, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.backends import get_backend

    speedups.uninstall()
    own = _url_tables()
    speedups.install()
    assert _url_tables() == own
    s3 = get_backend("s3")["123456789012"]["aws"]  # type: ignore[call-overload]
    assert s3.urls is s3.urls  # built once
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", "https://s3.example.internal")
    assert any("s3.example.internal" in url for url in s3.urls)  # the variable moto reads on each request
    monkeypatch.delenv("MOTO_S3_CUSTOM_ENDPOINTS")
    assert not any("s3.example.internal" in url for url in s3.urls)


#: Every kind of attribute value, nested (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/
#: API_AttributeValue.html), plus a map that grows like the job-slot item's waiters.
ITEM = {"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "default"}, "count": {"N": "42"}, "ratio": {"N": "-0.125"},
        "raw": {"B": b"\x00\xffbytes"}, "raws": {"BS": [b"a", b"\x01\x02"]}, "names": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]}, "flag": {"BOOL": False}, "nothing": {"NULL": True},
        "empty": {"S": ""}, "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": []}}}, {"B": b"z"}]},
        "waiters": {"M": {f"run-{index}": {"M": {"since": {"S": "2026-12-01T00:00:00Z"}, "seen": {"BOOL": True}}}
                          for index in range(20)}}}


def _reads() -> list[dict[str, object]]:
    """The answers to every DynamoDB read that returns items, without their request ids."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    answers = [
        client.get_item(TableName="t", Key=key, ConsistentRead=True),
        client.query(TableName="t", KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": ITEM["pk"]}),
        client.query(TableName="t", KeyConditionExpression="pk = :pk AND sk > :after", Limit=2,
                     ScanIndexForward=False, ExclusiveStartKey={"pk": {"S": "RUN"}, "sk": {"S": "run-7"}},
                     FilterExpression="attribute_exists(#n)", ExpressionAttributeNames={"#n": "n"},
                     ExpressionAttributeValues={":pk": {"S": "RUN"}, ":after": {"S": "run-2"}}),
        client.query(TableName="t", KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": "NONE"}}),
        client.scan(TableName="t"),
        client.batch_get_item(RequestItems={"t": {"Keys": [key]}}),
        client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}]),
        client.update_item(TableName="t", Key=key, UpdateExpression="SET flag = :f",
                           ExpressionAttributeValues={":f": {"BOOL": True}}, ReturnValues="ALL_NEW"),
        client.get_item(TableName="t", Key=key, ProjectionExpression="#b, waiters.#r",
                        ExpressionAttributeNames={"#b": "raw", "#r": "run-3"}),
    ]
    for answer in answers:
        answer.pop("ResponseMetadata")
    return answers


@mock_aws
def test_dynamodb_reads_are_answered_as_moto_answers_them() -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}])
    client.put_item(TableName="t", Item=ITEM)
    for index in (3, 1, 9, 7, 5):  # other partitions, before and after the item's, put out of order
        client.put_item(TableName="t", Item={"pk": {"S": "RUN"}, "sk": {"S": f"run-{index}"}, "n": {"N": str(index)}})
        client.put_item(TableName="t", Item={"pk": {"S": f"A{index}"}, "sk": {"S": "x"}})
    by_moto = _reads()
    client.update_item(TableName="t", Key={"pk": ITEM["pk"], "sk": ITEM["sk"]}, UpdateExpression="SET flag = :f",
                       ExpressionAttributeValues={":f": {"BOOL": False}})
    speedups = MotoSpeedups()
    speedups.install()
    try:
        assert _reads() == by_moto
    finally:
        speedups.uninstall()
    assert by_moto[0]["Item"] == ITEM


#: Update expressions (with their placeholders) moto applies or refuses: the run summary's 19-attribute SET, sections
#: repeated (moto names the first of ADD, REMOVE, SET it finds repeated, deepest first), functions, a syntax error.
UPDATES = [
    ("SET " + ", ".join(f"#f{index} = :v{index}" for index in range(19)), {f"#f{i}": f"a{i}" for i in range(19)},
     {f":v{i}": {"M": {"n": {"N": str(i)}, "l": {"L": [{"S": "x"}] * i}}} for i in range(19)}),
    ("SET a = :one, b = :one REMOVE c ADD d :one", {}, {":one": {"N": "1"}}),
    ("SET a = :one SET b = :one", {}, {":one": {"N": "1"}}),
    ("REMOVE a REMOVE b", {}, {}),
    ("ADD c :one ADD d :one SET a = :one SET b = :one", {}, {":one": {"N": "1"}}),
    ("SET a = :one, b = :one ADD c :one REMOVE x ADD d :one", {}, {":one": {"N": "1"}}),
    ("SET l = list_append(if_not_exists(l, :empty), :items), n = n + :one", {},
     {":empty": {"L": []}, ":items": {"L": [{"S": "i"}]}, ":one": {"N": "1"}}),
    ("SET a = ", {}, {}),
]


def _apply_updates() -> list[object]:
    """Each of ``UPDATES`` applied twice to an item (the second time the parse is cached): the item or the error."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="u", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    outcomes: list[object] = []
    for expression, names, values in UPDATES * 2:
        key = {"pk": {"S": "item"}}
        client.put_item(TableName="u", Item={**key, "n": {"N": "1"}, "x": {"S": "x"}})
        try:
            client.update_item(TableName="u", Key=key, UpdateExpression=expression,
                               **({"ExpressionAttributeNames": names} if names else {}),
                               **({"ExpressionAttributeValues": values} if values else {}))
            outcomes.append(client.get_item(TableName="u", Key=key)["Item"])
        except client.exceptions.ClientError as error:
            outcomes.append(error.response["Error"])
    client.delete_table(TableName="u")
    return outcomes


def _tree(node: object) -> object:
    """A parse tree as plain data, to compare two trees."""
    children = getattr(node, "children", None)
    if children is None:
        return repr(node) if not hasattr(node, "type") else type(node).__name__
    return (type(node).__name__, [_tree(child) for child in children])


@mock_aws
def test_update_expressions_parsed_once_are_applied_and_refused_as_moto_does() -> None:
    by_moto = _apply_updates()
    speedups = MotoSpeedups()
    speedups.install()
    try:
        assert _apply_updates() == by_moto
        cached = UpdateExpressionParser.make(UPDATES[0][0])
        assert UpdateExpressionParser.make(UPDATES[0][0]) is cached  # parsed once ...
    finally:
        speedups.uninstall()
    assert _tree(cached) == _tree(UpdateExpressionParser.make(UPDATES[0][0]))  # ... and never changed by its use
    errors = [outcome["Message"] for outcome in by_moto[:len(UPDATES)] if "Message" in outcome]  # type: ignore[operator]
    assert [error.split("The ")[-1] for error in errors if "section" in error] == [
        '"SET" section can only be used once in an update expression;',
        '"REMOVE" section can only be used once in an update expression;',
        '"SET" section can only be used once in an update expression;',
        '"ADD" section can only be used once in an update expression;']
    assert len(errors) == 5 and "Syntax error" in errors[-1]


def _sent_headers(client: object, call: str, **params: object) -> dict[str, str]:
    """The headers of the request ``client`` sends for ``call`` (read as botocore hands it to moto)."""
    sent: dict[str, str] = {}
    client.meta.events.register("before-send", lambda request, **_: sent.update(request.headers))  # type: ignore[attr-defined]
    getattr(client, call)(**params)
    return {key: value.decode() if isinstance(value, bytes) else value for key, value in sent.items()}


@mock_aws
def test_requests_carry_every_signing_header_but_a_computed_signature() -> None:
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", aws_session_token="token")
    s3, dynamodb = session.client("s3"), session.client("dynamodb")
    s3.create_bucket(Bucket="signed-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    signed = {"s3": _sent_headers(s3, "put_object", Bucket="signed-bucket", Key="k", Body=b"body"),
              "dynamodb": _sent_headers(dynamodb, "list_tables")}
    speedups = MotoSpeedups()
    speedups.install()
    try:
        unsigned = {"s3": _sent_headers(s3, "put_object", Bucket="signed-bucket", Key="k", Body=b"body"),
                    "dynamodb": _sent_headers(dynamodb, "list_tables")}
        presigned = session.client("s3", config=Config(signature_version="s3v4")).generate_presigned_url(
            "get_object", Params={"Bucket": "signed-bucket", "Key": "k"})
        assert s3.get_object(Bucket="signed-bucket", Key="k")["Body"].read() == b"body"  # moto answers as before
        without_credentials = session.client("dynamodb", config=Config(signature_version="v4"))
        without_credentials._request_signer._credentials = None  # what a client that found no credentials holds
        with pytest.raises(NoCredentialsError):
            without_credentials.list_tables()
    finally:
        speedups.uninstall()
    for service in ("s3", "dynamodb"):
        before, after = signed[service], unsigned[service]
        assert set(after) >= set(before) - {"amz-sdk-invocation-id", "amz-sdk-request"}, service
        assert after["X-Amz-Security-Token"] == "token" and after["X-Amz-Date"]
        scope = f"Credential=AKIAIOSFODNN7EXAMPLE/{after['X-Amz-Date'][:8]}/eu-west-1/{service}/aws4_request"
        assert scope in after["Authorization"] and after["Authorization"].endswith(f"Signature={UNCHECKED_SIGNATURE}")
        assert UNCHECKED_SIGNATURE not in before["Authorization"]
    assert unsigned["s3"]["X-Amz-Content-SHA256"] == signed["s3"]["X-Amz-Content-SHA256"]  # S3's payload hash
    assert "X-Amz-Signature=" in presigned and UNCHECKED_SIGNATURE not in presigned  # presigned URLs: botocore's own


def test_requests_are_signed_in_full_when_moto_checks_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.settings

    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0.0)  # moto's own IAM checks, signatures too
    botocore_signing = SigV4Auth.add_auth
    speedups = MotoSpeedups()
    speedups.install()
    try:
        assert SigV4Auth.add_auth is botocore_signing
    finally:
        speedups.uninstall()
