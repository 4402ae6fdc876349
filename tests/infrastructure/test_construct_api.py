"""The construct as a library: bring-your-own resources, grants, metrics, two pipelines in one stack.

One stack is synthesized for the module (jsii start-up costs seconds): a pipeline composed with the
app's own bucket, table, topic and role, and a second pipeline with every default beside it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from neo_recommender import InferenceRecommenderPipeline
from neo_recommender.storage import create_results_table


@dataclass
class Composed:
    template: Template
    resources: dict[str, Any]
    stack: Stack
    mine: InferenceRecommenderPipeline
    default: InferenceRecommenderPipeline
    uploader: iam.Role
    reader: iam.Role
    throttles: cloudwatch.IMetric


@pytest.fixture(scope="module")
def composed() -> Composed:
    app = App()
    stack = Stack(app, "Platform", env={"account": "111122223333", "region": "eu-west-1"})
    bucket = s3.Bucket(stack, "DataLake", versioned=True, enforce_ssl=True)
    topic = sns.Topic(stack, "MlOpsTopic")
    table = create_results_table(stack, removal_policy=None)  # the pipeline's layout, owned by the app
    role = iam.Role(stack, "PlatformSageMakerRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    mine = InferenceRecommenderPipeline(stack, "Mine", bucket=bucket, topic=topic, table=table,
                                        recommender_role=role, watched_prefix="incoming/models/",
                                        name_prefix="plat-")
    # Typed props (IDE completion), merged over the pipeline's defaults field by field.
    default = InferenceRecommenderPipeline(
        stack, "Second", poll_interval=Duration.minutes(2),
        bucket_props=s3.BucketProps(lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))]),
        table_props=dynamodb.TableProps(
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            deletion_protection=True),
        topic_props=sns.TopicProps(display_name="Second pipeline"))
    uploader = iam.Role(stack, "Uploader", assumed_by=iam.AccountRootPrincipal())
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    mine.grant_submit(uploader)
    mine.grant_read_results(reader)
    mine.add_notification_email("ml-team@example.com")
    throttles = mine.metric_throttles()
    cloudwatch.Alarm(stack, "FailedRuns", metric=mine.metric_failed_runs(), threshold=1, evaluation_periods=1)
    cloudwatch.Alarm(stack, "SlowRuns", metric=mine.metric_run_duration(), threshold=3_600_000, evaluation_periods=1)
    template = Template.from_stack(stack)
    return Composed(template, template.to_json()["Resources"], stack, mine, default, uploader, reader, throttles)


def _of_type(composed: Composed, kind: str) -> dict[str, Any]:
    return {name: r for name, r in composed.resources.items() if r["Type"] == kind}


def _logical_id(composed: Composed, construct: Any) -> str:
    return str(composed.stack.resolve(composed.stack.get_logical_id(construct.node.default_child)))


def _policy_statements(composed: Composed, role: Any) -> list[dict[str, Any]]:
    role_id = _logical_id(composed, role)
    return [statement for policy in _of_type(composed, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def test_bring_your_own_creates_no_duplicates(composed: Composed) -> None:
    # The app's bucket + the default pipeline's bucket and access-log bucket; nothing for "Mine".
    assert len(_of_type(composed, "AWS::S3::Bucket")) == 3
    # The app's topic, and each pipeline's alarm topic (CloudWatch's, not a duplicate of the results topic).
    assert sorted(name[:-8] for name in _of_type(composed, "AWS::SNS::Topic")) == [
        "MineAlarmTopic", "MlOpsTopic", "SecondAlarmTopic", "SecondNotificationTopic"]
    assert len(_of_type(composed, "AWS::DynamoDB::Table")) == 2
    sagemaker_roles = [r for r in _of_type(composed, "AWS::IAM::Role").values()
                       if "sagemaker.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])]
    assert len(sagemaker_roles) == 2  # the app's role and the default pipeline's
    assert composed.mine.bucket.node.path == "Platform/DataLake"
    assert composed.mine.access_logs_bucket is None


def test_the_given_bucket_sends_events_and_is_granted(composed: Composed) -> None:
    bucket = composed.resources[_logical_id(composed, composed.mine.bucket)]
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    bucket_id = _logical_id(composed, composed.mine.bucket)
    reads = [s for s in _policy_statements(composed, composed.mine.recommender_role) if s["Action"] == [
        "s3:GetObject", "s3:GetObjectVersion"]]
    assert reads and json.dumps(reads[0]["Resource"]).count(bucket_id) == 1
    assert "incoming/models/*" in json.dumps(reads[0]["Resource"])
    rules = [r for r in _of_type(composed, "AWS::Events::Rule").values()
             if "incoming/models/" in json.dumps(r["Properties"].get("EventPattern"))]
    (rule,) = rules
    assert rule["Properties"]["EventPattern"]["detail"]["object"]["key"] == [
        {"wildcard": "incoming/models/*/recommend.json"}]


def test_the_given_table_topic_and_role_are_used(composed: Composed) -> None:
    table_id = _logical_id(composed, composed.mine.table)
    topic_id = _logical_id(composed, composed.mine.topic)
    role_id = _logical_id(composed, composed.mine.recommender_role)
    functions = [f for f in _of_type(composed, "AWS::Lambda::Function").values()
                 if f["Properties"]["Environment"]["Variables"].get("JOB_NAME_PREFIX") == "plat-"]
    assert len(functions) == len(vars(composed.mine.functions)) + 2  # and the safety net and the shared poller
    assert len(functions) == len(composed.mine.all_functions)
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["TABLE_NAME"] == {"Ref": table_id} and variables["TOPIC_ARN"] == {"Ref": topic_id}
        assert variables["RECOMMENDER_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
    passes = [s for s in _policy_statements(composed, composed.mine.functions.start_job.role)
              if s["Action"] == "iam:PassRole"]
    assert passes == [{"Action": "iam:PassRole", "Effect": "Allow", "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
                       "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}]
    jobs = json.dumps(_policy_statements(composed, composed.mine.functions.check_job.role))
    assert "inference-recommendations-job/plat-*" in jobs and "job/nr-*" not in jobs


def test_two_pipelines_in_one_stack_do_not_collide(composed: Composed) -> None:
    names = [r["Properties"].get("LogGroupName") for r in _of_type(composed, "AWS::Logs::LogGroup").values()]
    named = [name for name in names if name is not None]
    assert len(named) == len(set(json.dumps(name) for name in named))
    state_machines = _of_type(composed, "AWS::StepFunctions::StateMachine")
    assert len(state_machines) == 2
    for kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::IAM::Role",
                 "AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"):
        for resource in _of_type(composed, kind).values():
            for key in ("BucketName", "TableName", "TopicName", "RoleName", "FunctionName", "StateMachineName"):
                assert key not in resource.get("Properties", {}), (kind, key)


def test_grant_submit_allows_uploads_under_the_prefix_only(composed: Composed) -> None:
    (statement,) = _policy_statements(composed, composed.uploader)
    assert statement["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert "/incoming/models/*" in json.dumps(statement["Resource"])


def test_grant_read_results_allows_reading_the_table_and_finding_it(composed: Composed) -> None:
    statements = _policy_statements(composed, composed.reader)
    actions = {json.dumps(s["Action"]) for s in statements}
    assert actions == {json.dumps(["dynamodb:GetItem", "dynamodb:Query"]), '"cloudformation:DescribeStacks"'}
    reads = next(s for s in statements if s["Action"] == ["dynamodb:GetItem", "dynamodb:Query"])
    assert "/index/*" in json.dumps(reads["Resource"])
    assert not any("dynamodb:PutItem" in json.dumps(s) or "dynamodb:*" in json.dumps(s) for s in statements)


def test_notification_email_and_metrics(composed: Composed) -> None:
    composed.template.has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": "ml-team@example.com",
        "TopicArn": {"Ref": _logical_id(composed, composed.mine.topic)}})
    composed.template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ExecutionsFailed", "Namespace": "AWS/States"})
    composed.template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ExecutionTime", "Namespace": "AWS/States"})
    assert isinstance(composed.throttles, cloudwatch.MathExpression)
    assert composed.throttles.expression.count("FILL(") == 1 + len(vars(composed.mine.functions))
    with pytest.raises(ValueError, match="is not an e-mail address"):
        composed.mine.add_notification_email("not an address")


def test_props_of_the_wrong_type_name_the_types_they_take() -> None:
    stack = Stack(App(), "WrongType")
    with pytest.raises(TypeError, match=r"topic_props must be a sns.TopicProps or a dict .*, not BucketProps"):
        InferenceRecommenderPipeline(stack, "P", topic_props=s3.BucketProps())


def test_imported_resources_get_warnings_instead_of_silent_assumptions() -> None:
    app = App()
    stack = Stack(app, "Imports", env={"account": "111122223333", "region": "eu-west-1"})
    InferenceRecommenderPipeline(
        stack, "Pipeline", bucket=s3.Bucket.from_bucket_name(stack, "Existing", "my-existing-bucket"),
        table=dynamodb.Table.from_table_name(stack, "ExistingTable", "my-results"),
        topic=sns.Topic.from_topic_arn(stack, "ExistingTopic", "arn:aws:sns:eu-west-1:111122223333:ml"))
    annotations = Annotations.from_stack(stack)
    annotations.has_warning("*", Match.string_like_regexp("sends events to EventBridge"))
    annotations.has_warning("*", Match.string_like_regexp("cannot check an imported results table"))
    template = Template.from_stack(stack)
    assert not template.find_resources("AWS::S3::Bucket") and not template.find_resources("AWS::DynamoDB::Table")
    assert "my-existing-bucket/models/*" in json.dumps(template.find_resources("AWS::IAM::Policy"))


def test_typed_props_are_merged_over_the_secure_defaults(composed: Composed) -> None:
    bucket = composed.resources[_logical_id(composed, composed.default.bucket)]["Properties"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"} and "BucketEncryption" in bucket
    table = composed.resources[_logical_id(composed, composed.default.table)]["Properties"]
    assert table["DeletionProtectionEnabled"] is True
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["pk", "sk"]
    topic = composed.resources[_logical_id(composed, composed.default.topic)]["Properties"]
    assert topic["DisplayName"] == "Second pipeline" and "KmsMasterKeyId" in topic


def test_dict_props_are_merged_over_the_secure_defaults_as_typed_ones_are() -> None:
    # The same overrides as plain dicts, as props were given before they were typed.
    stack = Stack(App(), "Dicts")
    pipeline = InferenceRecommenderPipeline(
        stack, "P", bucket_props={"lifecycle_rules": [s3.LifecycleRule(expiration=Duration.days(60))]},
        table_props={"deletion_protection": True}, topic_props={"display_name": "Dict pipeline"})
    resources = Template.from_stack(stack).to_json()["Resources"]

    def properties(construct: Any) -> dict[str, Any]:
        return resources[str(stack.resolve(stack.get_logical_id(construct.node.default_child)))]["Properties"]

    bucket = properties(pipeline.bucket)
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 60
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"} and "BucketEncryption" in bucket
    table = properties(pipeline.table)
    assert table["DeletionProtectionEnabled"] is True
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    topic = properties(pipeline.topic)
    assert topic["DisplayName"] == "Dict pipeline" and "TopicName" not in topic


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bucket_props": {"versioned": False}, "bucket": "given"}, "give bucket or bucket_props, not both"),
    ({"table_props": "wrong-key"}, "table_props.partition_key must be the string attribute 'pk'"),
    ({"table": "wrong-keys"}, "its keys must be 'pk'"),
    ({"table": "no-indexes"}, "index ByModel (model_name, created_at) is missing"),
])
def test_invalid_compositions_fail_at_synth_with_a_clear_message(kwargs: dict[str, Any], message: str) -> None:
    app = App()
    stack = Stack(app, "Bad")
    given = dict(kwargs)
    if given.get("bucket") == "given":
        given["bucket"] = s3.Bucket(stack, "B")
    if given.get("table_props") == "wrong-key":
        given["table_props"] = dynamodb.TableProps(partition_key=dynamodb.Attribute(
            name="id", type=dynamodb.AttributeType.STRING))
    if given.get("table") == "wrong-keys":
        given["table"] = dynamodb.Table(stack, "T", partition_key=dynamodb.Attribute(
            name="id", type=dynamodb.AttributeType.STRING))
    if given.get("table") == "no-indexes":
        given["table"] = dynamodb.Table(
            stack, "T", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING))
    with pytest.raises(ValueError, match=re.escape(message)):
        InferenceRecommenderPipeline(stack, "P", **given)
