"""Fine-grained assertions on the synthesized NeoRecommenderStack template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match


def _resources(synthesized: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synthesized.template_json["Resources"].items() if v["Type"] == kind}


def _definition(synthesized: Any) -> dict[str, Any]:
    (machine,) = _resources(synthesized, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # References (function ARNs, the partition) sit inside JSON strings: a bare placeholder keeps it parseable.
    return json.loads("".join(p if isinstance(p, str) else "ref" for p in parts))


def _statements_of(synthesized: Any, role_fragment: str) -> list[dict[str, Any]]:
    statements = []
    for policy in _resources(synthesized, "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        if role_fragment in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found


def test_submission_bucket_is_versioned_encrypted_private_and_sends_eventbridge_events(synthesized: Any) -> None:
    synthesized.template.has_resource_properties("AWS::S3::Bucket", {
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
        "LoggingConfiguration": Match.object_like({"LogFilePrefix": "submission-bucket/"}),
    })


def test_no_notification_custom_resource_is_used(synthesized: Any) -> None:
    kinds = {r["Type"] for r in synthesized.template_json["Resources"].values()}
    assert "Custom::S3BucketNotifications" not in kinds
    assert not any(kind.startswith("Custom::") for kind in kinds)


def test_every_bucket_policy_denies_plain_http(synthesized: Any) -> None:
    policies = _resources(synthesized, "AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements)


def test_results_table_is_on_demand_with_point_in_time_recovery_and_query_indexes(synthesized: Any) -> None:
    synthesized.template.has_resource_properties("AWS::DynamoDB::Table", {
        "BillingMode": "PAY_PER_REQUEST",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "SSESpecification": {"SSEEnabled": True},
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    })
    (table,) = _resources(synthesized, "AWS::DynamoDB::Table").values()
    indexes = {index["IndexName"]: (tuple(key["AttributeName"] for key in index["KeySchema"]),
                                    index["Projection"]["ProjectionType"])
               for index in table["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes == {"ByModel": (("model_name", "created_at"), "ALL"), "ByJobName": (("job_name",), "ALL"),
                       "ByExecution": (("execution_arn",), "KEYS_ONLY"),
                       "ByStatus": (("status", "updated_at"), "ALL")}
    assert not _resources(synthesized, "AWS::DynamoDB::GlobalTable")  # moto cannot deploy TableV2


def test_results_are_kept_forever_unless_a_retention_is_configured(synthesized: Any) -> None:
    from aws_cdk import App

    from neo_recommender.stack import StackSettings

    functions = _resources(synthesized, "AWS::Lambda::Function").values()
    assert {f["Properties"]["Environment"]["Variables"]["RESULTS_RETENTION_DAYS"] for f in functions} == {"0"}
    app = App(context={"neo-recommender:resultsRetentionDays": 30})
    assert StackSettings.from_context(app).results_retention_days == 30


def test_topic_is_encrypted_and_tls_only(synthesized: Any) -> None:
    topic = _resources(synthesized, "AWS::SNS::Topic")[_topic_id(synthesized, "NotificationTopic")]
    assert "alias/aws/sns" in json.dumps(topic["Properties"]["KmsMasterKeyId"])
    synthesized.template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def test_no_email_subscription_without_context(synthesized: Any) -> None:
    assert not _resources(synthesized, "AWS::SNS::Subscription")


def test_rule_matches_only_manifests_under_the_watched_prefix_of_this_bucket(synthesized: Any) -> None:
    (rule,) = [r for name, r in _resources(synthesized, "AWS::Events::Rule").items() if "SubmissionRule" in name]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == {"key": [{"wildcard": "models/*/recommend.json"}]}
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": Match.any_value()}] or "Ref" in json.dumps(
        pattern["detail"]["bucket"]["name"])
    target = rule["Properties"]["Targets"][0]
    assert "StateMachine" in json.dumps(target["Arn"])


def test_functions_run_a_current_python_on_the_plain_asset_with_tracing(synthesized: Any) -> None:
    functions = _resources(synthesized, "AWS::Lambda::Function")
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    shipped = sorted(path.stem for path in (Path(__file__).resolve().parents[2] / "lambdas" / "neo_runtime"
                                            / "handlers").glob("*.py") if path.stem != "__init__")
    assert handlers == [f"neo_runtime.handlers.{module}.handler" for module in shipped]  # one function each
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.14" and props["MemorySize"] == 256
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "S3Key" in props["Code"] and "Layers" not in props
        # Lambda's native JSON logs: the request id and the handlers' fields on every line, levels set here.
        assert {key: value for key, value in props["LoggingConfig"].items() if key != "LogGroup"} == {
            "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"}
        assert "LOG_LEVEL" not in props["Environment"]["Variables"]


def test_state_machine_is_standard_logged_and_traced(synthesized: Any) -> None:
    synthesized.template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineType": "STANDARD",
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
    })
    synthesized.template.has_resource_properties("AWS::Logs::LogGroup", {
        "LogGroupName": Match.string_like_regexp("^/aws/vendedlogs/states/")})


def test_workflow_runs_the_steps_in_order(synthesized: Any) -> None:
    states = _definition(synthesized)["States"]
    assert _definition(synthesized)["StartAt"] == "ValidateSubmission"
    assert states["ValidateSubmission"]["Next"] == "DuplicateEvent?"
    assert states["DuplicateEvent?"]["Default"] == "RegisterModel"
    assert states["RegisterModel"]["Next"] == "StartRecommendationJob"
    assert states["StartRecommendationJob"]["Next"] == "JobStarted?"
    # A full IR quota backs off and asks again; a queued run (max_concurrent_jobs) waits on its task token
    # until a released slot wakes it, or asks again when StartRecommendationJob said (an hour per wave ahead of it).
    assert states["JobStarted?"]["Choices"] == [
        {"Variable": "$.job.started", "BooleanEquals": True, "Next": "AwaitRecommendationJob"},
        {"Variable": "$.job.reason", "StringEquals": "ResourceLimitExceeded", "Next": "WaitForQuota"}]
    assert states["JobStarted?"]["Default"] == "AwaitJobSlot"
    assert states["WaitForQuota"] == {"Type": "Wait", "SecondsPath": "$.job.retry_after_seconds",
                                      "Next": "StartRecommendationJob"}
    await_slot = states["AwaitJobSlot"]
    assert await_slot["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert await_slot["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert await_slot["TimeoutSecondsPath"] == "$.job.recheck_seconds" and await_slot["ResultPath"] is None
    assert await_slot["Next"] == "StartRecommendationJob"
    assert await_slot["Catch"][0] == {"ErrorEquals": ["States.Timeout"], "ResultPath": None,
                                      "Next": "StartRecommendationJob"}
    # The run waits on the shared poller (JobPolling.SHARED, the default): its token goes into its job's
    # watch-list item, written by Step Functions itself; a silent poller makes the run check its job itself.
    await_job = states["AwaitRecommendationJob"]
    assert await_job["Resource"].endswith(":states:::aws-sdk:dynamodb:updateItem.waitForTaskToken")
    assert await_job["Parameters"]["Key"] == {"pk": {"S": "JOB_WATCH"}, "sk": {"S.$": "$.job.watch_key"}}
    assert await_job["Parameters"]["ExpressionAttributeValues"][":token"] == {"S.$": "$$.Task.Token"}
    assert await_job["Parameters"]["ConditionExpression"] == "attribute_exists(pk)"
    assert await_job["TimeoutSecondsPath"] == "$.job.watch_timeout_seconds" and await_job["ResultPath"] is None
    assert await_job["Next"] == "PublishResults"
    assert await_job["Catch"] == [
        # The job's watch item vanished before the run stored its token: the run checks its job itself.
        {"ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"], "ResultPath": None,
         "Next": "CheckRecommendationJob"},
        {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": "CheckRecommendationJob"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "AwaitRecommendationJobFailed"}]
    assert "WaitForJob" not in states
    assert states["CheckRecommendationJob"]["Next"] == "JobFinished?"
    assert states["CheckRecommendationJob"]["ResultPath"] == "$.job"
    choice = states["JobFinished?"]
    assert choice["Choices"] == [{"Variable": "$.job.status", "StringEquals": "COMPLETED", "Next": "PublishResults"}]
    assert choice["Default"] == "AwaitRecommendationJob"
    assert states["PublishResults"]["Next"] == "RunCompleted"
    assert states["RecordFailure"]["Next"] == "RunFailed"
    assert states["RunFailed"]["Type"] == "Fail"


def test_an_invalid_submission_goes_from_the_first_state_to_the_failure_path(synthesized: Any) -> None:
    states = _definition(synthesized)["States"]
    assert states["DuplicateEvent?"]["Choices"] == [
        {"Variable": "$.submission.duplicate", "BooleanEquals": True, "Next": "AlreadyHandled"},
        {"Variable": "$.submission.valid", "BooleanEquals": False, "Next": "SubmissionRejected"},
    ]
    assert states["SubmissionRejected"] == {
        "Type": "Pass", "ResultPath": "$.error", "Next": "ValidateSubmissionFailed",
        "Parameters": {"Error": "SubmissionInvalid", "Cause.$": "$.submission.error_message"}}
    assert states["ValidateSubmissionFailed"]["Next"] == "RecordFailure"


def test_the_deadline_and_the_shared_poller_reach_the_steps(synthesized: Any) -> None:
    check = _definition(synthesized)["States"]["CheckRecommendationJob"]
    assert check["Parameters"] == {"run_id.$": "$.submission.run_id", "job.$": "$.job"}
    functions = _resources(synthesized, "AWS::Lambda::Function")
    start = next(f for name, f in functions.items() if name.startswith("PipelineStartRecommendationJob"))
    variables = start["Properties"]["Environment"]["Variables"]
    assert variables["JOB_DEADLINE_SECONDS"] == "10800" and variables["WATCH_RECHECK_SECONDS"] == "3600"
    (schedule,) = [name for name in _resources(synthesized, "AWS::Events::Rule") if "JobWatchSchedule" in name]
    assert variables["WATCH_SCHEDULE_RULE"] == {"Ref": schedule}


def test_the_shared_poller_runs_on_a_schedule_a_stack_update_leaves_on(synthesized: Any) -> None:
    # CloudFormation writes the template's State on every update of the rule: DISABLED there would silence the
    # poller of running jobs. ENABLED costs one idle pass after a deployment, which turns it off.
    synthesized.template.has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "rate(1 minute)", "State": "ENABLED",
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("^PipelineWatchJobs"), "Arn"]},
                                       "RetryPolicy": {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0}})]})
    poller = _actions(_statements_of(synthesized, "WatchJobsRole"))
    assert poller >= {"dynamodb:Query", "dynamodb:DeleteItem", "sagemaker:ListInferenceRecommendationsJobs",
                      "sagemaker:StopInferenceRecommendationsJob", "events:EnableRule", "events:DisableRule",
                      "states:SendTaskSuccess", "states:SendTaskFailure"}
    assert not any(a.startswith(("s3:", "sns:", "dynamodb:PutItem", "dynamodb:UpdateItem")) for a in poller)


@pytest.mark.parametrize("step", ["ValidateSubmission", "RegisterModel", "StartRecommendationJob",
                                  "CheckRecommendationJob", "PublishResults"])
def test_every_step_catches_everything_into_the_failure_path(synthesized: Any, step: str) -> None:
    states = _definition(synthesized)["States"]
    (catch,) = states[step]["Catch"]
    assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{step}Failed"}
    assert states[f"{step}Failed"]["Result"] == {"step": step}
    assert states[f"{step}Failed"]["Next"] == "RecordFailure"


def test_lambda_service_errors_are_retried_and_registration_waits(synthesized: Any) -> None:
    states = _definition(synthesized)["States"]
    tasks = [name for name, state in states.items() if state["Type"] == "Task" and ":aws-sdk:" not in state["Resource"]]
    assert len(tasks) == 7
    for step in tasks:
        retried = {e for r in states[step]["Retry"] for e in r["ErrorEquals"]}
        assert {"Lambda.ServiceException", "Lambda.SdkClientException"} <= retried
        # Throttling that outlasted boto3's own retries, and Lambda's throttling: a long backoff with jitter.
        assert {"TransientAwsError", "Lambda.TooManyRequestsException"} <= retried or "States.ALL" in retried, step
        for retry in states[step]["Retry"]:
            if "TransientAwsError" in retry["ErrorEquals"]:
                assert retry == {"ErrorEquals": ["TransientAwsError", "Lambda.TooManyRequestsException"],
                                 "IntervalSeconds": 5, "MaxAttempts": 6, "BackoffRate": 2, "MaxDelaySeconds": 300,
                                 "JitterStrategy": "FULL"}
    assert any(r["ErrorEquals"] == ["ModelPackageNotReady"] for r in states["RegisterModel"]["Retry"])
    # A poll that fails for any other reason is tried again; the job's own outcome never is.
    check = states["CheckRecommendationJob"]["Retry"]
    assert check[-2] == {"ErrorEquals": ["RecommendationJobFailed", "RecommendationJobStopped",
                                         "RecommendationJobTimedOut"], "MaxAttempts": 0}
    assert check[-1]["ErrorEquals"] == ["States.ALL"] and check[-1]["MaxAttempts"] == 2


def test_state_machine_may_only_invoke_its_own_functions(synthesized: Any) -> None:
    statements = _statements_of(synthesized, "StateMachineRole")
    invoke = [s for s in statements if "lambda:InvokeFunction" in _actions([s])]
    assert invoke and all("*" != r for s in invoke for r in s["Resource"])


def test_pass_role_is_only_for_the_recommender_role_and_only_to_sagemaker(synthesized: Any) -> None:
    for policy in _resources(synthesized, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "iam:PassRole" in _actions([statement]):
                assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
                assert "RecommenderRole" in json.dumps(statement["Resource"])


def test_step_functions_are_scoped_to_their_own_calls(synthesized: Any) -> None:
    check = _actions(_statements_of(synthesized, "CheckRecommendationJobRole"))
    assert {"sagemaker:DescribeInferenceRecommendationsJob", "sagemaker:StopInferenceRecommendationsJob"} <= check
    # A job still running goes back on the shared poller's list, and the poller's schedule on.
    assert {a for a in check if a.startswith(("dynamodb:", "events:"))} == {"dynamodb:PutItem", "events:EnableRule"}
    assert not any(a.startswith(("sns:", "s3:")) for a in check)
    validate = _actions(_statements_of(synthesized, "ValidateSubmissionRole"))
    assert not any(a.startswith("sagemaker:") or a.startswith("sns:") for a in validate)
    assert not any(a in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion") for a in validate)


def test_sagemaker_statements_of_the_workflow_are_scoped_to_the_name_prefix(synthesized: Any) -> None:
    for role in ("RegisterModelRole", "StartRecommendationJobRole", "CheckRecommendationJobRole",
                 "PublishResultsRole"):
        for statement in _statements_of(synthesized, role):
            if any(a.startswith("sagemaker:") and _has_resource_types(a) for a in _actions([statement])):
                resources = json.dumps(statement["Resource"])
                assert "/nr-*" in resources, (role, resources)


def test_recommender_role_is_assumed_by_sagemaker_and_reads_only_the_watched_prefix(synthesized: Any) -> None:
    synthesized.template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "sagemaker.amazonaws.com"}})]}})
    statements = _statements_of(synthesized, "RecommenderRole")
    s3_resources = json.dumps([s["Resource"] for s in statements if any(a.startswith("s3:") for a in _actions([s]))])
    assert "/models/*" in s3_resources and "/neo-compiled/*" in s3_resources
    writes = [s for s in statements if "s3:PutObject" in _actions([s])]
    assert writes and all("models/" not in json.dumps(s["Resource"]) for s in writes)


def _has_resource_types(action: str) -> bool:
    from neo_recommender.emulator.iam_dataset import action_info

    service, name = action.split(":")
    return action_info(service, name).has_resource_types


def test_outputs_tell_users_where_to_submit_and_read(synthesized: Any) -> None:
    outputs = synthesized.template_json["Outputs"]
    assert {"SubmissionBucketName", "WatchedPrefix", "ResultsTableName", "NotificationTopicArn",
            "StateMachineArn"} <= set(outputs)
    assert outputs["WatchedPrefix"]["Value"] == "models/"


def test_no_hard_coded_physical_names(synthesized: Any) -> None:
    for kind, name_property in (("AWS::S3::Bucket", "BucketName"), ("AWS::DynamoDB::Table", "TableName"),
                                ("AWS::SNS::Topic", "TopicName"), ("AWS::Lambda::Function", "FunctionName"),
                                ("AWS::StepFunctions::StateMachine", "StateMachineName"),
                                ("AWS::IAM::Role", "RoleName")):
        for resource in _resources(synthesized, kind).values():
            assert name_property not in resource["Properties"], kind


def test_validate_may_list_the_bucket_so_a_missing_archive_reads_as_404(synthesized: Any) -> None:
    statements = _statements_of(synthesized, "ValidateSubmissionRole")
    listing = [s for s in statements if "s3:ListBucket" in _actions([s])]
    assert listing and all("Condition" not in s for s in listing)  # HeadObject carries no s3:prefix


def test_s3_and_dynamodb_grants_name_exact_actions_and_no_index(synthesized: Any) -> None:
    for policy in _resources(synthesized, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = _actions([statement])
            assert not any(a.startswith(("s3:", "dynamodb:")) and "*" in a for a in actions), actions
            if any(a.startswith("dynamodb:") for a in actions):
                assert "/index/" not in json.dumps(statement["Resource"])


def test_undeliverable_events_land_in_an_encrypted_tls_only_dead_letter_queue(synthesized: Any) -> None:
    (queue_id, queue), = _resources(synthesized, "AWS::SQS::Queue").items()
    assert queue["Properties"] == {"MessageRetentionPeriod": 14 * 86400, "SqsManagedSseEnabled": True}
    synthesized.template.has_resource_properties("AWS::SQS::QueuePolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})
    rules = [r for r in _resources(synthesized, "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    assert len(rules) == 2  # (the shared poller's schedule needs no DLQ: a missed pass is made up by the next)
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_runs_that_end_unrecorded_are_caught_by_the_status_change_rule(synthesized: Any) -> None:
    (rule,) = [r for name, r in _resources(synthesized, "AWS::Events::Rule").items() if "RunEndedRule" in name]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    (machine_id,) = _resources(synthesized, "AWS::StepFunctions::StateMachine")
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    (function_id, function), = [(name, f) for name, f in _resources(synthesized, "AWS::Lambda::Function").items()
                                if f["Properties"]["Handler"].endswith("record_ended_run.handler")]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    # Lambda's own retries of the asynchronous invocation, then the same dead-letter queue.
    assert "TargetArn" in function["Properties"]["DeadLetterConfig"]
    synthesized.template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "FunctionName": {"Ref": function_id}, "MaximumRetryAttempts": 2})


def _topic_id(synthesized: Any, construct_id: str) -> str:
    (topic_id,) = [name for name in _resources(synthesized, "AWS::SNS::Topic") if construct_id in name]
    return topic_id


def test_alarms_notify_their_own_topic_on_errors_that_end_a_run_not_on_retried_ones(synthesized: Any) -> None:
    alarms = _resources(synthesized, "AWS::CloudWatch::Alarm")
    topic_id = _topic_id(synthesized, "AlarmTopic")
    assert sorted(name.removeprefix("Pipeline")[:-8] for name in alarms) == [
        "DeadLettersAlarm", "FailedRunsAlarm", "JobPollerFailingAlarm"]
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}] and props["Threshold"] == 1
        assert props["TreatMissingData"] == "notBreaching"
    # No alarm watches the workflow's functions' Errors: TransientAwsError, SlotContention and ModelPackageNotReady
    # are raised to be retried; an error that outlasts its retries ends the run, and the run's failure alarms.
    functions = _resources(synthesized, "AWS::Lambda::Function")
    watched = [json.dumps(a["Properties"]) for a in alarms.values()]
    poller_id = next(name for name in functions if "WatchJobs" in name)
    assert [name for name in functions if any(name in text for text in watched)] == [poller_id]
    (poller,) = [a["Properties"] for name, a in alarms.items() if "JobPollerFailing" in name]
    assert (poller["MetricName"], poller["EvaluationPeriods"]) == ("Errors", 3)  # a pass failing is retried by the next
    (failed,) = [a for name, a in alarms.items() if "FailedRuns" in name]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in failed["Properties"]["Metrics"] if "MetricStat" in m}
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}


def _dashboard_body(synthesized: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dashboard's body, references replaced by ``@<n>``, and what each placeholder refers to."""
    (dashboard,) = _resources(synthesized, "AWS::CloudWatch::Dashboard").values()
    references: dict[str, Any] = {}
    text = ""
    for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]:
        if isinstance(part, str):
            text += part
        else:
            references[f"@{len(references)}"] = part
            text += f"@{len(references) - 1}"
    return json.loads(text), references


def test_the_dashboard_graphs_only_metrics_the_pipeline_emits_or_its_resources_have(synthesized: Any) -> None:
    from neo_runtime import metrics

    body, references = _dashboard_body(synthesized)
    resources = synthesized.template_json["Resources"]
    graphed: set[str] = set()
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            namespace, name, *rest = [part for part in metric if not isinstance(part, dict)]
            dimensions = dict(zip(rest[::2], rest[1::2], strict=True))
            if namespace == metrics.NAMESPACE:  # one the handlers emit (neo_runtime.metrics), for this deployment
                assert name in metrics.UNITS and dimensions == {"Pipeline": "nr-"}, metric
                graphed.add(name)
            elif namespace == "AWS/Lambda":  # a function of the stack
                (function,) = dimensions.values()
                assert resources[references[function]["Ref"]]["Type"] == "AWS::Lambda::Function"
            else:  # the stack's dead-letter queue
                assert namespace == "AWS/SQS" and name in ("ApproximateNumberOfMessagesVisible",
                                                           "ApproximateAgeOfOldestMessage")
                queue = references[dimensions["QueueName"]]["Fn::GetAtt"][0]
                assert resources[queue]["Type"] == "AWS::SQS::Queue"
    assert graphed == set(metrics.UNITS)  # and every metric the pipeline emits is on it
    (alarm_widget,) = [widget for widget in body["widgets"] if widget["properties"].get("alarms")]
    alarms = {references[arn]["Fn::GetAtt"][0] for arn in alarm_widget["properties"]["alarms"]}
    assert alarms == set(_resources(synthesized, "AWS::CloudWatch::Alarm"))
    lambda_widget = next(w for w in body["widgets"] if w["properties"].get("title") == "Function errors and throttles")
    functions = {references[part]["Ref"] for metric in lambda_widget["properties"]["metrics"] for part in metric
                 if isinstance(part, str) and part.startswith("@")}
    assert functions == set(_resources(synthesized, "AWS::Lambda::Function"))
    for metric in lambda_widget["properties"]["metrics"]:  # each labelled with its function's step
        (function,) = [part for part in metric if isinstance(part, str) and part.startswith("@")]
        (options,) = [part for part in metric if isinstance(part, dict)]
        step = options["label"].removesuffix(" throttles")
        assert re.fullmatch(f"Pipeline{step}[0-9A-F]{{8}}", references[function]["Ref"]), (step, metric)
