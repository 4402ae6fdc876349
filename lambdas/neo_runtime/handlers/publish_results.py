"""Step 5: collect the job's recommendations and failed steps, rank them, store them, notify."""

from __future__ import annotations

import os
from typing import Any

from neo_runtime import run_store
from neo_runtime.aws import client
from neo_runtime.log import RunLogger
from neo_runtime.neo_troubleshooting import diagnose, is_compilation_failure
from neo_runtime.notification import success_message
from neo_runtime.ranking import Recommendation, compare_compiled, rank
from neo_runtime.records import recommendation_item


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"submission", "job", "execution_arn"}``. Returns a small summary of the outcome."""
    submission = event["submission"]
    run_id = submission["run_id"]
    job_name = event["job"]["job_name"]
    log = RunLogger("PublishResults", run_id=run_id, job_name=job_name)
    sagemaker = client("sagemaker")
    job = sagemaker.describe_inference_recommendations_job(JobName=job_name)
    ranked = rank(Recommendation.from_ir(item) for item in job.get("InferenceRecommendations", []))
    failed_steps = list_failed_steps(sagemaker, job_name)

    # Recommendations first, summary last: a reader who sees COMPLETED sees the whole table.
    run_store.put_items([recommendation_item(run_id, position, rec)
                         for position, rec in enumerate(ranked, start=1)])
    best = ranked[0] if ranked else None
    summary = {
        "status": "COMPLETED",
        "run_id": run_id,
        "model_name": submission["manifest"]["model_name"],
        "job_name": job_name,
        "recommendation_count": len(ranked),
        "compiled_count": sum(1 for rec in ranked if rec.compiled),
        "best": best.row() if best else None,
        "comparisons": [c.summary() for c in compare_compiled(ranked)],
        "failed_steps": failed_steps,
        "neo_ineligible_reasons": submission.get("neo_ineligible_reasons") or None,
        "findings": (submission.get("validation") or {}).get("findings") or None,
        "completed_at": _iso(job.get("CompletionTime")),
    }
    run_store.update_run(run_id, event["execution_arn"], summary)
    client("sns").publish(TopicArn=os.environ["TOPIC_ARN"], **success_message(summary, ranked, failed_steps))
    log.info("results published", recommendations=len(ranked), compiled=summary["compiled_count"],
             failed_steps=len(failed_steps))
    return {"status": "COMPLETED", "recommendation_count": len(ranked), "best": summary["best"]}


def list_failed_steps(sagemaker: Any, job_name: str) -> list[dict[str, str]]:
    """Benchmarks that failed, with IR's reason; a failed Neo compilation gets its category and AWS's advice."""
    failed = []
    paginator = sagemaker.get_paginator("list_inference_recommendations_job_steps")
    for page in paginator.paginate(JobName=job_name, Status="FAILED"):
        for step in page.get("Steps", []):
            benchmark = step.get("InferenceBenchmark", {})
            model = benchmark.get("ModelConfiguration", {})
            compiled = bool(model.get("CompilationJobName") or model.get("InferenceSpecificationName"))
            reason = benchmark.get("FailureReason", "no reason given")
            step_summary = {
                "instance_type": benchmark.get("EndpointConfiguration", {}).get("InstanceType", "unknown"),
                "variant": "compiled" if compiled else "uncompiled",
                "failure_reason": reason,
            }
            if is_compilation_failure(reason, compiled):
                diagnosis = diagnose(reason)
                step_summary.update(category=diagnosis.category, advice=diagnosis.advice)
            failed.append(step_summary)
    return failed


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
