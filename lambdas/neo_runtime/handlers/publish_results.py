"""Step 5: collect the job's recommendations and failed steps, rank them, store them, notify."""

from __future__ import annotations

from typing import Any

from neo_runtime import records, run_store
from neo_runtime.announce import announce
from neo_runtime.aws import client, retried_when_transient
from neo_runtime.decision import Constraints, decide
from neo_runtime.ir_results import read_job
from neo_runtime.log import RunLogger
from neo_runtime.notification import success_message
from neo_runtime.ranking import compiled_configuration

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
    notification_error = announce(success_message(summary, decision), run_id)
    if notification_error:  # the results stand; the message waits in the dead-letter queue
        run_store.update_run(run_id, event["execution_arn"], {"notification_error": notification_error})
    log.info("results published", recommendations=len(decision.ranked), compiled=summary["compiled_count"],
             recommended=(summary["recommended"] or {}).get("InstanceType"), failed_steps=len(failed_steps))
    return {"status": "COMPLETED", "recommendation_count": len(decision.ranked),
            "recommended": summary["recommended"]}


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
