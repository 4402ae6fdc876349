"""Deterministic names and the SageMaker requests built from a manifest, validated by botocore."""

from __future__ import annotations

import json
import re

import botocore.session
import pytest
from botocore.validate import ParamValidator

from neo_recommender import samples
from neo_runtime import naming
from neo_runtime.manifest import parse_manifest
from neo_runtime.sagemaker_requests import create_model_package_request, create_recommendation_job_request

_MODEL = botocore.session.get_session().get_service_model("sagemaker")


def _validate(operation: str, params: dict) -> None:
    report = ParamValidator().validate(params, _MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def _manifest(**overrides):
    return parse_manifest(json.dumps(samples.xgboost_manifest(**overrides)).encode())


def test_run_id_depends_on_bucket_key_and_version() -> None:
    base = naming.run_id("b", "models/x/recommend.json", "v1")
    assert base == naming.run_id("b", "models/x/recommend.json", "v1")
    assert len({base, naming.run_id("b", "models/x/recommend.json", "v2"),
                naming.run_id("c", "models/x/recommend.json", "v1"),
                naming.run_id("b", "models/y/recommend.json", "v1")}) == 4


@pytest.mark.parametrize("model_name", ["xgb-churn", "A" * 48, "a-b-c-d"])
def test_job_and_group_names_fit_sagemaker_patterns(model_name: str) -> None:
    job = naming.recommendation_job_name("nr-", model_name, "0123456789abcdef0123")
    group = naming.model_package_group_name("nr-", model_name)
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}", job) and len(job) <= 64
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", group) and len(group) <= 63
    assert job.endswith("-0123456789ab")
    assert re.fullmatch(r"[a-zA-Z0-9-]{1,36}", naming.client_token("0123456789abcdef0123"))


def test_model_package_request_carries_the_neo_eligible_inference_specification() -> None:
    request = create_model_package_request(
        _manifest(), group_name="nr-xgb-churn", model_data_url="s3://b/models/x/model.tar.gz",
        sample_payload_url="s3://b/models/x/payload.tar.gz", client_token="nr-abc",
        approval_status="PendingManualApproval", description="run")
    _validate("CreateModelPackage", request)
    (container,) = request["InferenceSpecification"]["Containers"]
    assert container["Framework"] == "XGBOOST" and container["FrameworkVersion"] == "1.2.0"
    assert container["NearestModelName"] == "xgboost"
    assert container["ModelInput"] == {"DataInputConfig": '{"data":[1,50]}'}
    assert request["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    assert request["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"][0] == "ml.m4.2xlarge"
    assert (request["Domain"], request["Task"], request["ClientToken"]) == ("MACHINE_LEARNING", "CLASSIFICATION",
                                                                             "nr-abc")


def test_default_job_request_is_valid() -> None:
    request = create_recommendation_job_request(
        _manifest(), job_name="nr-xgb-1", role_arn="arn:aws:iam::123456789012:role/ir",
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/nr-xgb/1", run_id="r1",
        compiled_output_url="s3://b/neo-compiled/r1/")
    _validate("CreateInferenceRecommendationsJob", request)
    assert request["JobType"] == "Default" and "EndpointConfigurations" not in request["InputConfig"]
    assert request["OutputConfig"] == {"CompiledOutputConfig": {"S3OutputUri": "s3://b/neo-compiled/r1/"}}


def test_advanced_job_request_carries_endpoints_traffic_and_stopping_conditions() -> None:
    manifest = _manifest(
        JobType="Advanced", EndpointConfigurations=[{"InstanceType": "ml.c5.xlarge"}],
        TrafficPattern={"TrafficType": "PHASES", "Phases": [
            {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]},
        StoppingConditions={"MaxInvocations": 300}, ResourceLimit={"MaxNumberOfTests": 2, "MaxParallelOfTests": 1},
        JobDurationInSeconds=3600)
    request = create_recommendation_job_request(
        manifest, job_name="nr-xgb-1", role_arn="arn:aws:iam::123456789012:role/ir",
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/nr-xgb/1", run_id="r1",
        compiled_output_url="s3://b/neo-compiled/r1/", volume_kms_key_id="arn:aws:kms:us-east-1:1:key/k")
    _validate("CreateInferenceRecommendationsJob", request)
    assert request["InputConfig"]["EndpointConfigurations"] == [{"InstanceType": "ml.c5.xlarge"}]
    assert request["StoppingConditions"] == {"MaxInvocations": 300}
    assert request["InputConfig"]["JobDurationInSeconds"] == 3600
    assert request["OutputConfig"]["KmsKeyId"] == request["InputConfig"]["VolumeKmsKeyId"]
