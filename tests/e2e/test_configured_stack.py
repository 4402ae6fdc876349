"""End to end with the stack configured through cdk.json context: a KMS key and Advanced job settings.

The manifest is the sample one, with no JobType: the deployment's settings make its job Advanced,
on the configured instance types, with the configured traffic pattern, stopping conditions and key.
"""

from __future__ import annotations

from typing import Any

import boto3

from neo_recommender import samples
from neo_recommender.emulator.embedded import ACCOUNT_ID, REGION
from neo_recommender.emulator.ir_simulator import peak_concurrency

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAFFIC = {"TrafficType": "PHASES",
           "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}


def test_context_settings_shape_the_job_and_the_results(configured: Any) -> None:
    assert configured.outputs["EncryptionKeyArn"] == KEY_ARN
    manifest = samples.xgboost_manifest("xgb-advanced")
    del manifest["SupportedRealtimeInferenceInstanceTypes"]  # the deployment's instance types apply
    outcome = configured.run("xgb-advanced", manifest)
    assert outcome.execution["status"] == "SUCCEEDED", outcome.summary
    summary = outcome.summary
    assert summary["status"] == "COMPLETED" and summary["job_name"].startswith("team-a-xgb-advanced-")

    job = boto3.client("sagemaker").describe_inference_recommendations_job(JobName=summary["job_name"])
    config = job["InputConfig"]
    assert job["JobType"] == "Advanced" and config["VolumeKmsKeyId"] == KEY_ARN
    assert config["EndpointConfigurations"] == [{"InstanceType": "ml.c5.xlarge"}, {"InstanceType": "ml.c5.2xlarge"}]
    assert config["TrafficPattern"] == TRAFFIC and config["JobDurationInSeconds"] == 3600
    assert job["StoppingConditions"] == {"MaxInvocations": 300}
    # Describe does not return OutputConfig; the simulator kept what the request said.
    (created,) = configured.aws.recommender.jobs()
    assert created["OutputConfig"]["KmsKeyId"] == KEY_ARN
    assert {row["InstanceType"] for row in outcome.rows} == {"ml.c5.xlarge", "ml.c5.2xlarge"}
    assert any(row["compiled"] for row in outcome.rows) and any(not row["compiled"] for row in outcome.rows)


def test_the_outputs_name_everything_a_user_needs_next(configured: Any) -> None:
    outputs: dict[str, Any] = configured.outputs
    for name in ("SubmissionBucketName", "WatchedPrefix", "ResultsTableName", "NotificationTopicArn",
                 "StateMachineArn", "RecommenderRoleArn", "EncryptionKeyArn"):
        assert outputs.get(name), name


def test_a_burst_waits_for_job_slots_and_every_run_completes_once(configured: Any) -> None:
    """Six submissions at once with maxConcurrentJobs 2: never more than two IR jobs overlap."""
    aws, sagemaker = configured.aws, boto3.client("sagemaker")
    before = set(configured.executions())
    models = [f"burst-{index}" for index in range(6)]
    for model in models:
        configured.upload(model)
    finished = aws.wait_for_executions(configured.outputs["StateMachineArn"], count=len(before) + len(models))
    runs = [configured.outcome(execution) for execution in finished if execution["executionArn"] not in before]
    assert sorted(run.summary["model_name"] for run in runs) == models
    assert all(run.execution["status"] == "SUCCEEDED" and run.summary["status"] == "COMPLETED" for run in runs)
    assert any("queued_at" in run.summary for run in runs)  # some runs had to wait
    assert any("AwaitJobSlot" in run.states_entered() for run in runs)
    # The metrics say the same: the queue's depth, each queued run counted once and its wait measured once.
    records = aws.lambdas.logging.metrics()
    queued = sorted(run.summary["run_id"] for run in runs if "queued_at" in run.summary)
    assert sorted(record["run_id"] for record in records if "RunsQueued" in record) == queued
    assert sorted(record["run_id"] for record in records if "QueueWaitSeconds" in record) == queued
    depth = [record["RunsWaiting"] for record in records if "RunsWaiting" in record]
    assert 1 <= max(depth) <= len(models) - 2 and min(depth) == 0

    jobs = [sagemaker.describe_inference_recommendations_job(JobName=job["JobName"])
            for job in aws.recommender.jobs() if job["JobName"].startswith("team-a-burst-")]
    assert len(jobs) == len(models)  # one job per run, none started twice
    assert peak_concurrency(jobs) == 2
    assert configured.job_slots("team-a-") == {"holders": {}, "waiters": {}}  # every slot given back
