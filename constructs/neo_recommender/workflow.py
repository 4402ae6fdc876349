"""The Step Functions definition of a run: validate, register, start (or queue), wait, publish; or fail.

While its job runs, a run either waits on the shared poller (``AwaitRecommendationJob``: its task token in the
watch list, no transitions until the poller answers) or polls the job itself every poll interval
(``WaitForJob`` / ``CheckRecommendationJob`` / ``JobFinished?``), as ``JobPolling`` says.

An invalid submission goes from the first state straight to the failure path, with every
finding of the preflight validation in the state.

Every task catches every error into one failure path that records and announces the run;
each task's output lands under its own key of the state, so the failure path sees how far
the run got.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from constructs import Construct

T = TypeVar("T", bound=sfn.TaskStateBase)

#: Errors every step retries with a long, jittered backoff: an AWS call still throttled or failing after
#: boto3's own retries (``neo_runtime.aws.retried_when_transient``), and Lambda's own throttling.
TRANSIENT_ERRORS = ["TransientAwsError", "Lambda.TooManyRequestsException"]
#: Outcomes of the IR job that polling reports; they are the run's result, never retried.
JOB_OUTCOMES = ["RecommendationJobFailed", "RecommendationJobStopped", "RecommendationJobTimedOut"]
#: DynamoDB errors (as Step Functions names an SDK integration's) worth retrying.
TRANSIENT_DYNAMODB_ERRORS = ["DynamoDb.ProvisionedThroughputExceededException", "DynamoDb.ThrottlingException",
                             "DynamoDb.RequestLimitExceededException", "DynamoDb.InternalServerErrorException"]


class JobPolling(Enum):
    """How a run learns that its Inference Recommender job has ended (SageMaker sends no event)."""

    #: One poller checks every running job of the deployment in one pass each poll interval and
    #: resumes the runs whose job ended; a run waits on a task token, its cost independent of the
    #: job's length. The poller's schedule is on only while jobs run.
    SHARED = "shared"
    #: Each run polls its own job every poll interval (Wait, Check, Choice: three state
    #: transitions and one Lambda invocation per poll). Nothing shared, cost grows with the job.
    PER_RUN = "per_run"


@dataclass(frozen=True)
class WorkflowFunctions:
    """The Lambda function of each workflow step."""

    validate_submission: lambda_.IFunction
    register_model: lambda_.IFunction
    start_job: lambda_.IFunction
    await_job_slot: lambda_.IFunction
    check_job: lambda_.IFunction
    publish_results: lambda_.IFunction
    record_failure: lambda_.IFunction


def build_definition(
    scope: Construct, functions: WorkflowFunctions, *, poll_interval: Duration, job_polling: JobPolling,
    table: dynamodb.ITable,
) -> sfn.IChainable:
    """Chain the states of one run and return the start of the chain.

    ``table`` holds the watch list the shared poller reads (``neo_runtime.job_watch``).
    """
    execution_arn = sfn.JsonPath.string_at("$$.Execution.Id")

    record_failure = _invoke(scope, "RecordFailure", functions.record_failure,
                             {"state": sfn.JsonPath.entire_payload, "execution_arn": execution_arn},
                             "$.failure")
    # The failure path must not fail: its record, its message and the slot it frees are the run's last word.
    record_failure.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(5), max_attempts=4, backoff_rate=2,
                             jitter_strategy=sfn.JitterType.FULL)
    record_failure.next(sfn.Fail(scope, "RunFailed", error="RunFailed",
                                 cause="The run failed; its record in DynamoDB and the SNS message say why."))

    failure_notes: dict[str, sfn.Pass] = {}

    def on_failure(task: T, step: str) -> T:
        note_step = sfn.Pass(scope, f"{step}Failed", result=sfn.Result.from_object({"step": step}),
                             result_path="$.failed_step")
        failure_notes[step] = note_step
        task.add_catch(note_step.next(record_failure), errors=[sfn.Errors.ALL], result_path="$.error")
        return task

    validate = on_failure(_invoke(scope, "ValidateSubmission", functions.validate_submission,
                                  {"event": sfn.JsonPath.entire_payload, "execution_arn": execution_arn},
                                  "$.submission"), "ValidateSubmission")
    register = on_failure(_invoke(scope, "RegisterModel", functions.register_model,
                                  {"submission": sfn.JsonPath.object_at("$.submission")},
                                  "$.model_package"), "RegisterModel")
    register.add_retry(errors=["ModelPackageNotReady"], interval=Duration.seconds(10), max_attempts=5,
                       backoff_rate=2)
    start_job = on_failure(_invoke(scope, "StartRecommendationJob", functions.start_job,
                                   {"submission": sfn.JsonPath.object_at("$.submission"),
                                    "model_package": sfn.JsonPath.object_at("$.model_package"),
                                    "execution_arn": execution_arn,
                                    "execution_started": sfn.JsonPath.string_at("$$.Execution.StartTime")},
                                   "$.job"), "StartRecommendationJob")
    check_job = on_failure(_invoke(scope, "CheckRecommendationJob", functions.check_job,
                                   {"run_id": sfn.JsonPath.string_at("$.submission.run_id"),
                                    "job": sfn.JsonPath.object_at("$.job")},
                                   "$.job"), "CheckRecommendationJob")
    publish = on_failure(_invoke(scope, "PublishResults", functions.publish_results,
                                 {"submission": sfn.JsonPath.object_at("$.submission"),
                                  "job": sfn.JsonPath.object_at("$.job"),
                                  "model_package": sfn.JsonPath.object_at("$.model_package"),
                                  "execution_arn": execution_arn},
                                 "$.results"), "PublishResults")

    # Polling is read-only and the job runs on regardless: a glitch in one poll must not end the run.
    _retry_transient_errors(check_job)
    check_job.add_retry(errors=JOB_OUTCOMES, max_attempts=0)
    check_job.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(10), max_attempts=2, backoff_rate=2,
                        jitter_strategy=sfn.JitterType.FULL)

    # Many runs updating the job slots' holders at once: try again shortly (neo_runtime.job_slots).
    for task in (start_job, publish):
        task.add_retry(errors=["SlotContention"], interval=Duration.seconds(2), max_attempts=6, backoff_rate=2,
                       jitter_strategy=sfn.JitterType.FULL)

    publish.next(sfn.Succeed(scope, "RunCompleted"))
    if job_polling is JobPolling.SHARED:
        # The run's token joins its job's item on the watch list; the shared poller answers it. If
        # the poller stays silent for watch_timeout_seconds, the run checks its job itself (and puts
        # it back on the list), each time twice as late: a lost answer delays a run, never strands it.
        watch_job = _watch_job(scope, table)
        # The job's item is gone before the run stored its token: the poller drops an item left token-less past
        # job_watch.TOKENLESS_GRACE (a run whose execution ended in between). A run that was only slow gets here:
        # it checks its job itself, and puts it back on the list if it still runs.
        watch_job.add_catch(check_job, errors=["DynamoDb.ConditionalCheckFailedException"],
                            result_path=sfn.JsonPath.DISCARD)
        watch_job.add_catch(check_job, errors=[sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD)
        on_failure(watch_job, "AwaitRecommendationJob").next(publish)
        wait_for_job: sfn.State = watch_job
    else:
        wait_for_job = sfn.Wait(scope, "WaitForJob", time=sfn.WaitTime.duration(poll_interval))
        wait_for_job.next(check_job)
    check_job.next(sfn.Choice(scope, "JobFinished?")
                   .when(sfn.Condition.string_equals("$.job.status", "COMPLETED"), publish)
                   .otherwise(wait_for_job))

    # An invalid submission is a result, not an exception: its findings travel in the state.
    rejected = sfn.Pass(scope, "SubmissionRejected",
                        parameters={"Error": "SubmissionInvalid",
                                    "Cause": sfn.JsonPath.string_at("$.submission.error_message")},
                        result_path="$.error")
    rejected.next(failure_notes["ValidateSubmission"])
    duplicate = (sfn.Choice(scope, "DuplicateEvent?")
                 .when(sfn.Condition.boolean_equals("$.submission.duplicate", True),
                       sfn.Succeed(scope, "AlreadyHandled", comment="Another execution owns this object version."))
                 .when(sfn.Condition.boolean_equals("$.submission.valid", False), rejected)
                 .otherwise(register))
    # With max_concurrent_jobs, a queued run leaves its task token and waits until a released slot
    # wakes it, or asks again when StartRecommendationJob said (``recheck_seconds``: longer the further back it
    # is, ``neo_runtime.job_slots.recheck_interval``; at least 60 s: TimeoutSecondsPath must resolve to a positive
    # integer, https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html); while IR's account quota is
    # full it backs off.
    await_slot = tasks.LambdaInvoke(
        scope, "AwaitJobSlot",
        lambda_function=functions.await_job_slot,
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload=sfn.TaskInput.from_object({"run_id": sfn.JsonPath.string_at("$.submission.run_id"),
                                           "task_token": sfn.JsonPath.task_token}),
        task_timeout=sfn.Timeout.at("$.job.recheck_seconds"),
        retry_on_service_exceptions=True,
        result_path=sfn.JsonPath.DISCARD,
    )
    await_slot.add_catch(start_job, errors=[sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD)
    on_failure(await_slot, "AwaitJobSlot")
    await_slot.next(start_job)
    wait_for_quota = sfn.Wait(scope, "WaitForQuota",
                              time=sfn.WaitTime.seconds_path("$.job.retry_after_seconds"))
    wait_for_quota.next(start_job)
    job_started = (sfn.Choice(scope, "JobStarted?")
                   .when(sfn.Condition.boolean_equals("$.job.started", True), wait_for_job)
                   .when(sfn.Condition.string_equals("$.job.reason", "ResourceLimitExceeded"), wait_for_quota)
                   .otherwise(await_slot))
    register.next(start_job).next(job_started)
    for task in (validate, register, start_job, await_slot, publish):
        _retry_transient_errors(task)
    return validate.next(duplicate)


def _watch_job(scope: Construct, table: dynamodb.ITable) -> tasks.CallAwsService:
    """Add the run's task token to its job's watch-list item, then wait for the shared poller to answer.

    A DynamoDB call made by Step Functions itself: no Lambda invocation, one state transition.
    """
    task = tasks.CallAwsService(
        scope, "AwaitRecommendationJob",
        service="dynamodb", action="updateItem",
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        parameters={
            "TableName": table.table_name,
            "Key": {"pk": {"S": "JOB_WATCH"}, "sk": {"S": sfn.JsonPath.string_at("$.job.watch_key")}},
            "UpdateExpression": "SET task_token = :token, waiting_since = :since",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":token": {"S": sfn.JsonPath.task_token},
                                          ":since": {"S": sfn.JsonPath.string_at("$$.State.EnteredTime")}},
        },
        iam_resources=[table.table_arn],
        task_timeout=sfn.Timeout.at("$.job.watch_timeout_seconds"),
        result_path=sfn.JsonPath.DISCARD,
    )
    task.add_retry(errors=TRANSIENT_DYNAMODB_ERRORS, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2,
                   max_delay=Duration.minutes(1), jitter_strategy=sfn.JitterType.FULL)
    return task


def _retry_transient_errors(task: tasks.LambdaInvoke) -> None:
    task.add_retry(errors=TRANSIENT_ERRORS, interval=Duration.seconds(5), max_attempts=6, backoff_rate=2,
                   max_delay=Duration.minutes(5), jitter_strategy=sfn.JitterType.FULL)


def _invoke(scope: Construct, step: str, function: lambda_.IFunction, payload: dict[str, object],
            result_path: str) -> tasks.LambdaInvoke:
    return tasks.LambdaInvoke(
        scope, step,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,
        retry_on_service_exceptions=True,
        result_path=result_path,
    )
