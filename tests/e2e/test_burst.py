"""A burst: 200 submissions at once against the limited stack (at most five IR jobs at a time).

Every run must reach a terminal state, the limit must never be exceeded, no run may be lost or run
twice, and every job slot must be given back. The figures are printed for the README's reliability
section (``pytest -s``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from neo_recommender.emulator.ir_simulator import peak_concurrency

from .conftest import LIMITED_CONTEXT, DeployedPipeline, deployed

BURST = 200


@pytest.fixture(scope="module")
def limited(limited_assembly: Path) -> Iterator[DeployedPipeline]:
    """The limited stack; time runs 60 times faster while runs work and skips what they all wait through (the
    emulator runs one Lambda invocation at a time, so simulated time must not outpace a wave's work). IR jobs take a
    simulated 2 minutes."""
    with deployed(limited_assembly, speedup=60, job_seconds=120) as deployment:
        yield deployment


def test_two_hundred_submissions_at_once_all_finish_once_within_the_limit(limited: DeployedPipeline) -> None:
    limit = LIMITED_CONTEXT["neo-recommender:maxConcurrentJobs"]
    started = time.monotonic()
    models = [f"burst-{index:03d}" for index in range(BURST)]
    for model in models:
        limited.upload(model)
    # 60 s to 70 s alone, about 87 s beside a mutation suite on the other core (2026-12-01; 270 s before idle time
    # was skipped, 600 s before the emulator speedups).
    finished = limited.aws.wait_for_executions(limited.outputs["StateMachineArn"], count=BURST,
                                               timeout_seconds=1200)
    elapsed = time.monotonic() - started

    runs = [limited.outcome(execution) for execution in finished]
    assert sorted(run.summary["model_name"] for run in runs) == models  # none lost
    assert all(run.execution["status"] == "SUCCEEDED" and run.summary["status"] == "COMPLETED" for run in runs)
    sagemaker = boto3.client("sagemaker")
    jobs = [sagemaker.describe_inference_recommendations_job(JobName=job["JobName"])
            for job in limited.aws.recommender.jobs() if job["JobName"].startswith("nr-burst-")]
    assert len(jobs) == BURST and len({job["JobName"] for job in jobs}) == BURST  # one job per run, none twice
    peak = peak_concurrency(jobs)
    assert peak == limit
    assert limited.job_slots() == {"holders": {}, "waiters": {}}
    queued = sum(1 for run in runs if "queued_at" in run.summary)  # StartRecommendationJob queued it for a slot
    print(f"\nburst {BURST}, limit {limit}: {len(runs)} completed, peak {peak} concurrent IR jobs, "
          f"{queued} runs queued, {elapsed:.1f} s wall, "
          f"{sum(limited.aws.lambdas.invocations.values())} Lambda invocations, "
          f"{limited.aws.clock.skipped_seconds / 3600:.2f} idle hours skipped in {limited.aws.clock.skips} skips")
