"""One poller for every running IR job: the watch list, and what each check of a job decides.

SageMaker sends no event when an Inference Recommender job ends, so someone must ask. Rather
than every run polling its own job (three state transitions per poll), a run whose job has
started is put on a watch list in the results table (one item per job, ``pk = JOB_WATCH``,
``sk = <scope>#<job name>``) and the poller's schedule is turned on. The run's
``AwaitRecommendationJob`` state adds its task token to the item and waits, at no cost. Each pass of the poller
(``handlers.watch_jobs``) lists the deployment's jobs in one call, resumes the runs whose job
has ended, stops jobs past their deadline, and turns its schedule off once the list is empty.

``judge`` is the whole policy, a pure function shared with the run's own check
(``handlers.check_job``); the other functions apply it with AWS.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from neo_runtime import clock
from neo_runtime import environment_names as names
from neo_runtime.aws import client, error_code

WATCH_PARTITION = "JOB_WATCH"
#: An item still without a task token this long after it was written belongs to a run that never reached
#: its AwaitRecommendationJob state (its execution ended in between; the safety net records that run).
TOKENLESS_GRACE = timedelta(minutes=15)
#: Jobs created this long before the oldest watched one are not listed (clock skew between callers).
_LISTING_MARGIN = timedelta(minutes=10)
#: Step Functions' answers to a token whose task is gone (resumed already, timed out, execution ended).
_STALE_TOKEN_ERRORS = ("TaskDoesNotExist", "TaskTimedOut", "InvalidToken")
_STOPPED = ("STOPPING", "STOPPED")
_ENDED_ELSEWISE = (*_STOPPED, "DELETING", "DELETED")


@dataclass(frozen=True)
class Watch:
    """A watched job: whose run it is, when it started, its deadline, and the run's task token (once waiting)."""

    job_name: str
    run_id: str
    started_at: str
    deadline_at: str
    registered_at: str
    task_token: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What to do about a job now: ``resume`` its run, ``fail`` it (``stop`` the job first), or ``wait``."""

    action: str
    error: str | None = None
    cause: str | None = None
    stop: bool = False


WAIT = Verdict("wait")
RESUME = Verdict("resume")


def judge(job_name: str, status: str | None, failure_reason: str | None, deadline_at: str,
          now: datetime) -> Verdict:
    """The verdict on a job from its status (None: the job no longer exists) and the run's deadline."""
    if status == "COMPLETED":
        return RESUME
    if status == "FAILED":
        return Verdict("fail", "RecommendationJobFailed",
                       f"Inference Recommender job {job_name} failed: {failure_reason or 'no reason given'}")
    past_deadline = now >= datetime.fromisoformat(deadline_at)
    if status in _STOPPED and past_deadline:
        # Stopped once the deadline had passed: the poller stopped it there, and a run checking its own
        # job may see that stop before the poller answers it. Either way the run timed out.
        return Verdict("fail", "RecommendationJobTimedOut",
                       f"Inference Recommender job {job_name} ran past the run's deadline ({deadline_at}) "
                       f"and was stopped (it is {status})")
    if status is None or status in _ENDED_ELSEWISE:
        return Verdict("fail", "RecommendationJobStopped",
                       f"Inference Recommender job {job_name} is {status or 'gone'}")
    if past_deadline:
        return Verdict("fail", "RecommendationJobTimedOut",
                       f"Inference Recommender job {job_name} was still {status} at the run's deadline "
                       f"({deadline_at}); it was stopped", stop=True)
    return WAIT


def deadline_after(started: datetime) -> str:
    """The deadline of a job started at ``started``: ``JOB_DEADLINE_SECONDS`` later (ISO 8601)."""
    seconds = int(os.environ.get(names.JOB_DEADLINE_SECONDS) or 3 * 3600)
    return (started + timedelta(seconds=seconds)).isoformat()


def schedule_rule() -> str | None:
    """The poller's schedule rule, when runs of this deployment wait on the shared poller."""
    return os.environ.get(names.WATCH_SCHEDULE_RULE) or None


def scope() -> str:
    """The deployment's part of the watch list: its SageMaker name prefix, also its jobs' name prefix."""
    return os.environ.get("JOB_NAME_PREFIX", "")


def watched_job(table: str, job_name: str, run_id: str, started_at: str | None = None) -> dict[str, Any]:
    """The job as a run's waiting states see it; with the shared poller, also put it on the watch list.

    The item is written before the schedule is turned on, so a pass turning the schedule off
    meanwhile sees the item when it looks again (``turn_off_if_idle``).
    """
    now = clock.utc_now()
    started_at = started_at or now.isoformat()
    deadline_at = deadline_after(datetime.fromisoformat(started_at))
    rule = schedule_rule()
    if rule is not None:
        register(table, Watch(job_name=job_name, run_id=run_id, started_at=started_at, deadline_at=deadline_at,
                              registered_at=now.isoformat()), keep_seconds=86400)
        turn_on(rule)
    return {"job_name": job_name, "started_at": started_at, "deadline_at": deadline_at,
            "watch_key": _key(job_name)["sk"]["S"],
            "watch_timeout_seconds": int(os.environ.get(names.WATCH_RECHECK_SECONDS) or 3600)}


def register(table: str, watch: Watch, keep_seconds: int) -> None:
    """Put ``watch`` on the list (without a task token: the run's AwaitRecommendationJob state adds it)."""
    item = {**_key(watch.job_name),
            "run_id": {"S": watch.run_id}, "job_name": {"S": watch.job_name},
            "started_at": {"S": watch.started_at}, "deadline_at": {"S": watch.deadline_at},
            "registered_at": {"S": watch.registered_at},
            "expires_at": {"N": str(int(datetime.fromisoformat(watch.deadline_at).timestamp()) + keep_seconds)}}
    client("dynamodb").put_item(TableName=table, Item=item)


def turn_on(rule_name: str) -> None:
    """Turn the poller's schedule on (idempotent)."""
    client("events").enable_rule(Name=rule_name)


def watched(table: str) -> list[Watch]:
    """Every job on the deployment's watch list."""
    watches = []
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
            TableName=table, ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :scope)",
            ExpressionAttributeValues={":pk": {"S": WATCH_PARTITION}, ":scope": {"S": f"{scope()}#"}}):
        for item in page.get("Items", []):
            watches.append(Watch(
                job_name=item["job_name"]["S"], run_id=item["run_id"]["S"], started_at=item["started_at"]["S"],
                deadline_at=item["deadline_at"]["S"], registered_at=item["registered_at"]["S"],
                task_token=item.get("task_token", {}).get("S")))
    return watches


def job_statuses(watches: list[Watch]) -> dict[str, tuple[str | None, str | None]]:
    """Status and failure reason of every watched job: one listing of the deployment's recent jobs,
    then a Describe for any job the listing missed (None when it no longer exists)."""
    sagemaker = client("sagemaker")
    oldest = min(datetime.fromisoformat(watch.started_at) for watch in watches) - _LISTING_MARGIN
    wanted = {watch.job_name for watch in watches}
    statuses: dict[str, tuple[str | None, str | None]] = {}
    for page in sagemaker.get_paginator("list_inference_recommendations_jobs").paginate(
            NameContains=scope(), CreationTimeAfter=oldest, PaginationConfig={"PageSize": 100}):
        for job in page.get("InferenceRecommendationsJobs", []):
            if job["JobName"] in wanted:
                statuses[job["JobName"]] = (job["Status"], job.get("FailureReason"))
    for job_name in wanted - set(statuses):
        try:
            job = sagemaker.describe_inference_recommendations_job(JobName=job_name)
        except ClientError as error:
            if error_code(error) not in ("ResourceNotFound", "ValidationException"):
                raise
            statuses[job_name] = (None, None)
        else:
            statuses[job_name] = (job["Status"], job.get("FailureReason"))
    return statuses


def answer(watch: Watch, verdict: Verdict) -> bool:
    """Resume or fail the run waiting on ``watch``; False when its task is gone."""
    stepfunctions = client("stepfunctions")
    try:
        if verdict.action == "resume":
            stepfunctions.send_task_success(taskToken=watch.task_token,
                                            output=json.dumps({"status": "COMPLETED"}))
        else:
            stepfunctions.send_task_failure(taskToken=watch.task_token, error=verdict.error,
                                            cause=(verdict.cause or "")[:32768])
    except ClientError as error:
        if error_code(error) in _STALE_TOKEN_ERRORS:
            return False
        raise
    return True


def forget(table: str, watch: Watch) -> None:
    """Take ``watch`` off the list, unless its run has stored a new token since it was read."""
    condition, values = ("attribute_not_exists(task_token)", None) if watch.task_token is None else (
        "task_token = :token", {":token": {"S": watch.task_token}})
    request: dict[str, Any] = {"TableName": table, "ConditionExpression": condition,
                               "Key": _key(watch.job_name)}
    if values:
        request["ExpressionAttributeValues"] = values
    try:
        client("dynamodb").delete_item(**request)
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise


def _key(job_name: str) -> dict[str, Any]:
    return {"pk": {"S": WATCH_PARTITION}, "sk": {"S": f"{scope()}#{job_name}"}}


def turn_off_if_idle(table: str, rule_name: str) -> bool:
    """Turn the schedule off while nothing is watched. Looks again after turning it off: a run that
    registered in between turned it on before or after, and is seen either way."""
    events = client("events")
    events.disable_rule(Name=rule_name)
    if watched(table):
        events.enable_rule(Name=rule_name)
        return False
    return True
