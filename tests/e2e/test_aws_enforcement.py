"""The emulator refuses what AWS refuses, on the deployed stack: IAM, resource and key policies, rule state.

Each test names the defect it guards against (found by review against AWS's authorization data and docs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from neo_recommender.emulator.deploy import COMPLETIONS, CREATED_AFTERWARDS

from .conftest import DeployedPipeline, deployed, wait_until


@pytest.fixture(scope="module")
def stack(synthesized: Any) -> Iterator[DeployedPipeline]:
    """The default stack, deployed into a fresh emulator of its own."""
    with deployed(synthesized.assembly_dir) as deployment:
        yield deployment


def _resource_of(stack: DeployedPipeline, kind: str, construct: str) -> str:
    (physical,) = [stack.deployed.physical_ids[logical] for logical, found in stack.deployed.resource_types.items()
                   if found == kind and construct in logical]
    return physical


def test_a_completed_run_makes_no_call_its_roles_do_not_allow(stack: DeployedPipeline) -> None:
    # PublishResults' ListInferenceRecommendationsJobSteps was scoped to the job prefix: AccessDenied in AWS
    # (the action has no resource type), so every completed job ended FAILED.
    checked_before = sum(stack.aws.iam.checked.values())
    outcome = stack.run("xgb-allowed")
    assert outcome.execution["status"] == "SUCCEEDED" and outcome.summary["status"] == "COMPLETED"
    assert stack.aws.iam.denials == []
    assert stack.aws.iam.checked["sagemaker:ListInferenceRecommendationsJobSteps"] >= 1
    assert sum(stack.aws.iam.checked.values()) - checked_before > 100  # every call of every principal


def test_every_alarm_reaches_its_topic_through_the_topic_and_key_policies(stack: DeployedPipeline) -> None:
    alarms = stack.aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert len(alarms) == list(stack.deployed.skipped.values()).count("AWS::CloudWatch::Alarm") == 3
    alarm_topic = stack.outputs["AlarmTopicArn"]
    for alarm in alarms:
        assert stack.aws.fire_alarm(alarm["AlarmName"]) == [alarm_topic], alarm["AlarmName"]
    assert stack.aws.iam.denials == []


def test_an_alarm_on_the_aws_managed_sns_key_and_a_deny_only_policy_never_notifies(stack: DeployedPipeline) -> None:
    # The former default: alarms published to the results topic, on alias/aws/sns with only the TLS Deny.
    cloudwatch = stack.aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName="old-default", Namespace="AWS/States", MetricName="ExecutionsFailed",
                                Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold",
                                AlarmActions=[stack.outputs["NotificationTopicArn"]])
    denials_before = len(stack.aws.iam.denials)
    try:
        assert stack.aws.fire_alarm("old-default") == []
        (denial,) = stack.aws.iam.denials[denials_before:]
        assert (denial.principal, denial.action, denial.delivered) == ("cloudwatch.amazonaws.com", "sns:Publish", False)
    finally:
        cloudwatch.delete_alarms(AlarmNames=["old-default"])
        del stack.aws.iam.denials[denials_before:]


def test_a_disabled_submission_rule_starts_no_run(stack: DeployedPipeline) -> None:
    events = stack.aws.client("events")
    rule = _resource_of(stack, "AWS::Events::Rule", "SubmissionRule")
    before = set(stack.executions())
    events.disable_rule(Name=rule)
    try:
        stack.upload("xgb-disabled")
        time.sleep(0.5)  # a delivery would have started an execution by now (deliveries are synchronous)
        assert set(stack.executions()) == before
    finally:
        events.enable_rule(Name=rule)


def test_eventbridge_refuses_a_pattern_with_a_filter_it_does_not_know(stack: DeployedPipeline) -> None:
    events = stack.aws.client("events")
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="typo", EventPattern=json.dumps({"detail": {"object": {"key": [{"wildcards": "a*"}]}}}))
    assert refused.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "Unrecognized match type wildcards" in refused.value.response["Error"]["Message"]
    events.put_rule(Name="known", EventPattern=json.dumps({"detail": {"object": {"key": [{"wildcard": "a*"}]}}}))
    events.delete_rule(Name="known")


def test_every_resource_moto_does_not_create_is_completed_and_none_is_hidden(stack: DeployedPipeline) -> None:
    skipped = stack.deployed.skipped
    # Told by moto, kept for the record, and each completed as COMPLETIONS says (AWS::CDK::Metadata, listed there
    # too, is in templates the CLI writes).
    assert set(skipped.values()) == set(COMPLETIONS) - {"AWS::CDK::Metadata"}
    # moto half-creates permissions, silently; a dashboard is not given to moto at all (it would fail on the alarms'
    # ARNs) and is created once the alarms exist.
    for kind in set(skipped.values()) - {"AWS::Lambda::Permission", *CREATED_AFTERWARDS}:
        assert any(kind in notice for notice in stack.deployed.moto_notices), kind
    (dashboard,) = stack.aws.client("cloudwatch").list_dashboards()["DashboardEntries"]
    assert dashboard["DashboardName"]
    s3, sns, sqs = (stack.aws.client(name) for name in ("s3", "sns", "sqs"))
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket=stack.bucket)["Policy"])
    assert bucket_policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    topic_policy = sns.get_topic_attributes(TopicArn=stack.outputs["AlarmTopicArn"])["Attributes"]["Policy"]
    assert "cloudwatch.amazonaws.com" in topic_policy and "AllowPublishThroughSSLOnly" in topic_policy
    queue_policy = sqs.get_queue_attributes(QueueUrl=stack.outputs["DeadLetterQueueUrl"],
                                            AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert queue_policy.count("events.amazonaws.com") == 2
    assert len(stack.aws.iam.function_permissions) == 2  # the poller's schedule and the safety net's rule


def test_an_event_the_function_policy_does_not_allow_goes_to_the_dead_letter_queue(stack: DeployedPipeline) -> None:
    # The safety net's rule delivers to RecordEndedRun only through its AWS::Lambda::Permission.
    function = _resource_of(stack, "AWS::Lambda::Function", "RecordEndedRun")
    arn = next(a for a in stack.aws.iam.function_permissions if a.endswith(f":function:{function}"))
    saved = stack.aws.iam.function_permissions.pop(arn)
    stack.purge_dead_letters()
    try:
        stack.aws.recommender.faults.stall_jobs.add("nr-xgb-unpermitted")
        stack.upload("xgb-unpermitted")
        wait_until(lambda: stack.aws.recommender.jobs() and any(
            j["JobName"].startswith("nr-xgb-unpermitted") for j in stack.aws.recommender.jobs()))
        (execution,) = [e for e in stack.executions() if e not in _finished(stack)][:1]
        stack.stepfunctions.stop_execution(executionArn=execution, error="Test", cause="stopped by hand")
        wait_until(stack.dead_letters)
        (letter,) = stack.dead_letters()
        assert letter["body"]["detail"]["status"] == "ABORTED"
        assert "lambda:InvokeFunction" in letter["attributes"]["ERROR_MESSAGE"]["StringValue"]
    finally:
        stack.aws.iam.function_permissions[arn] = saved
        stack.aws.recommender.faults.stall_jobs.discard("nr-xgb-unpermitted")
        del stack.aws.iam.denials[:]


def _finished(stack: DeployedPipeline) -> set[str]:
    return {e["executionArn"] for page in stack.stepfunctions.get_paginator("list_executions").paginate(
        stateMachineArn=stack.outputs["StateMachineArn"]) for e in page["executions"] if e["status"] != "RUNNING"}


def test_a_task_invokes_its_function_as_the_state_machine_role(stack: DeployedPipeline) -> None:
    # Six of the Lambda tasks name the function's ARN as their Resource (not arn:aws:states:::lambda:invoke); the
    # emulator once ran those invocations as nobody, so the role's lambda:InvokeFunction was never checked for them.
    # Drop PublishResults from the role's statement: the run must be refused there, as AWS refuses it.
    iam = stack.aws.client("iam")
    role_arn = stack.stepfunctions.describe_state_machine(stateMachineArn=stack.outputs["StateMachineArn"])["roleArn"]
    role = role_arn.rsplit("/", 1)[1]
    function = _resource_of(stack, "AWS::Lambda::Function", "PublishResults")
    (name,) = [n for n in iam.list_role_policies(RoleName=role)["PolicyNames"]
               if "lambda:InvokeFunction" in json.dumps(iam.get_role_policy(RoleName=role, PolicyName=n))]
    saved = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    narrowed = json.loads(json.dumps(saved))
    for statement in narrowed["Statement"]:
        if "lambda:InvokeFunction" in json.dumps(statement["Action"]):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            statement["Resource"] = [r for r in resources if function not in json.dumps(r)]
    assert narrowed != saved
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(narrowed))
    try:
        outcome = stack.run("xgb-uninvokable")
        assert outcome.summary is not None and outcome.summary["status"] == "FAILED"
        (denial,) = [d for d in stack.aws.iam.denials if d.action == "lambda:InvokeFunction"]
        assert role in denial.principal and denial.resource.endswith(f":function:{function}")
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(saved))
        del stack.aws.iam.denials[:]
