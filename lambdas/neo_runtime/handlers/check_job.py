"""Step 4: the run checks its own Inference Recommender job (each poll, or when the shared poller is late)."""

from __future__ import annotations

from typing import Any

from neo_runtime import clock, errors, job_watch, run_store
from neo_runtime.aws import client, retried_when_transient
from neo_runtime.log import RunLogger

#: The longest a run waiting on the shared poller goes between checks of its own.
MAX_WATCH_TIMEOUT_SECONDS = 6 * 3600


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"run_id", "job"}`` (``job`` as StartRecommendationJob returned it). Returns ``job``
    with its ``status``.

    Raises for FAILED or stopped jobs, and stops the job and raises once the run's deadline has
    passed, so the failure path records why. With the shared poller (this check then runs only
    when the poller has not answered for ``watch_timeout_seconds``), a job still running goes back
    on the watch list and the next check of its own comes twice as late.
    """
    job = dict(event["job"])
    job_name = job["job_name"]
    log = RunLogger("CheckRecommendationJob", run_id=event["run_id"], job_name=job_name)
    sagemaker = client("sagemaker")
    described = sagemaker.describe_inference_recommendations_job(JobName=job_name)
    status = described["Status"]
    verdict = job_watch.judge(job_name, status, described.get("FailureReason"), job["deadline_at"], clock.utc_now())
    log.info("job status", status=status, verdict=verdict.error or verdict.action)
    if verdict.stop:
        sagemaker.stop_inference_recommendations_job(JobName=job_name)
    if verdict.action == "fail":
        raise getattr(errors, str(verdict.error))(verdict.cause)
    if verdict.action == "wait" and job_watch.schedule_rule() is not None:
        job = {**job, **job_watch.watched_job(run_store.table_name(), job_name, event["run_id"], job["started_at"]),
               "watch_timeout_seconds": min(MAX_WATCH_TIMEOUT_SECONDS, 2 * int(job["watch_timeout_seconds"]))}
    return {**job, "status": status}
