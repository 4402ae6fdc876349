"""End to end with the stack configured through cdk.json context: a KMS key and Advanced job settings.

The manifest is the sample one, with no JobType: the deployment's settings make its job Advanced,
on the configured instance types, with the configured traffic pattern, stopping conditions and key.
"""

from __future__ import annotations

from typing import Any

import boto3

from neo_recommender.emulator.embedded import ACCOUNT_ID, REGION

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAFFIC = {"TrafficType": "PHASES",
           "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}


def test_context_settings_shape_the_job_and_the_results(configured: Any) -> None:
    assert configured.outputs["EncryptionKeyArn"] == KEY_ARN
    outcome = configured.run("xgb-advanced")
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
