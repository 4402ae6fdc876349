"""Step 3b: a queued run leaves its task token and waits, at no cost, until a released slot wakes it."""

from __future__ import annotations

import os
from typing import Any

from neo_runtime import environment_names as names
from neo_runtime import job_slots, run_store
from neo_runtime.aws import retried_when_transient
from neo_runtime.log import RunLogger


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Event: ``{"run_id", "task_token"}`` (a ``.waitForTaskToken`` task). Returns ``{"woke_itself"}``.

    The execution stays in this state until ``job_slots.wake_next`` sends the token back, or the
    task's timeout sends it to ask again. If a slot came free between the run being queued and its
    token being stored, the run wakes itself at once.
    """
    run_id = event["run_id"]
    limits = job_slots.limits_from_environment()
    if limits is None:  # no limit configured: nothing to wait for
        job_slots.wake(event["task_token"])
        return {"woke_itself": True}
    table, scope = run_store.table_name(), job_slots.scope_of_deployment()
    keep = int(os.environ.get(names.MAX_QUEUE_WAIT_SECONDS) or 86400) + 86400
    job_slots.remember_wake_up(table, scope, run_id, event["task_token"], keep)
    woke_itself = job_slots.should_wake_itself(table, scope, run_id, limits) and job_slots.wake(event["task_token"])
    RunLogger("AwaitJobSlot", run_id=run_id).info("waiting for a job slot", woke_itself=woke_itself)
    return {"woke_itself": woke_itself}
