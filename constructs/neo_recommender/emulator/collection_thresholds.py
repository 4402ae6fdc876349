"""Fewer garbage collections while the emulator runs: it allocates fast among a million long-lived objects.

Every emulated request builds and parses its botocore request and response and copies moto's items, so the process
allocates many short-lived objects beside the long-lived ones that moto's backends, the API models and the CDK hold.
CPython 3.11's default thresholds (700, 10, 10) collect the youngest generation every 700 net allocations and the
oldest every 70 collections of the middle one: a cached ``neo-recommender demo`` spent 2.1 s of its 4.6 s to 5.2 s
in 1,664 collections (timed with ``gc.callbacks``); with (100,000, 50, 50) it spent 0.4 s in 10 and reported 3.5 s.
Cycles are still collected; the process holds a little more garbage between collections.
"""

from __future__ import annotations

import gc

#: The thresholds while the emulator runs (the test suite sets the same for its whole session).
EMULATOR_THRESHOLDS = (100_000, 50, 50)


class FewerCollections:
    """Raises the collector's thresholds to ``EMULATOR_THRESHOLDS`` (never lowers one) from ``install`` to
    ``uninstall``, which restores the thresholds found; also a context manager."""

    def __init__(self) -> None:
        self._before: tuple[int, ...] | None = None

    def install(self) -> None:
        """Raise the thresholds."""
        self._before = gc.get_threshold()
        gc.set_threshold(*(max(current, raised) for current, raised in zip(self._before, EMULATOR_THRESHOLDS,
                                                                           strict=True)))

    def uninstall(self) -> None:
        """Restore the thresholds ``install`` found."""
        if self._before is not None:
            gc.set_threshold(*self._before)
            self._before = None

    def __enter__(self) -> FewerCollections:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()
