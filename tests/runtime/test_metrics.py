"""The pipeline's metrics as embedded metric format records: one JSON line each, as CloudWatch extracts them.

Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
from datetime import datetime

import botocore.session
import pytest

from neo_runtime import metrics

#: CloudWatch's units (the botocore model's StandardUnit enum).
STANDARD_UNITS = set(botocore.session.get_session().get_service_model("cloudwatch").shape_for("StandardUnit").enum)


def test_a_record_is_one_json_line_cloudwatch_can_extract(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_NAME_PREFIX", "nr-")
    metrics.emit(metrics.QUEUE_WAIT, 42.5, run_id="r1")
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive == {"Namespace": "NeoRecommender", "Dimensions": [["Pipeline"]],
                         "Metrics": [{"Name": "QueueWaitSeconds", "Unit": "Seconds"}]}
    assert isinstance(record["_aws"]["Timestamp"], int)
    # Every dimension and metric the directive names is a member of the root node; other members are properties.
    assert (record["Pipeline"], record["QueueWaitSeconds"], record["run_id"]) == ("nr-", 42.5, "r1")
    # What Lambda's log-level filter reads: a level (INFO without filtering) and the same time, in RFC 3339.
    assert record["level"] == "INFO"
    seconds = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp()
    assert round(seconds * 1000) == record["_aws"]["Timestamp"] and record["timestamp"].endswith("Z")


def test_a_record_carries_the_application_log_level_lambda_filters_by(capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "ERROR")  # Lambda sets it from the function's ApplicationLogLevel
    metrics.emit(metrics.RUNS_COMPLETED, 1)
    assert json.loads(capsys.readouterr().out)["level"] == "ERROR"


def test_every_metric_has_a_cloudwatch_unit() -> None:
    assert set(metrics.UNITS.values()) <= STANDARD_UNITS
    assert set(metrics.OF_FINAL_STATUS.values()) <= set(metrics.UNITS)
    assert len(metrics.UNITS) == 11
