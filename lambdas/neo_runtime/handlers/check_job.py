"""Step 4: one poll of the Inference Recommender job, with the run's deadline counted in polls."""

from __future__ import annotations

from typing import Any

from neo_runtime.aws import client, retried_when_transient
from neo_runtime.errors import RecommendationJobFailed, RecommendationJobStopped, RecommendationJobTimedOut
from neo_runtime.log import RunLogger

_FINISHED_OK = "COMPLETED"


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"run_id", "job_name", "polls", "max_polls"}``. Returns ``{"status", "polls"}``.

    Raises for FAILED/STOPPED jobs, and stops the job and raises once ``max_polls`` is reached
    (the deadline divided by the poll interval), so the failure path records why.
    """
    job_name = event["job_name"]
    polls = int(event["polls"]) + 1
    log = RunLogger("CheckRecommendationJob", run_id=event["run_id"], job_name=job_name)
    sagemaker = client("sagemaker")
    job = sagemaker.describe_inference_recommendations_job(JobName=job_name)
    status = job["Status"]
    log.info("job status", status=status, polls=polls)
    if status == _FINISHED_OK:
        return {"status": status, "polls": polls}
    if status == "FAILED":
        raise RecommendationJobFailed(
            f"Inference Recommender job {job_name} failed: {job.get('FailureReason', 'no reason given')}")
    if status in ("STOPPED", "STOPPING", "DELETING", "DELETED"):
        raise RecommendationJobStopped(f"Inference Recommender job {job_name} is {status}")
    if polls >= int(event["max_polls"]):
        sagemaker.stop_inference_recommendations_job(JobName=job_name)
        raise RecommendationJobTimedOut(
            f"Inference Recommender job {job_name} was still {status} after {polls} polls; it was stopped")
    return {"status": status, "polls": polls}
