"""At most N jobs at once, first come first served (``neo_runtime.job_slots``): the policy and its store."""

from __future__ import annotations

import json
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
from neo_runtime.records import to_attribute_values

LIMITS = SlotLimits(max_concurrent_jobs=2, holder_expiry=timedelta(hours=5), waiter_grace=timedelta(minutes=8),
                    recheck=timedelta(minutes=3))
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
    assert queued.recheck_seconds == 3 * 60 and queued.state.waiters["a"]["until"] == _at(3).isoformat()
    woken_early = decide(queued.state, "a", _at(1), LIMITS)  # woken, but the slot went to another run
    assert not woken_early.changed and woken_early.recheck_seconds == 2 * 60  # its promise stands
    due = decide(woken_early.state, "a", _at(3), LIMITS)  # the promise is due: it makes a new one
    assert due.changed and due.state.waiters["a"] == {"since": _at(0).isoformat(), "until": _at(6).isoformat()}


def test_a_waiter_rechecks_once_per_wave_ahead_of_it_and_before_its_queue_wait_ends() -> None:
    limits = SlotLimits(max_concurrent_jobs=10, holder_expiry=timedelta(hours=4),
                        waiter_grace=timedelta(hours=2, minutes=5), max_queue_wait=timedelta(hours=24))
    hour = timedelta(hours=1)
    assert job_slots.recheck_interval(1, T0, T0, limits) == hour
    assert job_slots.recheck_interval(10, T0, T0, limits) == hour  # the first wave: an hour
    assert job_slots.recheck_interval(11, T0, T0, limits) == 2 * hour
    assert job_slots.recheck_interval(500, T0, T0, limits) == 24 * hour + job_slots.MINIMUM_RECHECK  # its wait's end
    assert job_slots.recheck_interval(500, T0, _at(23 * 60), limits) == hour + job_slots.MINIMUM_RECHECK
    assert job_slots.recheck_interval(500, T0, _at(25 * 60), limits) == job_slots.MINIMUM_RECHECK  # past it
    # Position 25 of a full queue: three waves ahead, so it asks again in three hours, and keeps its
    # place all that time (an hourly expiry would have dropped it).
    state = SlotState(holders={f"h{index}": _at(0).isoformat() for index in range(10)},
                      waiters={f"w{index:02d}": {"since": _at(index / 60).isoformat(), "until": _at(600).isoformat()}
                               for index in range(24)})
    late = decide(state, "late", _at(1), limits)
    assert not late.granted and late.position == 25 and late.recheck_seconds == 3 * 3600
    still_there = decide(late.state, "other", _at(1 + 3 * 60 + 2 * 60 + 4), limits)
    assert "late" in still_there.state.waiters
    gone = decide(late.state, "other", _at(1 + 3 * 60 + 2 * 60 + 6), limits)  # silent > 2 h 5 min past its promise
    assert "late" not in gone.state.waiters


def test_slots_left_behind_by_dead_executions_are_reclaimed() -> None:
    stale = SlotState(holders={"dead": _at(-301).isoformat(), "alive": _at(-10).isoformat()},
                      waiters={"gone": {"since": _at(-60).isoformat(), "until": _at(-9).isoformat()},
                               # an entry written by an earlier version: seen, and an hourly recheck
                               "old": {"since": _at(-50).isoformat(), "seen": _at(-14).isoformat()}})
    assert job_slots.first_in_line(stale, LIMITS, _at(0)) == []  # nobody left in line: nobody to wake
    waiting = SlotState(holders=stale.holders, waiters={"next": {"since": _at(-5).isoformat(),
                                                                 "until": _at(30).isoformat()}})
    assert job_slots.first_in_line(waiting, LIMITS, _at(0)) == ["next"]  # the dead holder's slot is free
    decision = decide(stale, "new", _at(0), LIMITS)
    assert decision.granted and set(decision.state.holders) == {"alive", "new"}
    assert decision.state.waiters == {}  # the silent waiters no longer block the queue
    kept = decide(stale, "new", _at(-2), LIMITS)  # 7 minutes past "gone"'s promise, 9 past "old"'s
    assert set(kept.state.waiters) == {"gone", "new"}


def test_without_removes_holders_and_waiters() -> None:
    state = SlotState(holders={"a": "t"}, waiters={"b": {"since": "t", "until": "t"}}, version=3)
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
    limits = SlotLimits(max_concurrent_jobs=3, holder_expiry=timedelta(hours=1), waiter_grace=timedelta(hours=1))
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
    # The slots item lists the holders only; each waiting run has an item of its own.
    assert len(item["holders"]["M"]) == 3 and "waiters" not in item
    queue = {waiter["sk"]["S"].removeprefix("nr-#"): waiter["since"]["S"] for waiter in _queue_items(table)}
    assert sorted(queue) == sorted(run for run, granted in results.items() if not granted)
    holders = [run for run, granted in results.items() if granted]
    # Releasing a slot lets the earliest waiter in, and only it.
    assert job_slots.release(table, "nr-", holders[0]) and not job_slots.release(table, "nr-", holders[0])
    waiting = sorted(queue, key=lambda run: (queue[run], run))
    assert not job_slots.acquire(table, "nr-", waiting[1], limits).granted
    assert job_slots.acquire(table, "nr-", waiting[0], limits).granted


def _queue_items(table: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").query(
        TableName=table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
        ExpressionAttributeValues={":pk": {"S": job_slots.QUEUE_PARTITION}})["Items"]


def test_the_slots_item_stays_the_size_of_the_limit_however_long_the_queue(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=2, holder_expiry=timedelta(hours=1), waiter_grace=timedelta(hours=1))
    for index in range(40):
        job_slots.acquire(table, "nr-", f"run{index:02d}", limits)
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}})["Item"]
    assert len(json.dumps(item)) < 400 and len(_queue_items(table)) == 38
    # A grant takes the run off the queue; a release of a queued run too.
    assert job_slots.release(table, "nr-", "run00") and job_slots.acquire(table, "nr-", "run02", limits).granted
    assert job_slots.release(table, "nr-", "run39")
    assert sorted(w["sk"]["S"] for w in _queue_items(table)) == [f"nr-#run{index:02d}" for index in range(3, 39)]


def test_a_release_reads_its_own_queue_item_not_the_whole_queue(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=2, holder_expiry=timedelta(hours=1), waiter_grace=timedelta(hours=1))
    for index in range(40):
        job_slots.acquire(table, "nr-", f"run{index:02d}", limits)
    requests: list[str] = []
    aws.client("dynamodb").meta.events.register("before-call.dynamodb.*", lambda model, **_: requests.append(
        model.name))
    assert job_slots.release(table, "nr-", "run00")  # a holder
    assert job_slots.release(table, "nr-", "run20")  # a waiter: its own item goes, the others stay
    assert not job_slots.release(table, "nr-", "run20")
    assert "Query" not in requests and "Scan" not in requests, requests
    assert requests.count("GetItem") == 6  # the slots item and the run's own queue item, each time
    assert len(_queue_items(table)) == 37 and "nr-#run20" not in {w["sk"]["S"] for w in _queue_items(table)}
    assert job_slots.acquire(table, "nr-", "run02", limits).granted  # the slot went back: first in line gets it


def test_waiters_listed_in_the_slots_item_by_an_earlier_version_keep_their_place(table: str) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}, **to_attribute_values({
        "holders": {"h": _at(0).isoformat()}, "version": 4,
        "waiters": {"old": {"since": _at(1).isoformat(), "until": _at(30).isoformat()}}})})
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(days=30), waiter_grace=timedelta(days=30))
    decision = job_slots.acquire(table, "nr-", "new", limits)
    assert not decision.granted and decision.position == 2  # behind the waiter the old item listed
    assert job_slots.release(table, "nr-", "h")
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}})["Item"]
    assert "waiters" not in item and {w["sk"]["S"] for w in _queue_items(table)} == {"nr-#old", "nr-#new"}
    assert job_slots.acquire(table, "nr-", "old", limits).granted


def test_moving_the_listed_waiters_keeps_a_newer_item_written_meanwhile(table: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}, **to_attribute_values({
        "holders": {"h": _at(0).isoformat()}, "version": 4,
        "waiters": {"old": {"since": _at(1).isoformat(), "until": _at(30).isoformat()}}})})
    renewed = {"since": _at(1).isoformat(), "until": _at(90).isoformat()}
    original_read = job_slots._read_stored

    def read_then_the_waiter_renews(table_name: str, scope: str, **kwargs: Any) -> Any:
        stored = original_read(table_name, scope, **kwargs)
        # Between this read and its write, "old" asks again and stores its new promise in an item of its own.
        dynamodb.put_item(TableName=table, Item={**job_slots._waiter_key("nr-", "old"), **to_attribute_values(renewed)})
        return stored

    monkeypatch.setattr(job_slots, "_read_stored", read_then_the_waiter_renews)
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(days=30), waiter_grace=timedelta(days=30))
    assert not job_slots.acquire(table, "nr-", "new", limits).granted
    queue = {w["sk"]["S"]: w.get("until", {}).get("S") for w in _queue_items(table)}
    assert queue["nr-#old"] == renewed["until"] and "nr-#new" in queue  # the list's older promise did not win


def test_a_holder_left_on_the_queue_is_not_a_waiter_and_leaves_it_on_the_next_write(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(days=30), waiter_grace=timedelta(days=30))
    assert job_slots.acquire(table, "nr-", "a", limits).granted
    # "a" was granted while its waiter item stayed behind (its Lambda stopped between the two writes).
    boto3.client("dynamodb").put_item(TableName=table, Item={**job_slots._waiter_key("nr-", "a"), **to_attribute_values(
        {"since": _at(0).isoformat()})})
    queued = job_slots.acquire(table, "nr-", "b", limits)
    assert not queued.granted and queued.position == 1  # first in line, not behind the holder's stale item
    assert [w["sk"]["S"] for w in _queue_items(table)] == ["nr-#b"]


def test_a_scope_per_deployment(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(hours=1), waiter_grace=timedelta(hours=1))
    assert job_slots.acquire(table, "team-a-", "r1", limits).granted
    assert job_slots.acquire(table, "team-b-", "r2", limits).granted  # another pipeline's prefix, its own slots
    assert not job_slots.acquire(table, "team-a-", "r3", limits).granted


def test_without_a_limit_nothing_is_read_or_written(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_CONCURRENT_JOBS", raising=False)
    assert job_slots.limits_from_environment() is None
    assert job_slots.release_if_limited(table, "r1") is False
    assert boto3.client("dynamodb").scan(TableName=table)["Count"] == 0


def test_a_holder_that_keeps_asking_stays_alive_and_one_that_went_silent_expires() -> None:
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(minutes=30), waiter_grace=timedelta(minutes=9))
    state = decide(SlotState(), "a", _at(0), limits).state
    for minute in range(5, 60, 5):  # waiting for IR's quota, asking every 5 minutes
        state = decide(state, "a", _at(minute), limits).state
    assert state.holders["a"] == _at(45).isoformat()  # refreshed every third of the expiry, never lost meanwhile
    assert decide(state, "b", _at(60), limits).granted is False  # a is alive: it asked at minute 55
    silent = decide(state, "b", _at(60 + 31), limits)
    assert silent.granted and set(silent.state.holders) == {"b"}


def test_a_release_wakes_the_runs_first_in_line_in_arrival_order() -> None:
    state = SlotState()
    for minute, run in enumerate(["a", "b", "c", "d", "e"]):
        state = decide(state, run, _at(minute), LIMITS).state
    assert job_slots.first_in_line(state, LIMITS, _at(5)) == []  # both slots held: nobody to wake
    state = without(without(state, "a"), "b")
    assert job_slots.first_in_line(state, LIMITS, _at(5)) == ["c", "d"]  # two free slots, the two oldest waiters


@pytest.fixture
def limited_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MAX_CONCURRENT_JOBS": "1", "JOB_SLOT_HOLDER_EXPIRY_SECONDS": "36000",
                        "JOB_SLOT_WAITER_GRACE_SECONDS": "36000", "JOB_NAME_PREFIX": "nr-"}.items():
        monkeypatch.setenv(name, value)


def test_a_run_that_joins_while_a_slot_is_given_back_is_woken(table: str, limited_environment: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    limits = job_slots.limits_from_environment()
    assert limits is not None and job_slots.acquire(table, "nr-", "holder", limits).granted
    woken: list[str] = []
    monkeypatch.setattr(job_slots, "wake", lambda token: woken.append(token) or True)
    original_write, joined = job_slots._write, []

    def write_the_release(table_name: str, scope: str, stored: Any, state: SlotState) -> bool:
        if not joined and "holder" in stored.state.holders and not state.holders:
            # Between the release's read and its write, a run joins (the slot still looks taken to it), stores
            # its token and checks for a free slot: none yet.
            joined.append(job_slots.acquire(table, "nr-", "joiner", limits))
            job_slots.remember_wake_up(table, "nr-", "joiner", "token-of-joiner", 3600)
            assert not job_slots.should_wake_itself(table, "nr-", "joiner", limits)
        return original_write(table_name, scope, stored, state)

    monkeypatch.setattr(job_slots, "_write", write_the_release)
    assert job_slots.release_if_limited(table, "holder")
    assert not joined[0].granted and woken == ["token-of-joiner"]  # the release's wake-up sees the run that joined


def test_a_waiter_that_renews_its_promise_while_taken_off_as_expired_stays_queued(table: str) -> None:
    limits = SlotLimits(max_concurrent_jobs=1, holder_expiry=timedelta(days=30), waiter_grace=timedelta(minutes=1))
    assert job_slots.acquire(table, "nr-", "holder", limits).granted
    dynamodb = boto3.client("dynamodb")
    late = {"since": _at(0).isoformat(), "until": _at(1).isoformat()}  # long past its promise and grace
    dynamodb.put_item(TableName=table, Item={**job_slots._waiter_key("nr-", "late"), **to_attribute_values(late)})
    stored = job_slots._read_stored(table, "nr-")
    decision = decide(stored.state, "asker", datetime.now(UTC), limits)
    assert "late" not in decision.state.waiters  # the asker drops it as expired ...
    renewed = {"since": late["since"], "until": datetime.now(UTC).isoformat()}  # ... as it renews its promise
    dynamodb.put_item(TableName=table, Item={**job_slots._waiter_key("nr-", "late"), **to_attribute_values(renewed)})
    assert job_slots._write(table, "nr-", stored, decision.state)
    runs = {w["sk"]["S"]: w["until"]["S"] for w in _queue_items(table)}
    assert runs == {"nr-#late": renewed["until"], "nr-#asker": decision.state.waiters["asker"]["until"]}


def test_a_request_that_loses_the_race_for_the_holders_writes_nothing(table: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    limits = SlotLimits(max_concurrent_jobs=2, holder_expiry=timedelta(hours=1), waiter_grace=timedelta(days=30))
    dynamodb = boto3.client("dynamodb")
    now = datetime.now(UTC)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}, **to_attribute_values({
        "holders": {"gone": (now - timedelta(hours=2)).isoformat(), "busy": now.isoformat()}, "version": 1})})
    dynamodb.put_item(TableName=table, Item={**job_slots._waiter_key("nr-", "first"), **to_attribute_values(
        {"since": (now - timedelta(minutes=5)).isoformat()})})
    original_read, reads = job_slots._read_stored, []

    def read_then_lose_the_race(table_name: str, scope: str, **kwargs: Any) -> Any:
        stored = original_read(table_name, scope, **kwargs)
        if not reads:  # another request writes the holders between this read and its write
            dynamodb.update_item(TableName=table, Key={"pk": {"S": "JOB_SLOTS"}, "sk": {"S": "nr-"}},
                                 UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": {"N": "2"}})
        reads.append(stored)
        return stored

    monkeypatch.setattr(job_slots, "_read_stored", read_then_lose_the_race)
    decision = job_slots.acquire(table, "nr-", "second", limits)  # drops the expired holder: a holders write
    assert len(reads) == 2 and not decision.granted and decision.position == 2
    assert decision.queued_now  # the lost attempt left no queue item that would make the retry look like a repeat
