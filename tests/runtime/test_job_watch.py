"""The shared poller's verdict on a job: a pure function of its status, the run's deadline and the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neo_runtime import job_watch

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = (NOW + timedelta(hours=1)).isoformat()
EARLIER = (NOW - timedelta(seconds=1)).isoformat()


def test_a_completed_job_resumes_its_run_even_past_the_deadline() -> None:
    assert job_watch.judge("nr-a", "COMPLETED", None, EARLIER, NOW) == job_watch.RESUME


@pytest.mark.parametrize("status", ["PENDING", "IN_PROGRESS"])
def test_a_running_job_waits_until_its_deadline_then_is_stopped(status: str) -> None:
    assert job_watch.judge("nr-a", status, None, LATER, NOW) == job_watch.WAIT
    verdict = job_watch.judge("nr-a", status, None, EARLIER, NOW)
    assert (verdict.action, verdict.error, verdict.stop) == ("fail", "RecommendationJobTimedOut", True)
    assert f"still {status} at the run's deadline" in str(verdict.cause)


def test_a_failed_job_fails_its_run_with_irs_reason() -> None:
    verdict = job_watch.judge("nr-a", "FAILED", "bad image", LATER, NOW)
    assert verdict == job_watch.Verdict("fail", "RecommendationJobFailed",
                                        "Inference Recommender job nr-a failed: bad image")


@pytest.mark.parametrize("status", ["STOPPING", "STOPPED", "DELETING", "DELETED", None])
def test_a_job_stopped_elsewhere_or_gone_fails_its_run_without_stopping_it_again(status: str | None) -> None:
    verdict = job_watch.judge("nr-a", status, None, LATER, NOW)
    assert (verdict.action, verdict.error, verdict.stop) == ("fail", "RecommendationJobStopped", False)
    assert verdict.cause == f"Inference Recommender job nr-a is {status or 'gone'}"


@pytest.mark.parametrize("status", ["STOPPING", "STOPPED"])
def test_a_job_stopped_after_the_deadline_timed_out_however_the_run_learns_of_it(status: str) -> None:
    # The poller stops a job at the deadline; the run's own check can see STOPPING before the poller
    # answers the run. That run timed out: it was not stopped by someone outside the pipeline.
    verdict = job_watch.judge("nr-a", status, None, EARLIER, NOW)
    assert (verdict.action, verdict.error, verdict.stop) == ("fail", "RecommendationJobTimedOut", False)
    assert "ran past the run's deadline" in str(verdict.cause)


def test_the_deadline_counts_from_the_job_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "5400")
    assert job_watch.deadline_after(NOW) == (NOW + timedelta(minutes=90)).isoformat()
