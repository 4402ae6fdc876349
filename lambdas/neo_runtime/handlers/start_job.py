"""Step 3: start the Inference Recommender job (at most once per run)."""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import ClientError

from neo_runtime import run_store
from neo_runtime.aws import client, error_code
from neo_runtime.log import RunLogger
from neo_runtime.manifest import Manifest
from neo_runtime.sagemaker_requests import create_recommendation_job_request


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"submission", "model_package", "execution_arn"}``. Returns the job's name and ARN."""
    submission = event["submission"]
    run_id = submission["run_id"]
    log = RunLogger("StartRecommendationJob", run_id=run_id)
    package_arn = event["model_package"]["model_package_arn"]
    request = create_recommendation_job_request(
        Manifest.from_dict(submission["manifest"]),
        job_name=submission["job_name"],
        role_arn=os.environ["RECOMMENDER_ROLE_ARN"],
        model_package_arn=package_arn,
        run_id=run_id,
        volume_kms_key_id=os.environ.get("VOLUME_KMS_KEY_ID") or None,
        vpc_config=json.loads(os.environ.get("VPC_CONFIG") or "null"),
        compiled_output_url=f"s3://{submission['bucket']}/{os.environ['COMPILED_OUTPUT_PREFIX']}{run_id}/",
    )
    sagemaker = client("sagemaker")
    try:
        job_arn = sagemaker.create_inference_recommendations_job(**request)["JobArn"]
    except ClientError as error:
        # The job name is derived from the run, so an existing job is this run's own job,
        # created by an earlier attempt of this step whose response was lost.
        if error_code(error) not in ("ResourceInUse", "ResourceInUseException"):
            raise
        job_arn = sagemaker.describe_inference_recommendations_job(JobName=request["JobName"])["JobArn"]
        log.info("job already existed; reusing it", job_name=request["JobName"])
    run_store.update_run(run_id, event["execution_arn"], {
        "status": "RUNNING", "job_arn": job_arn, "model_package_arn": package_arn})
    log.info("inference recommendations job started", job_name=request["JobName"], job_arn=job_arn)
    return {"job_name": request["JobName"], "job_arn": job_arn}
