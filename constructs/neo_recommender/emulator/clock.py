"""A simulated wall clock that can run faster than real time, and skip time nobody uses.

The emulator uses it so that a 45-minute Inference Recommender job can finish in
milliseconds of real time while every timestamp it reports still looks like a
plausible UTC wall-clock time.

Every simulated wait of the emulator (Wait states, task timeouts, Retry intervals, boto3's
backoff, the schedules' next delivery) goes through :meth:`SimulatedClock.wait`. With
``skip_idle``, the clock knows those deadlines: once nothing is working (no AWS call or delivery
in flight, see :meth:`SimulatedClock.busy`; no Step Functions interpreter thread running outside a
wait, see :meth:`SimulatedClock.worker_thread_class`; and nothing happened for ``quiet_seconds`` of
real time), it jumps to the earliest deadline instead of letting the machine idle until it comes. Time then
passes as fast as the emulator can work, and every waiter still wakes in deadline order: a
discrete-event simulation on top of the real-time one.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

#: ``clock``: the clock whose work the current thread is (a ``worker_thread_class`` thread), else None.
_thread_state = threading.local()


class PulsedEvent(threading.Event):
    """An event that counts its ``set`` calls, so that a waiter woken by a pulse (set, then cleared at once, as moto
    signals an execution's end to its states) can be told from one still waiting after the flag is clear again."""

    def __init__(self) -> None:
        super().__init__()
        self.sets = 0

    def set(self) -> None:
        """Set the flag, counting it."""
        with self._cond:
            self.sets += 1
        super().set()


class _Waiter:
    """One thread in :meth:`SimulatedClock.wait`: its deadline (simulated seconds since the start) and event."""

    __slots__ = ("deadline", "event", "active", "kicked", "sets")

    def __init__(self, deadline: float, event: threading.Event) -> None:
        self.deadline, self.event, self.active, self.kicked = deadline, event, True, False
        self.sets = getattr(event, "sets", 0)

    def signalled(self) -> bool:
        """Its event came (it is set, or was pulsed since the wait began): the thread is about to resume."""
        return self.event.is_set() or getattr(self.event, "sets", 0) != self.sets


#: How often, at the most, the keeper looks for due waiters and for idle time (real seconds).
_LOOK_INTERVAL = 0.002


class SimulatedClock:
    """Simulated time that runs `speedup` times faster than real time (thread-safe, monotonic).

    Simulated time is ``start + (time.monotonic() - t0) * speedup + skipped``, where ``skipped``
    is the idle time jumped over (always 0 without ``skip_idle``). It never goes backwards, even
    if the system clock is adjusted.
    """

    def __init__(self, speedup: float = 1.0, start: datetime | None = None, *, skip_idle: bool = False,
                 quiet_seconds: float = 0.003) -> None:
        """Create a clock.

        Args:
            speedup: how many simulated seconds pass per real second; must be > 0.
            start: simulated time at construction; defaults to the real current UTC time.
                A naive datetime is taken to be UTC; an aware one is converted to UTC.
            skip_idle: jump to the next deadline whenever the emulator is idle (``start_keeper``
                runs the thread that does it).
            quiet_seconds: real seconds without activity that count as idle (a thread woken by
                a call may take a GIL switch interval or two to get going).
        """
        if not speedup > 0:
            raise ValueError(f"speedup must be a positive number, got {speedup!r}")
        self._speedup = float(speedup)
        self._start = _as_utc(start) if start is not None else datetime.now(UTC)
        self._t0 = time.monotonic()
        self.skip_idle = skip_idle
        self.quiet_seconds = quiet_seconds
        #: Simulated seconds jumped over, and how many jumps.
        self.skipped_seconds = 0.0
        self.skips = 0
        self._lock = threading.Lock()
        self._deadlines: list[tuple[float, int, _Waiter]] = []
        self._due: set[_Waiter] = set()
        self._sequence = itertools.count()
        self._busy = 0
        self._last_activity = time.monotonic()
        self._keeper: threading.Thread | None = None
        self._stop_keeper = threading.Event()

    @property
    def speedup(self) -> float:
        """Simulated seconds per real second."""
        return self._speedup

    def now(self) -> datetime:
        """Current simulated time, tz-aware UTC."""
        return self._start + timedelta(seconds=self._elapsed())

    def real_seconds(self, simulated_seconds: float) -> float:
        """How many real seconds correspond to `simulated_seconds` of simulated time (without skips)."""
        return simulated_seconds / self._speedup

    def sleep(self, simulated_seconds: float) -> None:
        """Block the calling thread for `simulated_seconds` of simulated time."""
        if simulated_seconds > 0:
            self.wait(threading.Event(), simulated_seconds)

    def wait(self, event: threading.Event, simulated_seconds: float | None,
             real_limit: float | None = None) -> bool:
        """Wait until ``event`` is set (or pulsed: set and cleared, as moto stops a Wait state) or
        ``simulated_seconds`` of simulated time pass; True if the event woke it.

        ``simulated_seconds`` None waits for the event only. ``real_limit`` returns False after that many
        real seconds at most, the deadline not yet reached (for a caller that re-plans).
        """
        working = self.skip_idle and getattr(_thread_state, "clock", None) is self
        if simulated_seconds is None:
            if working:
                self.end_work()
            try:
                return threading.Event.wait(event, real_limit)
            finally:
                if working:
                    self.begin_work()
        waiter = _Waiter(self._elapsed() + simulated_seconds, event)
        if self.skip_idle:
            with self._lock:
                heapq.heappush(self._deadlines, (waiter.deadline, next(self._sequence), waiter))
                if working:  # a worker thread that waits does not work meanwhile
                    self._busy -= 1
        try:
            return self._wait_for(waiter, time.monotonic() + real_limit if real_limit is not None else None)
        finally:
            if self.skip_idle:
                with self._lock:
                    waiter.active = False
                    self._due.discard(waiter)
                    if working:
                        self._busy += 1
                    self._last_activity = time.monotonic()

    def _wait_for(self, waiter: _Waiter, given_up: float | None) -> bool:
        event = waiter.event
        while True:
            if event.is_set():
                return True
            remaining = (waiter.deadline - self._elapsed()) / self._speedup
            if given_up is not None:
                remaining = min(remaining, given_up - time.monotonic())
            if remaining <= 0:
                return False
            # Not event.wait: an event may route its own wait here.
            if threading.Event.wait(event, remaining) and not self._kicked(waiter):
                return True

    def _kicked(self, waiter: _Waiter) -> bool:
        """Whether the keeper woke ``waiter`` (its deadline came), rather than its event."""
        if not self.skip_idle:
            return False
        with self._lock:
            kicked, waiter.kicked = waiter.kicked, False
        return kicked

    def worker_thread_class(self) -> type[threading.Thread]:
        """A ``threading.Thread`` whose thread counts as work from ``start()`` until it ends, except while it waits
        on this clock or joins another thread: for the Step Functions interpreter's threads, so that no time is
        skipped between a state's end and the next one's first call."""
        clock = self

        class WorkerThread(threading.Thread):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._ended = threading.Event()

            def start(self) -> None:
                clock.begin_work()
                try:
                    super().start()
                except BaseException:
                    clock.end_work()
                    raise

            def run(self) -> None:
                _thread_state.clock = clock
                try:
                    super().run()
                finally:
                    _thread_state.clock = None
                    self._ended.set()  # before its work ends: a joiner must never look timed out meanwhile
                    clock.end_work()

            def join(self, timeout: float | None = None) -> None:
                """Wait for the thread's end; a ``timeout`` is simulated seconds (moto's Program joins the
                execution's thread for the state machine's ``TimeoutSeconds``)."""
                if timeout is not None:
                    clock.wait(self._ended, timeout)  # the clock counts a waiting worker thread idle
                    if self._ended.is_set():  # ended, even if a skip reached the deadline as it did
                        super().join()
                    return
                working = clock.skip_idle and getattr(_thread_state, "clock", None) is clock
                if working:
                    clock.end_work()
                try:
                    super().join()
                finally:
                    if working:
                        clock.begin_work()

        return WorkerThread

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark work in progress (an AWS call, a delivery): no time is skipped until it ends."""
        self.begin_work()
        try:
            yield
        finally:
            self.end_work()

    def begin_work(self) -> None:
        """Work starts that may end in another thread (``end_work`` there); ``busy`` for one thread."""
        if self.skip_idle:
            with self._lock:
                self._busy += 1

    def end_work(self) -> None:
        """Work begun with ``begin_work`` ended."""
        if self.skip_idle:
            with self._lock:
                self._busy -= 1
                self._last_activity = time.monotonic()

    def start_keeper(self) -> None:
        """Start the thread that skips idle time (with ``skip_idle``; idempotent)."""
        if self.skip_idle and self._keeper is None:
            self._stop_keeper.clear()
            self._keeper = threading.Thread(target=self._keep, name="simulated-clock-keeper", daemon=True)
            self._keeper.start()

    def stop_keeper(self) -> None:
        """Stop skipping idle time."""
        if self._keeper is not None:
            self._stop_keeper.set()
            self._keeper.join(timeout=5)
            self._keeper = None

    def _elapsed(self) -> float:
        return (time.monotonic() - self._t0) * self._speedup + self.skipped_seconds

    def _keep(self) -> None:
        """Look (``_look``) every 2 ms at the most until stopped."""
        pause = _LOOK_INTERVAL
        while not self._stop_keeper.wait(pause):
            pause = self._look()

    def _look(self) -> float:
        """Wake the waiters whose deadline has come (a skip, or an earlier one, may have left them asleep for
        longer than needed); when idle, jump to the earliest deadline and wake its waiter at once. Returns how long
        to wait before the next look.

        While nothing works, the next look comes as the quiet period ends rather than up to 2 ms after it, and the
        waiter of the deadline a skip reached is woken in the same look, not the next: each skip cost about 6 ms of
        real time with nothing running (a poll pass of 10.6 ms of CPU took 17.0 ms of wall time), now about 3 ms.
        """
        with self._lock:
            self._wake_due()
            if self._due or self._busy:
                return _LOOK_INTERVAL
            quiet_left = self.quiet_seconds - (time.monotonic() - self._last_activity)
            if quiet_left > 0:
                return min(_LOOK_INTERVAL, quiet_left)
            while self._deadlines and not self._deadlines[0][2].active:
                heapq.heappop(self._deadlines)
            if any(waiter.active and waiter.signalled() for _, _, waiter in self._deadlines):
                return _LOOK_INTERVAL  # a waiter whose event came has not resumed yet: about to work (or to end)
            if self._deadlines:
                self.skipped_seconds += max(0.0, self._deadlines[0][0] - self._elapsed())
                self.skips += 1
                self._last_activity = time.monotonic()
                self._wake_due()
            return _LOOK_INTERVAL

    def _wake_due(self) -> None:
        """Wake every waiter whose deadline has come (called with the lock held)."""
        now = self._elapsed()
        while self._deadlines and self._deadlines[0][0] <= now:
            waiter = heapq.heappop(self._deadlines)[2]
            if waiter.active:
                self._due.add(waiter)
        for waiter in self._due:
            waiter.kicked = True
            with waiter.event._cond:  # Event.wait's condition: wakes the waiter, sets nothing
                waiter.event._cond.notify_all()

    def __repr__(self) -> str:
        return (f"SimulatedClock(speedup={self._speedup!r}, start={self._start.isoformat()!r}, "
                f"skip_idle={self.skip_idle!r})")


def _as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are assumed to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
