"""Step 3: take a job slot (when the deployment limits concurrent jobs), then start the IR job once per run."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from neo_runtime import environment_names as names
from neo_runtime import job_watch, metrics, run_store
from neo_runtime.aws import client, error_code, retried_when_transient
from neo_runtime.errors import JobQueueTimedOut
from neo_runtime.log import RunLogger
from neo_runtime.manifest import Manifest
from neo_runtime.records import now_iso
from neo_runtime.sagemaker_requests import create_recommendation_job_request

if TYPE_CHECKING:
    from neo_runtime.job_slots import SlotDecision


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"submission", "model_package", "execution_arn", "execution_started"}``.

    Returns ``{"started": true, "job_name", "job_arn", "started_at", "deadline_at", "watch_timeout_seconds"}``
    (with the shared poller, the job is on its watch list and the poller's schedule is on), or
    ``{"started": false, ...}`` while every job slot is taken (the run waits for a released slot to
    wake it, or ``recheck_seconds``) or the account's IR quota is full (``ResourceLimitExceeded``: it waits
    ``retry_after_seconds``, a growing backoff with jitter), until ``MAX_QUEUE_WAIT_SECONDS`` have passed.
    """
    submission = event["submission"]
    run_id = submission["run_id"]
    log = RunLogger("StartRecommendationJob", run_id=run_id)
    if os.environ.get(names.MAX_CONCURRENT_JOBS):
        from neo_runtime import job_slots  # noqa: PLC0415 - only deployments with a limit load the queue

        limits = job_slots.limits_from_environment()
        if limits is not None:
            slot = job_slots.acquire(run_store.table_name(), job_slots.scope_of_deployment(), run_id, limits)
            metrics.emit(metrics.RUNS_WAITING, slot.waiting)  # the queue as this request left it (read whole)
            if not slot.granted:
                return _queued(slot, run_id, event["execution_arn"], log)

    package_arn = event["model_package"]["model_package_arn"]
    request = create_recommendation_job_request(
        Manifest.from_dict(submission["manifest"]),
        job_name=submission["job_name"],
        role_arn=os.environ["RECOMMENDER_ROLE_ARN"],
        model_package_arn=package_arn,
        run_id=run_id,
        volume_kms_key_id=os.environ.get(names.VOLUME_KMS_KEY_ID) or None,
        vpc_config=json.loads(os.environ.get(names.VPC_CONFIG) or "null"),
        compiled_output_url=f"s3://{submission['bucket']}/{os.environ['COMPILED_OUTPUT_PREFIX']}{run_id}/",
    )
    sagemaker = client("sagemaker")
    try:
        job_arn = sagemaker.create_inference_recommendations_job(**request)["JobArn"]
    except ClientError as error:
        if error_code(error) == "ResourceLimitExceeded":
            # The account's concurrent-job quota is full (other workloads count too): wait, keeping
            # this run's slot, rather than fail a run whose inputs are fine.
            return _waiting_for_quota(run_id, event, str(error), log)
        # The job name is derived from the run, so an existing job is this run's own job,
        # created by an earlier attempt of this step whose response was lost.
        if error_code(error) not in ("ResourceInUse", "ResourceInUseException"):
            raise
        job_arn = sagemaker.describe_inference_recommendations_job(JobName=request["JobName"])["JobArn"]
        log.info("job already existed; reusing it", job_name=request["JobName"])
    before = run_store.update_run_returning_old(run_id, event["execution_arn"], {
        "status": "RUNNING", "job_arn": job_arn, "model_package_arn": package_arn})
    _emit_queue_wait(before, run_id)
    job = job_watch.watched_job(run_store.table_name(), request["JobName"], run_id)
    log.info("inference recommendations job started", job_name=request["JobName"], job_arn=job_arn)
    return {"started": True, "job_arn": job_arn, **job}


def _end_a_wait_too_long(since: str | None, message: Callable[[int, int], str]) -> float:
    """Raise ``JobQueueTimedOut`` with ``message(waited, limit)`` once ``MAX_QUEUE_WAIT_SECONDS`` have passed.

    Returns the seconds waited so far.
    """
    limit = int(os.environ.get(names.MAX_QUEUE_WAIT_SECONDS) or 0)
    waited = (datetime.fromisoformat(now_iso()) - datetime.fromisoformat(since or now_iso())).total_seconds()
    if limit and waited > limit:
        raise JobQueueTimedOut(message(int(waited), limit))
    return waited


#: Backoff while IR's account quota is full: from a minute, growing with the wait, at most 15 minutes.
QUOTA_BACKOFF_SECONDS = (60, 900)


def quota_backoff_seconds(waited_seconds: float) -> int:
    """How long to wait before asking IR again: a quarter of the wait so far, within bounds, half jittered."""
    low, high = QUOTA_BACKOFF_SECONDS
    base = min(high, max(low, waited_seconds / 4))
    return int(base / 2 + random.uniform(0, base / 2))


def _emit_queue_wait(before: dict[str, Any] | None, run_id: str) -> None:
    """A run that was queued (for a job slot or for room in the account's quota) waited from its first ``queued_at``
    until its job started, now; ``before`` is its summary as this start found it (a repeated start finds RUNNING)."""
    if before is None or before.get("status") != "QUEUED" or not before.get("queued_at"):
        return
    waited = datetime.fromisoformat(now_iso()) - datetime.fromisoformat(str(before["queued_at"]))
    metrics.emit(metrics.QUEUE_WAIT, max(0.0, waited.total_seconds()), run_id=run_id)


def _waiting_for_quota(run_id: str, event: dict[str, Any], reason: str, log: RunLogger) -> dict[str, Any]:
    """IR's account quota is full: the run is QUEUED as for a job slot, and counted queued once (``RunsQueued``; its
    ``QueueWaitSeconds`` when its job starts), unless it was queued for a slot already."""
    waited = _end_a_wait_too_long(event.get("execution_started"), lambda waited, limit: (
        f"Inference Recommender's account quota stayed full for {waited} s after the run started "
        f"(the limit is {limit} s): {reason}"))
    before = run_store.update_run_returning_old(
        run_id, event["execution_arn"], {"status": "QUEUED", "queue_reason": "ResourceLimitExceeded"},
        first_only={"queued_at": now_iso()})
    if before is not None and not before.get("queued_at"):  # its first wait of either kind
        metrics.emit(metrics.RUNS_QUEUED, 1, run_id=run_id, queue_reason="ResourceLimitExceeded")
    retry_after = quota_backoff_seconds(waited)
    log.warning("account quota for IR jobs is full; waiting", reason=reason, retry_after_seconds=retry_after)
    return {"started": False, "reason": "ResourceLimitExceeded", "retry_after_seconds": retry_after}


def _queued(slot: SlotDecision, run_id: str, execution_arn: str, log: RunLogger) -> dict[str, Any]:
    """Every slot is taken: record the run as QUEUED (once), or fail it when it has waited too long."""
    _end_a_wait_too_long(slot.waiting_since, lambda waited, limit: (
        f"Waited {waited} s for one of {slot.running} busy job slots "
        f"(position {slot.position} of {slot.waiting}); the limit is {limit} s"))
    if slot.changed:
        run_store.update_run(run_id, execution_arn, {
            "status": "QUEUED", "queued_at": slot.waiting_since, "queue_position": slot.position})
    if slot.queued_now:
        metrics.emit(metrics.RUNS_QUEUED, 1, run_id=run_id, queue_reason="JobSlotsBusy")
    log.info("waiting for a job slot", position=slot.position, waiting=slot.waiting, running=slot.running,
             recheck_seconds=slot.recheck_seconds)
    return {"started": False, "reason": "JobSlotsBusy", "queue_position": slot.position, "waiting": slot.waiting,
            "running": slot.running, "recheck_seconds": slot.recheck_seconds}
