"""The shared poller: one pass over every watched IR job, on the schedule runs turn on while they wait."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime
from typing import Any

from neo_runtime import clock, job_watch, metrics, run_store
from neo_runtime import environment_names as names
from neo_runtime.aws import client, retried_when_transient
from neo_runtime.log import RunLogger


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: EventBridge's "Scheduled Event" (its ``resources`` name the schedule rule).

    Resumes the runs whose job completed, fails those whose job failed or was stopped, stops
    jobs past their run's deadline, and turns the schedule off when nothing is left to watch.
    With a job-slot limit, it also wakes the queued runs first in line for a free slot (a release
    wakes them itself, so this only finds runs whose wake-up was lost) and counts the runs waiting for
    one (``RunsWaiting``). Returns counts of what it did.
    """
    table = run_store.table_name()
    rule_name = _rule_name(event)
    watches = job_watch.watched(table)
    metrics.emit(metrics.RUNNING_JOBS, len(watches))  # each pass: the deployment's jobs still watched
    done: Counter[str] = Counter(_wake_queued_runs(table))
    if not watches:
        idle = rule_name is not None and job_watch.turn_off_if_idle(table, rule_name)
        return {"watched": 0, "schedule_off": idle, **done}
    now = clock.utc_now()
    waiting = [watch for watch in watches if watch.task_token is not None]
    for watch in watches:
        # Not yet waiting: its run has not reached AwaitRecommendationJob, or never will (gone meanwhile).
        if watch.task_token is None and now - datetime.fromisoformat(watch.registered_at) > job_watch.TOKENLESS_GRACE:
            job_watch.forget(table, watch)
            done["forgotten"] += 1
    statuses = job_watch.job_statuses(waiting) if waiting else {}
    for watch in waiting:
        status, reason = statuses[watch.job_name]
        verdict = job_watch.judge(watch.job_name, status, reason, watch.deadline_at, now)
        if verdict.action == "wait":
            done["running"] += 1
            continue
        if verdict.stop:
            client("sagemaker").stop_inference_recommendations_job(JobName=watch.job_name)
        answered = job_watch.answer(watch, verdict)
        job_watch.forget(table, watch)
        if not answered:
            done["gone"] += 1
        else:
            done["resumed" if verdict.action == "resume" else "failed"] += 1
        RunLogger("WatchJobs", run_id=watch.run_id, job_name=watch.job_name).info(
            "job ended; run answered" if answered else "job ended; its run is gone",
            status=status, verdict=verdict.error or verdict.action)
    return {"watched": len(watches), **done}


def _wake_queued_runs(table: str) -> dict[str, int]:
    """``{"woken": n}``: the queued runs this pass woke for a free job slot (nothing without a limit); emits how many
    runs wait for one."""
    if not os.environ.get(names.MAX_CONCURRENT_JOBS):
        return {}
    from neo_runtime import job_slots  # noqa: PLC0415 - only deployments with a limit load the queue

    woken = job_slots.wake_next_if_limited(table)
    waiting = job_slots.waiting_runs_if_limited(table)
    if waiting is not None:  # the queue's length on each pass (the runs' own requests count it too: start_job)
        metrics.emit(metrics.RUNS_WAITING, waiting)
    for run_id in woken:
        RunLogger("WatchJobs", run_id=run_id).warning("woke a queued run first in line for a free job slot")
    return {"woken": len(woken)} if woken else {}


def _rule_name(event: dict[str, Any]) -> str | None:
    """The schedule rule's name, from the ARN in the event's ``resources`` (``...:rule/<name>``)."""
    for arn in event.get("resources") or []:
        if ":rule/" in str(arn):
            return str(arn).rsplit("/", 1)[-1]
    return None
