"""A simulated wall clock that can run faster than real time.

The emulator uses it so that a 45-minute Inference Recommender job can finish in
milliseconds of real time while every timestamp it reports still looks like a
plausible UTC wall-clock time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SimulatedClock:
    """Simulated time that runs `speedup` times faster than real time (thread-safe, monotonic).

    Simulated time is ``start + (time.monotonic() - t0) * speedup``.  All state is fixed at
    construction, so concurrent readers need no lock, and because it is based on the
    monotonic clock it never goes backwards even if the system clock is adjusted.
    """

    def __init__(self, speedup: float = 1.0, start: datetime | None = None) -> None:
        """Create a clock.

        Args:
            speedup: how many simulated seconds pass per real second; must be > 0.
            start: simulated time at construction; defaults to the real current UTC time.
                A naive datetime is taken to be UTC; an aware one is converted to UTC.
        """
        if not speedup > 0:
            raise ValueError(f"speedup must be a positive number, got {speedup!r}")
        self._speedup = float(speedup)
        self._start = _as_utc(start) if start is not None else datetime.now(UTC)
        self._t0 = time.monotonic()

    @property
    def speedup(self) -> float:
        """Simulated seconds per real second."""
        return self._speedup

    def now(self) -> datetime:
        """Current simulated time, tz-aware UTC."""
        elapsed_real = time.monotonic() - self._t0
        return self._start + timedelta(seconds=elapsed_real * self._speedup)

    def real_seconds(self, simulated_seconds: float) -> float:
        """How many real seconds correspond to `simulated_seconds` of simulated time."""
        return simulated_seconds / self._speedup

    def sleep(self, simulated_seconds: float) -> None:
        """Block the calling thread for `simulated_seconds` of simulated time."""
        if simulated_seconds > 0:
            time.sleep(self.real_seconds(simulated_seconds))

    def __repr__(self) -> str:
        return f"SimulatedClock(speedup={self._speedup!r}, start={self._start.isoformat()!r})"


def _as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are assumed to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
