"""The pipeline's own CloudWatch metrics, as embedded metric format (EMF) log lines: no dependency, no API call.

A function prints one JSON object per metric to stdout; CloudWatch Logs extracts the metric from
its ``_aws`` block (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html). Every metric is in ``NAMESPACE`` with one
dimension, ``Pipeline`` (the deployment's SageMaker name prefix), which the construct's
``metric_*`` methods and its dashboard use too.

The functions use Lambda's JSON log format with application log-level filtering, and Lambda filters
what a function prints too: a JSON line whose ``"level"`` is missing or invalid counts as INFO, and so
does one without a valid RFC 3339 ``"timestamp"``
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html). With
``log_level`` WARN or ERROR a record without both would be dropped before CloudWatch extracts its
metric, so each carries the function's own application log level (which always passes) and a
timestamp. EMF ignores them: the root node may hold members other than the metrics and dimensions.
"""

from __future__ import annotations

import json
import os
import sys
import time

NAMESPACE = "NeoRecommender"
DIMENSION = "Pipeline"

RUNS_STARTED = "RunsStarted"
RUNS_QUEUED = "RunsQueued"
RUNS_COMPLETED = "RunsCompleted"
RUNS_FAILED = "RunsFailed"
RUNS_TIMED_OUT = "RunsTimedOut"
QUEUE_WAIT = "QueueWaitSeconds"
RUNS_WAITING = "RunsWaiting"
RUNNING_JOBS = "RunningJobs"
JOB_DURATION = "JobDurationSeconds"
COMPILED_RECOMMENDATIONS = "CompiledRecommendations"
NEO_SAVING = "NeoSavingPercent"

#: Every metric the pipeline emits, and its unit.
UNITS = {RUNS_STARTED: "Count", RUNS_QUEUED: "Count", RUNS_COMPLETED: "Count", RUNS_FAILED: "Count",
         RUNS_TIMED_OUT: "Count", QUEUE_WAIT: "Seconds", RUNS_WAITING: "Count", RUNNING_JOBS: "Count",
         JOB_DURATION: "Seconds", COMPILED_RECOMMENDATIONS: "Count", NEO_SAVING: "Percent"}
#: The metric of each final run status.
OF_FINAL_STATUS = {"COMPLETED": RUNS_COMPLETED, "FAILED": RUNS_FAILED, "TIMED_OUT": RUNS_TIMED_OUT}


def emit(name: str, value: float, **properties: str) -> None:
    """Print one EMF record of ``name`` (a metric of ``UNITS``); ``properties`` ride along, searchable in Logs."""
    milliseconds = int(time.time() * 1000)
    record = {
        "level": application_log_level(),
        "timestamp": _rfc3339(milliseconds),
        "_aws": {"Timestamp": milliseconds, "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [[DIMENSION]],
            "Metrics": [{"Name": name, "Unit": UNITS[name]}]}]},
        DIMENSION: pipeline(),
        name: value,
        **properties,
    }
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


#: Lambda's application log levels (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
LAMBDA_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def application_log_level() -> str:
    """The function's application log level, as Lambda sets it in ``AWS_LAMBDA_LOG_LEVEL`` (INFO without one).

    "When you configure application log-level filtering for your function, behind the scenes Lambda sets the
    application log level in the runtime using the AWS_LAMBDA_LOG_LEVEL environment variable" (Lambda developer
    guide, log-level filtering, "Application log-level filtering with custom runtimes":
    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html; quoted in
    https://github.com/aws/aws-lambda-rust-runtime/issues/821). The Python runtime sets its root logger's level
    from it. Without filtering nothing is dropped, and INFO is what Lambda assumes anyway.
    """
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    return level if level in LAMBDA_LOG_LEVELS else "INFO"


def _rfc3339(milliseconds: int) -> str:
    """``milliseconds`` since the epoch as an RFC 3339 UTC time, the runtime's own ``timestamp`` key."""
    seconds, fraction = divmod(milliseconds, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:03d}Z"


def pipeline() -> str:
    """The ``Pipeline`` dimension's value: the deployment's SageMaker name prefix."""
    return os.environ.get("JOB_NAME_PREFIX", "")
