"""At most N jobs at once, first come first served (``neo_runtime.job_slots``): the policy and its store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from neo_runtime import aws, job_slots
from neo_runtime.job_slots import SlotLimits, SlotState, decide, without

LIMITS = SlotLimits(max_concurrent_jobs=2, holder_expiry=timedelta(hours=5), waiter_expiry=timedelta(minutes=8))
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_slots_are_granted_up_to_the_limit_then_runs_queue_in_arrival_order() -> None:
    state = SlotState()
    granted = []
    for minute, run in enumerate(["a", "b", "c", "d"]):
        decision = decide(state, run, _at(minute), LIMITS)
        state = decision.state
        granted.append(decision.granted)
    assert granted == [True, True, False, False]
    assert set(state.holders) == {"a", "b"} and list(state.waiters) == ["c", "d"]
    # d asks before c, but c came first: d still waits, at position 2.
    d_again = decide(state, "d", _at(5), LIMITS)
    assert not d_again.granted and d_again.position == 2 and d_again.waiting == 2 and d_again.running == 2
    state = without(d_again.state, "a")  # a's job ended
    d_after_release = decide(state, "d", _at(6), LIMITS)
    assert not d_after_release.granted and d_after_release.position == 2  # c is first in line
    c = decide(d_after_release.state, "c", _at(6.5), LIMITS)
    assert c.granted and c.waiting_since == _at(2).isoformat() and set(c.state.holders) == {"b", "c"}


def test_a_repeated_request_is_idempotent_and_writes_nothing() -> None:
    first = decide(SlotState(), "a", _at(0), LIMITS)
    again = decide(first.state, "a", _at(1), LIMITS)
    assert again.granted and not again.changed and again.state.holders == first.state.holders
    queued = decide(SlotState(holders={"x": _at(0).isoformat(), "y": _at(0).isoformat()}), "a", _at(0), LIMITS)
    assert queued.changed  # joined the queue
    asked_again = decide(queued.state, "a", _at(1), LIMITS)
    assert not asked_again.changed  # "seen" is refreshed now and then, not on every poll
    much_later = decide(asked_again.state, "a", _at(4), LIMITS)
    assert much_later.changed and much_later.state.waiters["a"]["seen"] == _at(4).isoformat()


def test_slots_left_behind_by_dead_executions_are_reclaimed() -> None:
    stale = SlotState(holders={"dead": _at(-301).isoformat(), "alive": _at(-10).isoformat()},
                      waiters={"gone": {"since": _at(-60).isoformat(), "seen": _at(-30).isoformat()}})
    decision = decide(stale, "new", _at(0), LIMITS)
    assert decision.granted and set(decision.state.holders) == {"alive", "new"}
    assert decision.state.waiters == {}  # the silent waiter no longer blocks the queue


def test_without_removes_holders_and_waiters() -> None:
    state = SlotState(holders={"a": "t"}, waiters={"b": {"since": "t", "seen": "t"}}, version=3)
    assert without(without(state, "a"), "b") == SlotState(version=3)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # DynamoDB checks a write's condition and applies the write atomically; moto's in-memory backend does
    # not, so two threads can both pass the same version check. Serialize its writes as DynamoDB does.
    atomic = threading.Lock()
    original_put = DynamoDBBackend.put_item

    def put_item(*args: Any, **kwargs: Any) -> Any:
        with atomic:
            return original_put(*args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)
    with mock_aws():
        aws.reset_clients()
        boto3.client("dynamodb").create_table(
            TableName="runs", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        yield "runs"
        aws.reset_clients()


def test_concurrent_requests_never_hand_out_more_slots_than_the_limit(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=3, holder_expiry=timedelta(hours=1), waiter_expiry=timedelta(hours=1))
    results: dict[str, bool] = {}

    def ask(run: str) -> None:
        results[run] = job_slots.acquire(table, "nr-", run, limits).granted

    threads = [threading.Thread(target=ask, args=(f"run{index:02d}",)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results.values()) == 3
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}},
                                             ConsistentRead=True)["Item"]
    assert len(item["holders"]["M"]) == 3 and len(item["waiters"]["M"]) == 9
    holders = [run for run, granted in results.items() if granted]
    # Releasing a slot lets the earliest waiter in, and only it.
    assert job_slots.release(table, "nr-", holders[0]) and not job_slots.release(table, "nr-", holders[0])
    waiting = sorted((run for run, granted in results.items() if not granted),
                     key=lambda run: (item["waiters"]["M"][run]["M"]["since"]["S"], run))
    assert not job_slots.acquire(table, "nr-", waiting[1], limits).granted
    assert job_slots.acquire(table, "nr-", waiting[0], limits).granted


def test_a_scope_per_deployment(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(hours=1), waiter_expiry=timedelta(hours=1))
    assert job_slots.acquire(table, "team-a-", "r1", limits).granted
    assert job_slots.acquire(table, "team-b-", "r2", limits).granted  # another pipeline's prefix, its own slots
    assert not job_slots.acquire(table, "team-a-", "r3", limits).granted


def test_without_a_limit_nothing_is_read_or_written(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_CONCURRENT_JOBS", raising=False)
    assert job_slots.limits_from_environment() is None
    assert job_slots.release_if_limited(table, "r1") is False
    assert boto3.client("dynamodb").scan(TableName=table)["Count"] == 0


def test_a_holder_that_keeps_asking_stays_alive_and_one_that_went_silent_expires() -> None:
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(minutes=30), waiter_expiry=timedelta(minutes=9))
    state = decide(SlotState(), "a", _at(0), limits).state
    for minute in range(5, 60, 5):  # waiting for IR's quota, asking every 5 minutes
        state = decide(state, "a", _at(minute), limits).state
    assert decide(state, "b", _at(60), limits).granted is False  # a is alive: it asked at minute 55
    silent = decide(state, "b", _at(60 + 31), limits)
    assert silent.granted and set(silent.state.holders) == {"b"}


def test_a_release_wakes_the_runs_first_in_line_in_arrival_order() -> None:
    state = SlotState()
    for minute, run in enumerate(["a", "b", "c", "d", "e"]):
        state = decide(state, run, _at(minute), LIMITS).state
    assert job_slots.first_in_line(state, LIMITS) == []  # both slots held: nobody to wake
    state = without(without(state, "a"), "b")
    assert job_slots.first_in_line(state, LIMITS) == ["c", "d"]  # two free slots, the two oldest waiters
