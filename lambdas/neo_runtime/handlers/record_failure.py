"""Failure path: record the run as FAILED with a readable error, and announce it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from neo_runtime import errors, metrics, records, run_store
from neo_runtime.announce import announce, keep_in_dead_letter_queue
from neo_runtime.aws import client, error_code, retried_when_transient
from neo_runtime.log import RunLogger
from neo_runtime.notification import failure_message
from neo_runtime.s3_event import SubmittedObject

#: Errors that end a run as TIMED_OUT rather than FAILED: it outlived its deadline, its queue wait, or
#: the state machine's timeout.
TIMEOUT_ERRORS = ("RecommendationJobTimedOut", "JobQueueTimedOut", "ExecutionTimedOut")
#: IR job states in which the job still runs (and bills).
UNFINISHED = ("PENDING", "IN_PROGRESS")


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"state": <the execution's state with "error" and "failed_step">, "execution_arn"}``.

    Never touches the uploaded objects. Returns the failure summary that was recorded.
    """
    return record_failed_run(event["state"], event["execution_arn"], "RecordFailure")


def record_failed_run(state: dict[str, Any], execution_arn: str, step_name: str) -> dict[str, Any]:
    """Record the run of ``state`` (its input plus ``error``, ``failed_step``, ...) as failed, and announce it.

    Also stops its IR job if it still runs and gives back its job slot. A record DynamoDB will not take
    and a message SNS will not take are kept in the dead-letter queue, so the failure is never lost.
    """
    source = SubmittedObject.from_event(state)
    run_id = source.run_id
    log = RunLogger(step_name, run_id=run_id)
    error = describe_error(state.get("error", {}), state.get("failed_step", {}).get("step", "unknown"))
    submission = state.get("submission") or {}
    summary = {
        "status": failure_status(error["type"]),
        "run_id": run_id,
        "bucket": source.bucket,
        "key": source.key,
        "version_id": source.version_id,
        "execution_arn": execution_arn,
        "model_name": (submission.get("manifest") or {}).get("model_name") or submission.get("model_name"),
        "job_name": (state.get("job") or {}).get("job_name") or submission.get("job_name"),
        "error": error,
        "findings": (submission.get("validation") or {}).get("findings") or None,
        "neo_eligible": (submission.get("validation") or {}).get("neo_eligible"),
        **records.expiry_fields(),
    }
    try:
        owned = run_store.update_run(run_id, execution_arn,
                                     {k: v for k, v in summary.items() if k not in ("run_id", "execution_arn")})
    except (ClientError, BotoCoreError) as record_error:
        # DynamoDB is unavailable: announce anyway, and keep the record where operators will see it.
        owned, summary["record_error"] = True, str(record_error)[:1000]
        keep_in_dead_letter_queue({"unrecorded_failure": summary})
        log.error("could not record the failed run", error=str(record_error))
    if not owned:
        # Another execution owns this run; its own outcome will be recorded and announced.
        log.warning("run owned by another execution; failure not recorded", error=error)
        return summary
    metrics.emit(metrics.OF_FINAL_STATUS[summary["status"]], 1, run_id=run_id, error_type=error["type"])
    # A job nobody will read the results of is stopped, so it bills no further; then its slot is free.
    # The job may exist without $.job: StartRecommendationJob can fail after creating it.
    if stop_unfinished_job(summary["job_name"], log) or error["type"] == "RecommendationJobTimedOut":
        summary["job_stopped"] = True  # by this step, or by the poll that found the deadline passed
        _note(run_id, execution_arn, {"job_stopped": True}, log)
    try:
        run_store.release_job_slot(run_id)
    except (ClientError, BotoCoreError) as slot_error:  # the slot expires on its own; the failure must be told
        log.error("could not give back the job slot", error=str(slot_error))
    notification_error = announce(failure_message(summary), run_id)
    if notification_error:
        summary["notification_error"] = notification_error
        _note(run_id, execution_arn, {"notification_error": notification_error}, log)
    log.warning("run failed", error_type=error["type"], failed_step=error["step"])
    return summary


def _note(run_id: str, execution_arn: str, fields: dict[str, Any], log: RunLogger) -> None:
    """Add ``fields`` to the run's record, best effort (the record may be what failed)."""
    try:
        run_store.update_run(run_id, execution_arn, fields)
    except (ClientError, BotoCoreError) as error:
        log.error("could not update the run's record", fields=list(fields), error=str(error))


def failure_status(error_type: str) -> str:
    """``TIMED_OUT`` for a run stopped by its deadline or queue wait, ``FAILED`` for anything else."""
    return "TIMED_OUT" if error_type in TIMEOUT_ERRORS else "FAILED"


def stop_unfinished_job(job_name: str | None, log: RunLogger) -> bool:
    """Stop the run's IR job if it is still pending or running (e.g. its polling step kept failing).

    Best effort: a job that cannot be described or stopped is logged, and the failure is still recorded.
    """
    if not job_name:
        return False
    sagemaker = client("sagemaker")
    try:
        if sagemaker.describe_inference_recommendations_job(JobName=job_name)["Status"] not in UNFINISHED:
            return False
        sagemaker.stop_inference_recommendations_job(JobName=job_name)
    except ClientError as error:
        log.warning("could not stop the job", job_name=job_name, error=error_code(error))
        return False
    log.warning("stopped the job of the failed run", job_name=job_name)
    return True


def describe_error(error: dict[str, Any], step: str) -> dict[str, str]:
    """Turn a Step Functions Catch result (Error, Cause) into type, message, step and advice."""
    error_type = str(error.get("Error", "Unknown"))
    cause = error.get("Cause", "")
    message = cause
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            message = parsed["errorMessage"]
            error_type = parsed.get("errorType", error_type)
    except (TypeError, ValueError):
        pass
    workflow_error = getattr(errors, error_type, None)
    if isinstance(workflow_error, type) and issubclass(workflow_error, errors.WorkflowError):
        advice = workflow_error.advice
    elif error_type.startswith("States.") or error_type.startswith("Lambda."):
        advice = ("A service the pipeline depends on failed after retries; the run can be repeated by "
                  "uploading recommend.json again. See the execution history for details.")
    else:
        advice = errors.WorkflowError.advice
    return {"type": error_type, "step": step, "message": str(message)[:4000] or error_type, "advice": advice}
