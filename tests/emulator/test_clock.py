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
