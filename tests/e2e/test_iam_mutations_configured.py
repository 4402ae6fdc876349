"""Every Allow statement of the configured stack's roles is needed: a customer managed key for everything, Advanced
jobs, at most two jobs at once, each run polling its own job (``CONFIGURED_CONTEXT``). See ``iam_mutations``."""

from __future__ import annotations

from .conftest import CONFIGURED_KEY_ARN, DeployedPipeline, imported_key_policy
from .iam_mutations import MutationSuite, Scenario
from .test_iam_mutations_limited import (
    check_failing_while_the_job_runs,
    completed,
    failed_job_and_sns_refusing,
    job_failed,
    model_deleted_before_the_job,
    payload_missing,
    queue_behind_the_limit,
    safety_net_failing,
    sns_refusing,
    stopped_by_hand,
    stopped_by_hand_and_sns_refusing,
)


def job_past_its_deadline(pipeline: DeployedPipeline, model: str) -> None:
    pipeline.aws.recommender.faults.stall_jobs.add(pipeline.group(model))  # its run's check stops it at the deadline
    pipeline.run(model)


def three_at_once(pipeline: DeployedPipeline, model: str) -> None:
    """One more run than the limit of two: it queues, and a released slot wakes it."""
    queue_behind_the_limit(pipeline, model, limit=2)


SCENARIOS: dict[str, Scenario] = {
    "completed run": completed, "IR job failed": job_failed, "job past its deadline": job_past_its_deadline,
    "the run's check failing while the job runs": check_failing_while_the_job_runs,
    "SNS refusing the results": sns_refusing, "SNS refusing a failure": failed_job_and_sns_refusing,
    "execution stopped by hand": stopped_by_hand, "stopped by hand, SNS refusing": stopped_by_hand_and_sns_refusing,
    "the safety net failing": safety_net_failing, "payload archive missing": payload_missing,
    "model archive deleted before the job": model_deleted_before_the_job, "three runs at once": three_at_once,
}

#: Statements no scenario can show needed, each with the reason (and the test that covers it instead): the table
#: key's statement of each step that reads or writes the table, by its policy and its exact actions.
TABLE_KEY_REASON = (
    "the table key's use through DynamoDB: DynamoDB uses a customer managed key on the caller's behalf through "
    "grants it makes when the table is created (DynamoDB developer guide, encryption at rest), and the emulator "
    "does not model that use, so no request of these steps touches the key; kept so a table on the key stays "
    "usable. Covered by test_construct_settings::test_every_step_that_reads_or_writes_the_table_may_use_its_key")
TABLE_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
EXPLAINED = {(f"{step}RoleDefaultPolicy", TABLE_KEY_ACTIONS): TABLE_KEY_REASON
             for step in ("StartRecommendationJob", "AwaitJobSlot", "CheckRecommendationJob")}


def test_every_statement_of_every_role_is_needed(configured: DeployedPipeline) -> None:
    suite = MutationSuite(configured, configured.assembly, SCENARIOS, configured.deployed.creation_allowing_sets,
                          keys={CONFIGURED_KEY_ARN: imported_key_policy()}, explained=EXPLAINED)
    suite.run_baseline()
    report = suite.report()
    print("\n" + report.summary("configured stack"))
    assert report.count("survived") == 0, report.summary("configured stack")
    assert report.count("explained") == len(EXPLAINED), report.summary("configured stack")  # each reason used
