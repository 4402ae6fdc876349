"""Build the SageMaker requests of a run from its manifest (pure functions, no AWS calls)."""

from __future__ import annotations

from typing import Any

from neo_runtime.manifest import Manifest


def create_model_package_request(
    manifest: Manifest,
    *,
    group_name: str,
    model_data_url: str,
    sample_payload_url: str,
    client_token: str,
    approval_status: str,
    description: str,
) -> dict[str, Any]:
    """CreateModelPackage parameters with the Neo-eligible InferenceSpecification.

    Inference Recommender compiles with Neo only when the container carries Framework (upper
    case), FrameworkVersion, NearestModelName and ModelInput.DataInputConfig (a JSON string),
    and the package has SupportedContentTypes.
    """
    container: dict[str, Any] = {
        "Image": manifest.image,
        "ModelDataUrl": model_data_url,
        "Framework": manifest.framework,
        "FrameworkVersion": manifest.framework_version,
    }
    if manifest.data_input_config:  # ModelInput.DataInputConfig has at least one character (botocore's model)
        container["ModelInput"] = {"DataInputConfig": manifest.data_input_config}
    if manifest.nearest_model_name:
        container["NearestModelName"] = manifest.nearest_model_name
    if manifest.environment:
        container["Environment"] = dict(manifest.environment)
    specification: dict[str, Any] = {
        "Containers": [container],
        "SupportedContentTypes": list(manifest.supported_content_types),
        "SupportedResponseMIMETypes": list(manifest.supported_response_mime_types),
    }
    if manifest.instance_types:
        specification["SupportedRealtimeInferenceInstanceTypes"] = list(manifest.instance_types)
    return {
        "ModelPackageGroupName": group_name,
        "ModelPackageDescription": description[:1024],
        "InferenceSpecification": specification,
        "ModelApprovalStatus": approval_status,
        "Domain": manifest.domain,
        "Task": manifest.task,
        "SamplePayloadUrl": sample_payload_url,
        "ClientToken": client_token,
    }


def create_recommendation_job_request(
    manifest: Manifest,
    *,
    job_name: str,
    role_arn: str,
    model_package_arn: str,
    run_id: str,
    compiled_output_url: str,
    volume_kms_key_id: str | None = None,
    vpc_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """CreateInferenceRecommendationsJob parameters for the manifest's job type.

    Neo writes compiled artifacts to ``compiled_output_url`` (outside the watched prefix, so
    they never look like a submission). ``volume_kms_key_id`` encrypts the benchmark instances'
    volumes and the compiled output; ``vpc_config`` (``SecurityGroupIds``, ``Subnets``) puts the
    benchmark endpoints in the deployment's VPC.
    """
    input_config: dict[str, Any] = {"ModelPackageVersionArn": model_package_arn}
    if manifest.job_duration_seconds:
        input_config["JobDurationInSeconds"] = manifest.job_duration_seconds
    if volume_kms_key_id:
        input_config["VolumeKmsKeyId"] = volume_kms_key_id
        output_kms = {"KmsKeyId": volume_kms_key_id}
    else:
        output_kms = {}
    if vpc_config:
        input_config["VpcConfig"] = {"SecurityGroupIds": list(vpc_config["SecurityGroupIds"]),
                                     "Subnets": list(vpc_config["Subnets"])}
    request: dict[str, Any] = {
        "JobName": job_name,
        "JobType": manifest.job_type,
        "RoleArn": role_arn,
        "InputConfig": input_config,
        "JobDescription": (manifest.job_description or f"neo-recommender run {run_id}")[:128],
        "OutputConfig": {"CompiledOutputConfig": {"S3OutputUri": compiled_output_url}, **output_kms},
        "Tags": [
            {"Key": "neo-recommender:run-id", "Value": run_id},
            {"Key": "neo-recommender:model-name", "Value": manifest.model_name},
        ],
    }
    if manifest.job_type == "Advanced":
        advanced = manifest.advanced
        input_config["EndpointConfigurations"] = advanced["EndpointConfigurations"]
        for name in ("TrafficPattern", "ResourceLimit"):
            if name in advanced:
                input_config[name] = advanced[name]
        if "StoppingConditions" in advanced:
            request["StoppingConditions"] = advanced["StoppingConditions"]
    return request
