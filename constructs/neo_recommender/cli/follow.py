"""``neo-recommender status`` and ``submit --wait``: where a run is, from the results table.

A run's summary item says its status; a QUEUED run's place in line is read from the job-slots
item (``neo_runtime.job_slots``), and a RUNNING run's job status from SageMaker. Following only
reads: stopping it (Ctrl-C) never touches the run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from neo_recommender.cli import results
from neo_recommender.cli.problems import NotOk
from neo_runtime.job_slots import QUEUE_PARTITION, SLOTS_PARTITION
from neo_runtime.run_status import FINAL_STATUSES

#: How long ``--wait`` waits for the pipeline to start a run before saying something is wrong.
START_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class RunState:
    """Where a run is: its summary item (None before the pipeline has started it) and one line saying so."""

    run_id: str
    summary: dict[str, Any] | None
    line: str
    details: dict[str, Any]

    @property
    def status(self) -> str | None:
        """The run's status, or None when the pipeline has not started it yet."""
        return None if self.summary is None else str(self.summary.get("status"))

    @property
    def final(self) -> bool:
        """Whether the run has ended (COMPLETED, FAILED or TIMED_OUT)."""
        return self.status in FINAL_STATUSES


def run_state(dynamodb: Any, table: str, run_id: str, sagemaker: Any = None,
              now: datetime | None = None) -> RunState:
    """Read where ``run_id`` is. With ``sagemaker``, a RUNNING run's job status is asked of SageMaker."""
    summary = results.run_summary(dynamodb, table, run_id)
    if summary is None:
        return RunState(run_id, None, f"run {run_id}: not started yet (waiting for EventBridge to start the "
                                      "workflow)", {"run_id": run_id, "status": None})
    status = str(summary.get("status"))
    details: dict[str, Any] = {"run_id": run_id, "status": status, "model_name": summary.get("model_name"),
                               "job_name": summary.get("job_name"),
                               "model_package_arn": summary.get("model_package_arn"),
                               "created_at": summary.get("created_at"),
                               "updated_at": summary.get("updated_at")}
    parts = [f"run {run_id}", status, str(summary.get("model_name") or "")]
    if status == "QUEUED":
        if summary.get("queue_reason") == "ResourceLimitExceeded":
            parts.append("waiting for the account's Inference Recommender job quota")
        else:
            place = queue_place(dynamodb, table, run_id)
            if place is not None:
                details["queue_position"], details["queue_length"] = place
                parts.append(f"position {place[0]} of {place[1]} in the queue")
    if status == "RUNNING" and summary.get("job_name") and sagemaker is not None:
        details["job_status"] = job_status(sagemaker, str(summary["job_name"]))
        parts.append(f"job {summary['job_name']} {details['job_status']}")
    # The wall clock, as the run's created_at/updated_at are written (neo_runtime.records.now_iso).
    elapsed = _elapsed(summary, now or datetime.now(UTC))
    if elapsed is not None:
        details["elapsed_seconds"] = elapsed
        parts.append(f"{_duration(elapsed)} {'in all' if status in FINAL_STATUSES else 'elapsed'}")
    if summary.get("error"):
        details["error"] = summary["error"]
        parts.append(f"{summary['error'].get('step')}: {summary['error'].get('message')}")
    return RunState(run_id, summary, " · ".join(part for part in parts if part), details)


def queue_place(dynamodb: Any, table: str, run_id: str) -> tuple[int, int] | None:
    """The run's place in its deployment's job-slot queue (1 is next) and the queue's length; None if not in it.

    Each waiting run has an item of its own (``neo_runtime.job_slots``); a slots item written by an earlier version
    may still list waiters itself.
    """
    queues: dict[str, dict[str, dict[str, Any]]] = {}
    for item in _partition(dynamodb, table, QUEUE_PARTITION):
        waiter = results.plain(item)
        scope, _, run = str(waiter["sk"]).partition("#")  # <scope>#<run>: a scope (a name prefix) has no "#"
        queues.setdefault(scope, {})[run] = waiter
    for item in _partition(dynamodb, table, SLOTS_PARTITION):
        slots = results.plain(item)
        queue = queues.setdefault(str(slots["sk"]), {})
        for run, entry in (slots.get("waiters") or {}).items():
            queue.setdefault(run, entry)
        for holder in slots.get("holders") or {}:
            queue.pop(holder, None)
    for waiters in queues.values():
        if run_id in waiters:  # first come, first served, as neo_runtime.job_slots.decide orders them
            queue = sorted(waiters, key=lambda run: (waiters[run]["since"], run))
            return queue.index(run_id) + 1, len(queue)
    return None


def _partition(dynamodb: Any, table: str, partition: str) -> list[dict[str, Any]]:
    return [item for page in dynamodb.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": partition}},
        ConsistentRead=True) for item in page["Items"]]


def job_status(sagemaker: Any, job_name: str) -> str:
    """The Inference Recommender job's status, or why it could not be read."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        return str(sagemaker.describe_inference_recommendations_job(JobName=job_name)["Status"])
    except ClientError as error:
        return f"unknown ({error.response.get('Error', {}).get('Code')})"


def follow(read: Callable[[], RunState], out: TextIO = sys.stdout, interval: float = 15.0,
           live: bool | None = None, start_timeout: float = START_TIMEOUT_SECONDS,
           sleep: Callable[[float], None] = time.sleep) -> RunState:
    """Read the run's state every ``interval`` seconds until it ends; return its final state.

    On a terminal (``live``) the state is one line rewritten in place; otherwise a line is printed
    each time it changes. ``NotOk`` when the pipeline has not started the run after ``start_timeout``.
    """
    live = out.isatty() if live is None else live
    started = time.monotonic()
    shown = ""
    while True:
        state = read()
        if live:
            out.write(f"\r\033[K{state.line}")
        elif _without_elapsed(state.line) != _without_elapsed(shown):
            out.write(state.line + "\n")
        out.flush()
        shown = state.line
        if state.final:
            if live:
                out.write("\n")
            return state
        if state.summary is None and time.monotonic() - started > start_timeout:
            if live:
                out.write("\n")
            raise NotOk(f"the pipeline has not started run {state.run_id} after {start_timeout:.0f} s: check that "
                        "the manifest is under the stack's WatchedPrefix and that its submission rule is enabled")
        sleep(interval)


def _without_elapsed(line: str) -> str:
    return " · ".join(part for part in line.split(" · ") if not part.endswith((" elapsed", " in all")))


def _elapsed(summary: dict[str, Any], now: datetime) -> int | None:
    try:
        created = datetime.fromisoformat(str(summary["created_at"]))
        until = (datetime.fromisoformat(str(summary["updated_at"])) if summary.get("status") in FINAL_STATUSES
                 else now)
    except (KeyError, ValueError):
        return None
    return max(0, int((until - created).total_seconds()))


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
