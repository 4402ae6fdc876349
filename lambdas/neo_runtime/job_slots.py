"""At most N Inference Recommender jobs at once: a first-come, first-served queue in DynamoDB.

A run that wants to start its job asks for a slot. It gets one when fewer than N runs hold a slot
and no run that asked earlier is still waiting; otherwise it joins (or stays in) the queue and its
execution waits, at no cost, on a task token (``remember_wake_up``). A run gives its slot back when
its job has ended (results published or the run failed), and wakes the runs now first in line
(``wake_next``), which ask again; the shared poller does the same on each pass, so a wake-up lost
while jobs run costs at most a poll interval.

A waiter also asks again on its own, so a lost wake-up delays a run, never strands it. How soon
depends on its place: ``JOB_SLOT_RECHECK_SECONDS`` for each wave of N runs ahead of it
(``recheck_interval``), never later than its ``max_queue_wait`` ends. A run far back in a long
queue would only find the queue still full, and each recheck costs state transitions: with an hourly
recheck for everyone, a queue of 1,000 runs cost three times as much per run as one of 10.

The holders are one item, ``{holders: {run: acquired_at}, version}``, written with an optimistic-lock
condition on ``version``, so concurrent requests never hand out more than N slots. Each waiting run is
an item of its own in the ``JOB_SLOT_QUEUE`` partition, ``{since, until}`` (``until``: when the waiter
promised to ask again at the latest), read with the holders by every request that may hand out a slot (a
check for a free slot or a wake-up reads the queue only when a slot is free; a release reads only its
own run's item). (The waiters used to be a map in the holders' item: every write of it then billed a
write unit per KB of the whole queue, about 135 bytes a waiting run, and DynamoDB's 400 KB item limit
capped the queue at about 3,000 runs; an item written that way is still read, and its waiters move to
items of their own on its next write, unless a run already has one.) Joining the queue or making a new
promise writes only the run's own item (after the holders' item, when both change: a request that loses
the race for the holders writes nothing). A run that joined while a slot was being given back finds it
free when it checks after storing its token (``should_wake_itself``), or is woken by the release, which
reads the queue again after its write. A waiter's item is deleted only as it was read, so a promise
renewed meanwhile keeps the run queued. Nothing is lost when an execution dies without giving its slot
back: a holder older than the longest a run can live, and a waiter ``waiter_grace`` past its promise,
are dropped.

``decide`` is the whole policy, as a pure function; ``acquire`` and ``release`` apply it to the table.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from neo_runtime import environment_names as names
from neo_runtime.aws import client, error_code
from neo_runtime.records import from_attribute_values, now_iso, to_attribute_values

SLOTS_PARTITION = "JOB_SLOTS"
#: One item per waiting run, ``sk = <scope>#<run>`` and its entry (``since``, ``until``): the slots item lists
#: only the holders, so its size (and what each write of it costs) stays within the limit's, however long the queue.
QUEUE_PARTITION = "JOB_SLOT_QUEUE"
#: What a waiter's item keeps of its entry.
_WAITER_FIELDS = ("since", "until", "seen")
#: Items holding each waiting run's task token, ``sk = <scope>#<run>``.
WAKE_UP_PARTITION = "JOB_SLOT_WAKE_UP"
#: Step Functions' answers to a token whose task is gone (woken already, timed out, execution ended).
_STALE_TOKEN_ERRORS = ("TaskDoesNotExist", "TaskTimedOut", "InvalidToken")
_WRITE_ATTEMPTS = 6
#: The shortest wait before a queued run asks again on its own.
MINIMUM_RECHECK = timedelta(minutes=1)
T = TypeVar("T")


@dataclass(frozen=True)
class SlotLimits:
    """The deployment's limit, how long a holder or a silent waiter is trusted, and how often waiters ask."""

    max_concurrent_jobs: int
    holder_expiry: timedelta
    #: How long past its promised recheck a silent waiter keeps its place.
    waiter_grace: timedelta
    #: A waiter's recheck interval per wave of ``max_concurrent_jobs`` runs ahead of it.
    recheck: timedelta = timedelta(hours=1)
    #: A run still waiting this long after it joined the queue times out (None: never).
    max_queue_wait: timedelta | None = None


@dataclass(frozen=True)
class SlotState:
    """Who holds a slot and who waits for one (run id to ISO times)."""

    holders: dict[str, str] = field(default_factory=dict)
    waiters: dict[str, dict[str, str]] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class SlotDecision:
    """The outcome of one request: the new state, whether it changed, and where the run stands."""

    state: SlotState
    granted: bool
    changed: bool
    position: int  # 0 when granted; else 1 for the first in the queue
    waiting: int
    running: int
    waiting_since: str | None
    #: This request put the run in the queue (its first request that found every slot taken).
    queued_now: bool = False
    #: A queued run asks again within this many seconds unless a released slot wakes it first.
    recheck_seconds: int = 0


def limits_from_environment() -> SlotLimits | None:
    """The deployment's limits, or None when it sets no limit (``MAX_CONCURRENT_JOBS`` unset or 0)."""
    maximum = int(os.environ.get(names.MAX_CONCURRENT_JOBS) or 0)
    if maximum <= 0:
        return None
    queue_wait = int(os.environ.get(names.MAX_QUEUE_WAIT_SECONDS) or 0)
    return SlotLimits(max_concurrent_jobs=maximum,
                      holder_expiry=timedelta(seconds=int(os.environ[names.JOB_SLOT_HOLDER_EXPIRY_SECONDS])),
                      waiter_grace=timedelta(seconds=int(os.environ[names.JOB_SLOT_WAITER_GRACE_SECONDS])),
                      recheck=timedelta(seconds=int(os.environ.get(names.JOB_SLOT_RECHECK_SECONDS) or 3600)),
                      max_queue_wait=timedelta(seconds=queue_wait) if queue_wait else None)


def scope_of_deployment() -> str:
    """The slots item of this deployment: its SageMaker name prefix, the scope of its IAM policies."""
    return os.environ.get("JOB_NAME_PREFIX", "")


def release_if_limited(table: str, run_id: str) -> bool:
    """Give back ``run_id``'s slot when the deployment limits concurrent jobs, and wake the next in line.

    Returns False when there is no limit, or the run held no slot and no place in the queue.
    """
    limits = limits_from_environment()
    if limits is None:
        return False
    released = release(table, scope_of_deployment(), run_id)
    # Read again after the release: a run that joined the queue while it was being written (joining is not
    # version-checked) saw the slot still taken, and only a read from now on sees the run.
    wake_next(table, scope_of_deployment(), limits)
    return released


def wake_next_if_limited(table: str) -> list[str]:
    """``wake_next`` when the deployment limits concurrent jobs (the shared poller's pass); returns the runs woken."""
    limits = limits_from_environment()
    return [] if limits is None else wake_next(table, scope_of_deployment(), limits)


def waiting_runs_if_limited(table: str) -> int | None:
    """How many runs wait for a job slot now (None without a limit): the whole queue is read, and a waiter silent past
    its grace is not counted, as ``decide`` drops it (the shared poller's count on each pass)."""
    limits = limits_from_environment()
    if limits is None:
        return None
    _, waiters = _live(_read_stored(table, scope_of_deployment()).state, _now(), limits)
    return len(waiters)


def first_in_line(state: SlotState, limits: SlotLimits, now: datetime) -> list[str]:
    """The waiting runs that would get a slot if they asked now, oldest first (expired entries left out)."""
    holders, waiters = _live(state, now, limits)
    free = limits.max_concurrent_jobs - len(holders)
    return _in_arrival_order(waiters)[:max(free, 0)]


def recheck_interval(position: int, since: datetime, now: datetime, limits: SlotLimits) -> timedelta:
    """How long a run at ``position`` in the queue waits before asking again, unless woken first.

    One ``recheck`` per wave of ``max_concurrent_jobs`` runs ahead of it (the first wave: one
    recheck), and never past the end of its ``max_queue_wait`` (it then asks once more, and times
    out); at least ``MINIMUM_RECHECK``.
    """
    interval = limits.recheck * math.ceil(position / limits.max_concurrent_jobs)
    if limits.max_queue_wait is not None:
        interval = min(interval, max(since + limits.max_queue_wait - now, timedelta(0)) + MINIMUM_RECHECK)
    return max(interval, MINIMUM_RECHECK)


def remember_wake_up(table: str, scope: str, run_id: str, task_token: str, keep_seconds: int) -> None:
    """Store the token that resumes ``run_id``'s waiting execution (replacing an earlier one)."""
    client("dynamodb").put_item(TableName=table, Item={
        "pk": {"S": WAKE_UP_PARTITION}, "sk": {"S": f"{scope}#{run_id}"}, "task_token": {"S": task_token},
        "expires_at": {"N": str(int(time.time()) + keep_seconds)}})


def should_wake_itself(table: str, scope: str, run_id: str, limits: SlotLimits) -> bool:
    """After storing its token: is a slot free for ``run_id`` already (a release came in between)?

    Also true when the run is no longer queued at all (its place expired), so it asks again and rejoins.
    The queue is read only when a slot is free.
    """
    slots = _slots_item(table, scope)
    holders, now = dict(slots.get("holders") or {}), _now()
    if run_id in holders:
        return True
    if run_id not in (slots.get("waiters") or {}) and not client("dynamodb").get_item(
            TableName=table, Key=_waiter_key(scope, run_id), ConsistentRead=True).get("Item"):
        return True
    if not _a_slot_is_free(holders, limits, now):
        return False
    return run_id in first_in_line(_read_stored(table, scope, slots).state, limits, now)


def wake_next(table: str, scope: str, limits: SlotLimits) -> list[str]:
    """Resume the waiting executions first in line, so they ask for the free slots; returns their runs.

    The queue is read only when a slot is free. A run whose token is stale (woken already, or its
    execution ended) is skipped: a live one asks again on its own, and a dead one's place is given back
    when its execution's end is recorded.
    """
    slots = _slots_item(table, scope)
    if not _a_slot_is_free(dict(slots.get("holders") or {}), limits, _now()):
        return []
    woken = []
    for run_id in first_in_line(_read_stored(table, scope, slots).state, limits, _now()):
        item = client("dynamodb").get_item(
            TableName=table, Key={"pk": {"S": WAKE_UP_PARTITION}, "sk": {"S": f"{scope}#{run_id}"}},
            ConsistentRead=True).get("Item")
        if item and wake(item["task_token"]["S"]):
            woken.append(run_id)
    return woken


def _a_slot_is_free(holders: dict[str, str], limits: SlotLimits, now: datetime) -> bool:
    """Fewer live holders than the limit (expired holders do not count, as in ``decide``)."""
    live, _ = _live(SlotState(holders=holders), now, limits)
    return len(live) < limits.max_concurrent_jobs


def wake(task_token: str) -> bool:
    """Resume the execution waiting on ``task_token``; False when its task is gone."""
    try:
        client("stepfunctions").send_task_success(taskToken=task_token, output='{"woken":true}')
    except ClientError as error:
        if error_code(error) in _STALE_TOKEN_ERRORS:
            return False
        raise
    return True


def decide(state: SlotState, run_id: str, now: datetime, limits: SlotLimits) -> SlotDecision:
    """Grant ``run_id`` a slot, or queue it, first come first served (a pure function of its inputs)."""
    now_text = now.isoformat()
    holders, waiters = _live(state, now, limits, keep=run_id)
    changed = holders != state.holders or set(waiters) != set(state.waiters)
    if run_id in holders:  # a repeated request of a run that holds its slot (a retry, or a quota wait)
        if now - datetime.fromisoformat(holders[run_id]) > min(limits.recheck, limits.holder_expiry / 3):
            holders[run_id] = now_text  # still alive: the expiry counts from its last request (now and then)
            changed = True
        return SlotDecision(replace(state, holders=holders, waiters=waiters), True, changed, 0,
                            len(waiters), len(holders), None)
    entry = waiters.get(run_id)
    queued_now = entry is None
    if entry is None:
        entry = waiters[run_id] = {"since": now_text}
        changed = True
    position = _in_arrival_order(waiters).index(run_id) + 1
    free = limits.max_concurrent_jobs - len(holders)
    if position <= free:
        since = waiters.pop(run_id)["since"]
        holders[run_id] = now_text
        return SlotDecision(replace(state, holders=holders, waiters=waiters), True, True, 0,
                            len(waiters), len(holders), since)
    promised = None if queued_now else _promised_recheck(entry, limits)
    if promised is None or promised - now < MINIMUM_RECHECK:  # its promise is due: it makes a new one
        interval = recheck_interval(position, datetime.fromisoformat(entry["since"]), now, limits)
        waiters[run_id] = entry = {"since": entry["since"], "until": (now + interval).isoformat()}
        promised, changed = now + interval, True
    return SlotDecision(replace(state, holders=holders, waiters=waiters), False, changed, position,
                        len(waiters), len(holders), entry["since"], queued_now=queued_now,
                        recheck_seconds=math.ceil((promised - now).total_seconds()))


def _in_arrival_order(waiters: dict[str, dict[str, str]]) -> list[str]:
    """The waiting runs, first come first (ties by run id)."""
    return sorted(waiters, key=lambda run: (waiters[run]["since"], run))


def _live(state: SlotState, now: datetime, limits: SlotLimits,
          keep: str | None = None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Copies of the holders and waiters still trusted at ``now`` (``keep`` stays: it is asking now)."""
    holders = {run: at for run, at in state.holders.items()
               if now - datetime.fromisoformat(at) <= limits.holder_expiry}
    waiters = {}
    for run, entry in state.waiters.items():
        if run == keep or now - _promised_recheck(entry, limits) <= limits.waiter_grace:
            waiters[run] = dict(entry)
    return holders, waiters


def _promised_recheck(entry: dict[str, str], limits: SlotLimits) -> datetime:
    """When a waiter said it would ask again at the latest.

    An entry written before waiters made promises has ``seen`` (its last request) and rechecked hourly.
    """
    if "until" in entry:
        return datetime.fromisoformat(entry["until"])
    return datetime.fromisoformat(entry.get("seen") or entry["since"]) + limits.recheck


def without(state: SlotState, run_id: str) -> SlotState:
    """The state once ``run_id`` gives back its slot or leaves the queue."""
    return replace(state, holders={run: at for run, at in state.holders.items() if run != run_id},
                   waiters={run: entry for run, entry in state.waiters.items() if run != run_id})


def acquire(table: str, scope: str, run_id: str, limits: SlotLimits) -> SlotDecision:
    """Apply ``decide`` to the slots item of ``scope``; retries when another run wrote in between."""
    def change(state: SlotState) -> tuple[SlotState | None, SlotDecision]:
        decision = decide(state, run_id, _now(), limits)
        return (decision.state if decision.changed else None), decision

    return _update(table, scope, change)


def release(table: str, scope: str, run_id: str) -> bool:
    """Give back ``run_id``'s slot (or its place in the queue); False when it had neither.

    Reads the holders and the run's own waiter item, not the whole queue: the release changes nothing else
    (the caller's ``wake_next`` reads the queue when it has a slot to hand out). Another holder's stale queue
    item, which a whole-queue read would also delete, is left to the next request that reads the queue and
    writes; it is never taken for a waiter meanwhile (``_read_stored`` leaves holders out of the waiters).
    """
    def change(state: SlotState) -> tuple[SlotState | None, bool]:
        held = run_id in state.holders or run_id in state.waiters
        return (without(state, run_id) if held else None), held

    return _update(table, scope, change, only_run=run_id)


def _update(table: str, scope: str, change: Callable[[SlotState], tuple[SlotState | None, T]],
            only_run: str | None = None) -> T:
    """Read, ``change`` (new state or None to write nothing, and a result), write if no grant or release came
    in between (the slots item's version). With ``only_run``, the queue as read is that run's item alone (a
    ``change`` that touches no other waiter)."""
    for attempt in range(_WRITE_ATTEMPTS):
        stored = _read_stored(table, scope, only_run=only_run)
        new_state, result = change(stored.state)
        if new_state is None or _write(table, scope, stored, new_state):
            return result
        _pause(attempt)
    raise SlotContention(f"the job-slot record of {scope!r} changed {_WRITE_ATTEMPTS} times while being updated")


class SlotContention(Exception):
    """Too many concurrent writers; the step's retry tries again later."""


def _key(scope: str) -> dict[str, Any]:
    return {"pk": {"S": SLOTS_PARTITION}, "sk": {"S": scope}}


def _waiter_key(scope: str, run_id: str) -> dict[str, Any]:
    return {"pk": {"S": QUEUE_PARTITION}, "sk": {"S": f"{scope}#{run_id}"}}


@dataclass(frozen=True)
class _Stored:
    """The state as read, and how it is stored: each waiter's own item, and whether the slots item still lists
    waiters (written before waiters had items of their own)."""

    state: SlotState
    queued: dict[str, dict[str, str]]
    waiters_in_slots_item: bool


def _slots_item(table: str, scope: str) -> dict[str, Any]:
    """The holders' item as plain values (empty when there is none yet)."""
    item = client("dynamodb").get_item(TableName=table, Key=_key(scope), ConsistentRead=True).get("Item")
    return from_attribute_values(item) if item else {}


def _read_stored(table: str, scope: str, slots_item: dict[str, Any] | None = None,
                 only_run: str | None = None) -> _Stored:
    """The holders' item (``slots_item`` when the caller has just read it) and the queue: every waiter's item, or
    with ``only_run`` that run's item alone (the whole queue while the slots item still lists waiters: the next
    write moves them to items of their own, and only those without a newer item of their own as read)."""
    values = _slots_item(table, scope) if slots_item is None else slots_item
    holders = dict(values.get("holders") or {})
    queued = {}
    if only_run is not None and not values.get("waiters"):
        item = client("dynamodb").get_item(TableName=table, Key=_waiter_key(scope, only_run),
                                           ConsistentRead=True).get("Item")
        waiter_items = [item] if item else []
    else:
        waiter_items = [waiter for page in client("dynamodb").get_paginator("query").paginate(
            TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :queue AND begins_with(sk, :scope)",
            ExpressionAttributeValues={":queue": {"S": QUEUE_PARTITION}, ":scope": {"S": f"{scope}#"}})
            for waiter in page["Items"]]
    for waiter in waiter_items:
        queued[waiter["sk"]["S"][len(scope) + 1:]] = {name: waiter[name]["S"] for name in _WAITER_FIELDS
                                                      if name in waiter}
    # A run granted a slot whose waiter item was not yet deleted (its Lambda stopped in between) is a holder only.
    waiters = {run: entry for run, entry in {**(values.get("waiters") or {}), **queued}.items() if run not in holders}
    return _Stored(SlotState(holders=holders, waiters=waiters, version=int(values.get("version", 0))), queued,
                   bool(values.get("waiters")))


def _write(table: str, scope: str, stored: _Stored, state: SlotState) -> bool:
    """Store ``state``: the holders first (only if no other request changed them since ``stored`` was read;
    else nothing is written and the caller tries again), then the waiters that joined or made a new promise,
    then take the runs no longer waiting off the queue. Waiters that the slots item still lists go to items
    of their own before it is rewritten without them, each only if the run has no item yet (one written since
    the list was read is newer than the list)."""
    dynamodb = client("dynamodb")
    changed_waiters = {run_id: entry for run_id, entry in state.waiters.items() if stored.queued.get(run_id) != entry}
    if stored.waiters_in_slots_item:
        listed = {run_id: entry for run_id, entry in changed_waiters.items()
                  if run_id not in stored.queued and stored.state.waiters.get(run_id) == entry}  # as the list says
        _put_waiters(table, scope, listed, only_new=True)
        changed_waiters = {run_id: entry for run_id, entry in changed_waiters.items() if run_id not in listed}
    if state.holders != stored.state.holders or stored.waiters_in_slots_item:
        item = to_attribute_values({"entity": "job_slots", "holders": state.holders,
                                    "version": stored.state.version + 1, "updated_at": now_iso()})
        try:
            dynamodb.put_item(
                TableName=table, Item={**_key(scope), **item},
                ConditionExpression="attribute_not_exists(pk) OR version = :read",
                ExpressionAttributeValues={":read": {"N": str(stored.state.version)}})
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
    _put_waiters(table, scope, changed_waiters)
    for run_id in stored.queued.keys() - state.waiters.keys():
        _take_off_queue(table, scope, run_id, stored.queued[run_id])
    return True


def _put_waiters(table: str, scope: str, waiters: dict[str, dict[str, str]], only_new: bool = False) -> None:
    """Put each waiter's item; with ``only_new``, only where the run has none (moving the waiters an old slots item
    lists: an item of the run's own is newer than the list, even one written since the list was read)."""
    condition = {"ConditionExpression": "attribute_not_exists(pk)"} if only_new else {}
    for run_id, entry in waiters.items():
        try:
            client("dynamodb").put_item(TableName=table, Item={**_waiter_key(scope, run_id),
                                                               **to_attribute_values(entry)}, **condition)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":  # only_new: the run has an item already
                raise


def _take_off_queue(table: str, scope: str, run_id: str, entry: dict[str, str]) -> None:
    """Delete a waiter's item as it was read: if the run made a new promise meanwhile, it stays queued."""
    names = {f"#{name}": name for name in _WAITER_FIELDS}
    condition = " AND ".join(f"#{name} = :{name}" if name in entry else f"attribute_not_exists(#{name})"
                             for name in _WAITER_FIELDS)
    values = {f":{name}": {"S": entry[name]} for name in _WAITER_FIELDS if name in entry}
    try:
        client("dynamodb").delete_item(TableName=table, Key=_waiter_key(scope, run_id), ConditionExpression=condition,
                                       ExpressionAttributeNames=names,
                                       **({"ExpressionAttributeValues": values} if values else {}))
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise


def _now() -> datetime:
    return datetime.fromisoformat(now_iso())


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.05 * 2 ** attempt))  # full jitter
