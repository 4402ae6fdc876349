"""Lambda's Python runtime logging, as the emulator runs it, with the handlers' ``RunLogger``.

The JSON fields are those of the runtime interface client's ``JsonFormatter``
(aws/aws-lambda-python-runtime-interface-client, awslambdaric/lambda_runtime_log_utils.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest

from neo_recommender.emulator.lambda_logging import LoggingConfig, RuntimeLogging
from neo_recommender.emulator.lambda_runner import InProcessLambdas
from neo_runtime.log import RunLogger

JSON_INFO = LoggingConfig("JSON", "INFO", "INFO")


@pytest.fixture
def runtime() -> Iterator[RuntimeLogging]:
    logging_ = RuntimeLogging()
    logging_.install()
    yield logging_
    logging_.uninstall()


def test_a_json_line_carries_the_request_id_the_step_and_the_run_id(runtime: RuntimeLogging) -> None:
    with runtime.invocation("validate", "req-1", JSON_INFO):
        RunLogger("ValidateSubmission", run_id="r1").info("submission valid", warnings=2, cost=Decimal("1.5"),
                                                         name="shadows a LogRecord attribute")
    (record,) = runtime.records("validate")
    assert record["requestId"] == "req-1" and record["level"] == "INFO" and record["logger"] == "neo_runtime"
    assert record["message"] == "submission valid"
    assert (record["step"], record["run_id"], record["warnings"], record["cost"]) == ("ValidateSubmission", "r1", 2,
                                                                                      "1.5")
    assert record["name_"] == "shadows a LogRecord attribute"
    assert "stackTrace" not in record and "errorType" not in record  # None fields are left out
    start, report = [line for line in runtime.lines["validate"] if "type" in line]
    assert (start["type"], start["record"]["requestId"], report["type"]) == ("platform.start", "req-1",
                                                                             "platform.report")


def test_an_error_carries_its_exception_as_structured_fields(runtime: RuntimeLogging) -> None:
    with runtime.invocation("record", "req-2", JSON_INFO):
        try:
            raise ValueError("table is gone")
        except ValueError:
            RunLogger("RecordFailure", run_id="r2").error("could not record the failed run")
    (record,) = runtime.records("record")
    assert (record["level"], record["errorType"], record["errorMessage"]) == ("ERROR", "ValueError", "table is gone")
    assert record["stackTrace"] and "test_an_error_carries" in record["location"]


def test_the_runtimes_unhandled_error_record_is_kept_at_info_and_dropped_at_warn(runtime: RuntimeLogging) -> None:
    # The runtime writes it with "log_level", which Lambda's filter does not read: INFO, so dropped at WARN
    # (aws/aws-lambda-python-runtime-interface-client#202). The pipeline's own error lines carry "level".
    for function, config in (("info", JSON_INFO), ("warn", LoggingConfig("JSON", "WARN", "WARN"))):
        with runtime.invocation(function, f"req-{function}", config):
            runtime.unhandled(ValueError("boom"))
    assert [line["errorMessage"] for line in runtime.records("info")] == ["boom"]
    assert runtime.records("warn") == []


def test_the_application_log_level_decides_what_is_written(runtime: RuntimeLogging) -> None:
    with runtime.invocation("quiet", "req-3", LoggingConfig("JSON", "WARN", "WARN")):
        RunLogger("S").info("not written")
        RunLogger("S").warning("written")
    assert [record["message"] for record in runtime.records("quiet")] == ["written"]
    assert not [line for line in runtime.lines["quiet"] if "type" in line]  # system level WARN: no platform records
    with runtime.invocation("verbose", "req-4", LoggingConfig("JSON", "DEBUG", "INFO")):
        logging.getLogger("neo_runtime").debug("written too")
    assert [record["message"] for record in runtime.records("verbose")] == ["written too"]


def test_text_format_and_records_outside_an_invocation(runtime: RuntimeLogging) -> None:
    with runtime.invocation("plain", "req-5", LoggingConfig()):
        logging.getLogger("neo_runtime").warning("plain line")
    (line,) = runtime.lines["plain"]
    assert line.startswith("[WARNING]\t") and line.endswith("\treq-5\tplain line")
    logging.getLogger("neo_runtime").warning("not a function's")
    assert sum(len(lines) for lines in runtime.lines.values()) == 1


def test_the_logging_config_of_a_template_function() -> None:
    assert LoggingConfig.from_template({"LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}}) == \
        LoggingConfig("JSON", "DEBUG", "INFO")
    assert LoggingConfig.from_template({}) == LoggingConfig("Text", None, None)


def test_what_the_function_prints_is_its_log_and_other_threads_print_as_before(
        runtime: RuntimeLogging, capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from neo_runtime import metrics

    with runtime.invocation("publish", "req-6", JSON_INFO):
        metrics.emit(metrics.RUNS_COMPLETED, 1, run_id="r6")
        print("plain text", end="")  # a last line without its newline is kept too
        other = threading.Thread(target=print, args=("from the test's own thread",))
        other.start()
        other.join()
    (record,) = runtime.metrics("publish")
    assert record["RunsCompleted"] == 1 and record["run_id"] == "r6"
    assert "plain text" in runtime.lines["publish"]
    assert capsys.readouterr().out == "from the test's own thread\n"
    assert runtime.records("publish") == []  # metrics and prints are not log records


def test_a_stdout_left_in_place_by_an_invocation_is_not_wrapped_again(runtime: RuntimeLogging) -> None:
    """pytest saves ``sys.stdout`` at a test's start and restores it at its end; when an invocation was running at
    the start, what it restores is the invocation's stream. The next invocations must not wrap it again (each print
    then went through one more write per test, until a segmentation fault)."""
    import sys

    saved = sys.stdout
    for index in range(3):
        with runtime.invocation("poller", f"req-{index}", JSON_INFO):
            left_in_place = sys.stdout
        sys.stdout = left_in_place  # as pytest's restore does
    try:
        assert not isinstance(left_in_place._original, type(left_in_place))  # type: ignore[attr-defined]
    finally:
        sys.stdout = saved


def test_printed_lines_below_the_application_log_level_are_dropped_as_lambda_does(runtime: RuntimeLogging) -> None:
    """https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html: a printed JSON object's
    "level" decides; a missing or invalid level, a missing or invalid RFC 3339 timestamp, or a text line is INFO."""
    at = "2026-01-01T00:00:00.000Z"
    printed = [{"level": "ERROR", "timestamp": at, "message": "error"},
               {"level": "warn", "timestamp": at, "message": "warn, any case"},
               {"level": "FATAL", "timestamp": "2026-01-01T01:00:00+01:00", "message": "fatal, with an offset"},
               {"level": "INFO", "timestamp": at, "message": "info"},
               {"level": "DEBUG", "timestamp": at, "message": "debug"},
               {"level": "ERROR", "message": "no timestamp: INFO"},
               {"level": "ERROR", "timestamp": "yesterday", "message": "invalid timestamp: INFO"},
               {"level": "LOUD", "timestamp": at, "message": "invalid level: INFO"},
               {"message": "no level: INFO"}]

    def print_all() -> None:
        for line in printed:
            print(json.dumps(line))
        print("a text line: INFO")

    def kept(function_name: str) -> list[str]:
        return [line["message"] if isinstance(line, dict) else line for line in runtime.lines[function_name]
                if not (isinstance(line, dict) and "type" in line)]

    with runtime.invocation("warn", "req-7", LoggingConfig("JSON", "WARN", "WARN")):
        print_all()
    assert kept("warn") == ["error", "warn, any case", "fatal, with an offset"]
    with runtime.invocation("info", "req-8", JSON_INFO):
        print_all()
    assert kept("info") == [line["message"] for line in printed if line["message"] != "debug"] + ["a text line: INFO"]
    with runtime.invocation("text", "req-9", LoggingConfig()):  # log-level filtering needs the JSON format
        print_all()
    assert len(kept("text")) == len(printed) + 1


def test_metrics_survive_a_raised_application_log_level(runtime: RuntimeLogging) -> None:
    """At WARN, Lambda drops a printed line without a level (INFO): an EMF record must carry one that passes."""
    from neo_runtime import metrics

    quiet = LoggingConfig("JSON", "WARN", "WARN")
    lambdas = InProcessLambdas()
    lambdas.function_logging["start"] = quiet
    function = SimpleNamespace(function_name="start", region="eu-west-1", environment_vars={"JOB_NAME_PREFIX": "nr-"})
    environment = lambdas.environment_of(function)  # what Lambda sets for the runtime
    lambdas.function_logging.clear()  # without log-level filtering Lambda sets no level (the record says INFO)
    assert "AWS_LAMBDA_LOG_LEVEL" not in lambdas.environment_of(function)
    lambdas.uninstall()  # never installed: this only deletes its folder
    assert (environment["AWS_LAMBDA_LOG_FORMAT"], environment["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "WARN")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        with runtime.invocation("start", "req-10", quiet):
            metrics.emit(metrics.RUNS_QUEUED, 1, run_id="r10")
            RunLogger("StartRecommendationJob", run_id="r10").info("waiting for a job slot")
    (record,) = runtime.metrics("start")
    assert (record["RunsQueued"], record["level"], record["Pipeline"]) == (1, "WARN", "nr-")
    assert runtime.records("start") == []  # the INFO log line is filtered out, the metric is not
