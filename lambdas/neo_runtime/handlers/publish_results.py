"""Step 5: collect the job's recommendations and failed steps, rank them, store them, notify."""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import ClientError

from neo_runtime import environment_names as names
from neo_runtime import metrics, records, run_store
from neo_runtime.announce import announce
from neo_runtime.aws import client, error_code, is_transient, retried_when_transient
from neo_runtime.decision import Constraints, decide
from neo_runtime.ir_results import read_job
from neo_runtime.log import RunLogger
from neo_runtime.notification import success_message
from neo_runtime.ranking import compiled_configuration
from neo_runtime.registry_metadata import metadata_properties

#: Longest failure reason kept per failed step (IR's reasons are a sentence or two).
MAX_REASON_CHARS = 1000


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"submission", "job", "execution_arn"}``. Returns a small summary of the outcome."""
    submission = event["submission"]
    manifest = submission["manifest"]
    run_id = submission["run_id"]
    job_name = event["job"]["job_name"]
    log = RunLogger("PublishResults", run_id=run_id, job_name=job_name)
    sagemaker = client("sagemaker")
    job = sagemaker.describe_inference_recommendations_job(JobName=job_name)
    # The job has ended: its slot is free for the next run in the queue.
    run_store.release_job_slot(run_id)
    results = read_job({**job, "InferenceRecommendations": job.get("InferenceRecommendations") or []})
    decision = decide(results.recommendations, Constraints.from_manifest(manifest), results.baselines)
    failed_steps = list_failed_steps(sagemaker, job_name)
    expiry = records.expiry_fields()
    validation = submission.get("validation") or {}

    # Recommendations first, summary last: a reader who sees COMPLETED sees the whole table.
    run_store.put_items(records.recommendation_items(run_id, decision, expiry))
    summary = records.fit_summary({
        "status": "COMPLETED",
        "run_id": run_id,
        "model_name": manifest["model_name"],
        "job_name": job_name,
        **records.decision_fields(decision),
        "failed_steps": failed_steps,
        "failed_step_count": len(failed_steps),
        "endpoint_performances": [baseline.to_dict() for baseline in results.baselines] or None,
        "reading_notes": results.notes or None,
        "neo_eligible": validation.get("neo_eligible"),
        "neo_ineligible_reasons": submission.get("neo_ineligible_reasons") or None,
        "findings": validation.get("findings") or None,
        "completed_at": _iso(job.get("CompletionTime")),
        **expiry,
    })
    run_store.update_run(run_id, event["execution_arn"], summary)
    # Before the announcement: a transient error retries this step, whose writes above are idempotent.
    registry_note = record_in_model_registry(sagemaker, event, decision, job_name, summary.get("completed_at"), log)
    if registry_note:
        run_store.update_run(run_id, event["execution_arn"], registry_note)
    notification_error = announce(success_message(summary, decision), run_id)
    if notification_error:  # the results stand; the message waits in the dead-letter queue
        run_store.update_run(run_id, event["execution_arn"], {"notification_error": notification_error})
    emit_run_metrics(job, decision, run_id)
    log.info("results published", recommendations=len(decision.ranked), compiled=summary["compiled_count"],
             recommended=(summary["recommended"] or {}).get("InstanceType"), failed_steps=len(failed_steps))
    return {"status": "COMPLETED", "recommendation_count": len(decision.ranked),
            "recommended": summary["recommended"]}


def emit_run_metrics(job: dict[str, Any], decision: Any, run_id: str) -> None:
    """A completed run's metrics: the run, its job's duration, its compiled rows, and Neo's saving on the pick."""
    metrics.emit(metrics.RUNS_COMPLETED, 1, run_id=run_id)
    created, completed = job.get("CreationTime"), job.get("CompletionTime")
    if created is not None and completed is not None:
        metrics.emit(metrics.JOB_DURATION, max(0.0, (completed - created).total_seconds()), run_id=run_id)
    metrics.emit(metrics.COMPILED_RECOMMENDATIONS, sum(1 for rec in decision.ranked if rec.compiled), run_id=run_id)
    pair = decision.recommended_pair()
    if pair is not None and pair.cost_change_percent is not None:
        metrics.emit(metrics.NEO_SAVING, -pair.cost_change_percent, run_id=run_id)


def record_in_model_registry(sagemaker: Any, event: dict[str, Any], decision: Any, job_name: str,
                             completed_at: str | None, log: RunLogger) -> dict[str, Any] | None:
    """Write the recommendation into the benchmarked model package version's ``CustomerMetadataProperties``.

    Off when the deployment says so (``RECORD_IN_MODEL_REGISTRY``). A refusal (access, validation) is
    kept on the run as ``registry_error``: the results stand; transient errors raise, so the step retries.
    """
    arn = (event.get("model_package") or {}).get("model_package_arn")
    if os.environ.get(names.RECORD_IN_MODEL_REGISTRY) != "true" or not arn:
        return None
    properties = metadata_properties(decision, event["submission"]["run_id"], job_name, run_store.table_name(),
                                     completed_at)
    try:
        sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=properties)
    except ClientError as error:
        if is_transient(error):
            raise
        log.error("could not write the recommendation to the model registry", model_package_arn=arn,
                  error_code=error_code(error))
        return {"registry_error": f"{error_code(error)}: {error.response.get('Error', {}).get('Message')}"[:1000]}
    log.info("recommendation written to the model registry", model_package_arn=arn, entries=len(properties))
    return {"model_package_arn": arn, "registry_entries": len(properties)}


def list_failed_steps(sagemaker: Any, job_name: str) -> list[dict[str, str]]:
    """Benchmarks that failed, with IR's reason; a failed Neo compilation gets its category and AWS's advice."""
    paginator = sagemaker.get_paginator("list_inference_recommendations_job_steps")
    return [_failed_step(step) for page in paginator.paginate(JobName=job_name, Status="FAILED")
            for step in page.get("Steps", [])]


def _failed_step(step: dict[str, Any]) -> dict[str, str]:
    from neo_runtime.neo_troubleshooting import diagnose, is_compilation_failure  # noqa: PLC0415 - failures only

    benchmark = step.get("InferenceBenchmark", {})
    model = benchmark.get("ModelConfiguration", {})
    compiled = compiled_configuration(model)
    reason = str(benchmark.get("FailureReason") or "no reason given")[:MAX_REASON_CHARS]
    summary = {
        "instance_type": benchmark.get("EndpointConfiguration", {}).get("InstanceType", "unknown"),
        "variant": "compiled" if compiled else "uncompiled",
        "failure_reason": reason,
    }
    if is_compilation_failure(reason, compiled):
        diagnosis = diagnose(reason)
        summary.update(category=diagnosis.category, advice=diagnosis.advice)
    return summary


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
