"""Step 2: register the model as a Neo-eligible model package version and wait until it is ready."""

from __future__ import annotations

import os
import time
from typing import Any

from botocore.exceptions import ClientError

from neo_runtime.aws import client, error_code, retried_when_transient
from neo_runtime.errors import ModelPackageFailed, ModelPackageNotReady
from neo_runtime.log import RunLogger
from neo_runtime.manifest import Manifest
from neo_runtime.sagemaker_requests import create_model_package_request

_READY_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 2.0


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"submission": <ValidateSubmission output>}``. Returns the package version ARN."""
    submission = event["submission"]
    log = RunLogger("RegisterModel", run_id=submission["run_id"])
    manifest = Manifest.from_dict(submission["manifest"])
    sagemaker = client("sagemaker")
    _ensure_group(sagemaker, submission["model_package_group"], manifest.model_name)
    request = create_model_package_request(
        manifest,
        group_name=submission["model_package_group"],
        model_data_url=submission["model_data_url"],
        sample_payload_url=submission["sample_payload_url"],
        client_token=submission["client_token"],
        approval_status=os.environ.get("MODEL_APPROVAL_STATUS", "PendingManualApproval"),
        description=f"neo-recommender run {submission['run_id']} from s3://{submission['bucket']}/{submission['key']}",
    )
    arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    _wait_until_completed(sagemaker, arn)
    log.info("model package registered", model_package_arn=arn)
    return {"model_package_arn": arn}


def _ensure_group(sagemaker: Any, group_name: str, model_name: str) -> None:
    try:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=group_name,
            ModelPackageGroupDescription=f"Model packages of {model_name} submitted to neo-recommender",
        )
    except ClientError as error:
        # Concurrent or earlier runs of the same model created it already; that is the goal.
        if "already exist" not in str(error) and error_code(error) != "ResourceInUse":
            raise


def _wait_until_completed(sagemaker: Any, arn: str) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    while True:
        package = sagemaker.describe_model_package(ModelPackageName=arn)
        status = package["ModelPackageStatus"]
        if status == "Completed":
            return
        if status == "Failed":
            details = package.get("ModelPackageStatusDetails", {})
            raise ModelPackageFailed(f"SageMaker could not create {arn}: {details}")
        if time.monotonic() > deadline:
            raise ModelPackageNotReady(f"{arn} is still {status} after {_READY_TIMEOUT_SECONDS:.0f} s")
        time.sleep(_POLL_SECONDS)
