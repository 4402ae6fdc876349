"""The wall clock that run deadlines are measured on.

One function, so that an emulator running simulated time (where a 45-minute Inference
Recommender job takes seconds) can supply its clock: ``neo_recommender.emulator`` replaces
``utc_now`` in the deployed code it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
