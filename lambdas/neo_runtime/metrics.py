"""The pipeline's own CloudWatch metrics, as embedded metric format (EMF) log lines: no dependency, no API call.

A function prints one JSON object per metric to stdout; CloudWatch Logs extracts the metric from
its ``_aws`` block (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html). Every metric is in ``NAMESPACE`` with one
dimension, ``Pipeline`` (the deployment's SageMaker name prefix), which the construct's
``metric_*`` methods and its dashboard use too.
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
RUNNING_JOBS = "RunningJobs"
JOB_DURATION = "JobDurationSeconds"
COMPILED_RECOMMENDATIONS = "CompiledRecommendations"
NEO_SAVING = "NeoSavingPercent"

#: Every metric the pipeline emits, and its unit.
UNITS = {RUNS_STARTED: "Count", RUNS_QUEUED: "Count", RUNS_COMPLETED: "Count", RUNS_FAILED: "Count",
         RUNS_TIMED_OUT: "Count", QUEUE_WAIT: "Seconds", RUNNING_JOBS: "Count", JOB_DURATION: "Seconds",
         COMPILED_RECOMMENDATIONS: "Count", NEO_SAVING: "Percent"}
#: The metric of each final run status.
OF_FINAL_STATUS = {"COMPLETED": RUNS_COMPLETED, "FAILED": RUNS_FAILED, "TIMED_OUT": RUNS_TIMED_OUT}


def emit(name: str, value: float, **properties: str) -> None:
    """Print one EMF record of ``name`` (a metric of ``UNITS``); ``properties`` ride along, searchable in Logs."""
    record = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [[DIMENSION]],
            "Metrics": [{"Name": name, "Unit": UNITS[name]}]}]},
        DIMENSION: pipeline(),
        name: value,
        **properties,
    }
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def pipeline() -> str:
    """The ``Pipeline`` dimension's value: the deployment's SageMaker name prefix."""
    return os.environ.get("JOB_NAME_PREFIX", "")
