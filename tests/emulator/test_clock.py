"""The simulated clock skips idle time only when nothing works, and wakes every waiter at its deadline, in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from neo_recommender.emulator.clock import SimulatedClock

START = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[SimulatedClock]:
    """Real speed (1 simulated second per real second): only skipping can make an hour pass quickly."""
    skipping = SimulatedClock(speedup=1.0, start=START, skip_idle=True)
    skipping.start_keeper()
    yield skipping
    skipping.stop_keeper()


def test_an_hour_nobody_works_through_is_skipped(clock: SimulatedClock) -> None:
    started = time.monotonic()
    clock.sleep(3600)
    assert time.monotonic() - started < 2
    assert (clock.now() - START).total_seconds() >= 3600
    assert clock.skips >= 1 and clock.skipped_seconds >= 3590


def test_no_time_is_skipped_while_work_is_in_flight(clock: SimulatedClock) -> None:
    with clock.busy():
        woke = clock.wait(threading.Event(), 3600, real_limit=0.3)
    assert not woke and clock.skips == 0 and (clock.now() - START).total_seconds() < 5


def test_waiters_wake_at_their_deadlines_in_order(clock: SimulatedClock) -> None:
    woke: list[tuple[int, float]] = []

    def sleeper(seconds: int) -> None:
        clock.sleep(seconds)
        woke.append((seconds, (clock.now() - START).total_seconds()))

    threads = [threading.Thread(target=sleeper, args=(seconds,)) for seconds in (900, 300, 600)]
    with clock.busy():  # as the emulator starts work: inside the call that sets it off
        for thread in threads:
            thread.start()
        while len(clock._deadlines) < 3:
            time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    assert [seconds for seconds, _ in woke] == [300, 600, 900]
    assert all(seconds <= at < seconds + 5 for seconds, at in woke)  # no deadline passed by a skip


def test_an_event_wakes_a_waiter_before_its_deadline(clock: SimulatedClock) -> None:
    event = threading.Event()
    with clock.busy():  # nothing skips: only the event can end the wait early
        threading.Timer(0.05, event.set).start()
        assert clock.wait(event, 3600) is True
    pulsed = threading.Event()

    def pulse() -> None:  # how moto stops a Wait state: set, then clear at once
        pulsed.set()
        pulsed.clear()

    with clock.busy():
        threading.Timer(0.05, pulse).start()
        assert clock.wait(pulsed, 3600, real_limit=2) is True


def test_without_skip_idle_time_only_runs_at_its_speed() -> None:
    steady = SimulatedClock(speedup=1.0, start=START)
    steady.start_keeper()  # does nothing without skip_idle
    assert steady.wait(threading.Event(), 3600, real_limit=0.2) is False
    assert (steady.now() - START).total_seconds() < 5 and steady.skips == 0


def test_an_execution_past_its_state_machine_timeout_times_out_in_simulated_time() -> None:
    """Step Functions ends an execution that runs longer than the state machine's ``TimeoutSeconds`` with
    ``States.Timeout``, status TIMED_OUT (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html).
    moto joins the execution's thread for that long in real seconds; the emulator's clock makes it simulated."""
    import json

    from neo_recommender.emulator import EmbeddedAws

    definition = {"StartAt": "Wait", "TimeoutSeconds": 3600,
                  "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": True}}}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "states.amazonaws.com"}}]}
    with EmbeddedAws(speedup=50, skip_idle=True) as aws:
        role = aws.client("iam").create_role(RoleName="machine", AssumeRolePolicyDocument=json.dumps(trust))
        stepfunctions = aws.client("stepfunctions")
        machine = stepfunctions.create_state_machine(name="waits-a-day", definition=json.dumps(definition),
                                                     roleArn=role["Role"]["Arn"])["stateMachineArn"]
        started = aws.clock.now()
        stepfunctions.start_execution(stateMachineArn=machine)
        (execution,) = aws.wait_for_executions(machine, timeout_seconds=30)
        assert execution["status"] == "TIMED_OUT"
        assert 3600 <= (aws.clock.now() - started).total_seconds() < 86400


def test_a_waiter_whose_event_came_holds_the_clock_until_it_resumes(clock: SimulatedClock) -> None:
    """Thread A sets the event thread B waits on, then stops working before B resumes (a busy machine can
    leave B unscheduled for milliseconds). Nothing is busy then, yet B is about to work: no skip."""
    import heapq

    from neo_recommender.emulator.clock import _Waiter

    event = threading.Event()
    event.set()  # came, but its waiter has not run since
    waiter = _Waiter(clock._elapsed() + 3600, event)
    with clock._lock:
        heapq.heappush(clock._deadlines, (waiter.deadline, next(clock._sequence), waiter))
    time.sleep(0.2)
    assert clock.skips == 0 and (clock.now() - START).total_seconds() < 60
    waiter.active = False


def test_a_waiter_woken_by_a_pulse_holds_the_clock_until_it_resumes(clock: SimulatedClock) -> None:
    """moto ends an execution by pulsing its program-state event (set, then cleared at once): a Wait state woken
    by it has not resumed yet when the flag is already clear. Were it taken for asleep, the idle clock would skip
    to its own deadline (a day, for a Wait of a day in an execution timed out after an hour): no skip."""
    import heapq

    from neo_recommender.emulator.clock import PulsedEvent, _Waiter

    event = PulsedEvent()
    waiter = _Waiter(clock._elapsed() + 86400, event)
    with clock._lock:
        heapq.heappush(clock._deadlines, (waiter.deadline, next(clock._sequence), waiter))
    event.set()
    event.clear()  # pulsed: the waiter has not run since
    time.sleep(0.2)
    assert clock.skips == 0 and (clock.now() - START).total_seconds() < 60
    waiter.active = False


def test_the_look_that_skips_wakes_the_waiter_it_skipped_to() -> None:
    """One look of the keeper, nothing working: it jumps to the earliest deadline and wakes that waiter at once
    (not at its next look, 2 ms later, after every skip: a poll pass's 10.6 ms of work took 17 ms of wall time)."""
    clock = SimulatedClock(speedup=1.0, start=START, skip_idle=True, quiet_seconds=0.0)  # no keeper: looks by hand
    woke = threading.Event()

    def sleeper() -> None:
        clock.sleep(3600)  # an hour of real time, unless the keeper wakes it
        woke.set()

    threading.Thread(target=sleeper, daemon=True).start()
    while not clock._deadlines:
        time.sleep(0.001)
    time.sleep(0.01)  # the sleeper is in its wait
    clock._look()
    assert clock.skips == 1 and woke.wait(2)
    assert 3600 <= (clock.now() - START).total_seconds() < 3660


def test_while_nothing_works_the_next_look_comes_as_the_quiet_period_ends() -> None:
    clock = SimulatedClock(speedup=1.0, start=START, skip_idle=True, quiet_seconds=0.0015)
    with clock.busy():
        assert clock._look() == pytest.approx(0.002)  # work in flight: the usual interval
    pause = clock._look()  # the work just ended: look again when the quiet period has passed, not later
    assert 0 < pause <= 0.0015 and clock.skips == 0
