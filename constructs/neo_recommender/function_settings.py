"""How the pipeline's Lambda functions run: runtime, memory and timeout, logging and tracing.

``function_settings`` checks the props at synth (one ``ValueError`` naming every bad one) and
returns what every function is built with. Logs use Lambda's native JSON format with the
application and system log levels set here, so every line carries the request id and the
handlers' structured fields (``neo_runtime.log``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from neo_recommender.storage import struct_overrides

#: The Python runtimes the Lambda code is tested on: its import check (tests/packaging/test_function_assets.py)
#: runs each function's asset under this machine's Python and checks every asset's modules against each
#: runtime's standard library.
SUPPORTED_RUNTIMES = ("python3.11", "python3.12", "python3.13", "python3.14")
DEFAULT_RUNTIME = "python3.14"
#: ``ApplicationLogLevel`` values (TRACE and FATAL are Lambda's too, but Python's logging has neither level).
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
DEFAULT_MEMORY_MB = 256
#: Lambda's bounds (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
MEMORY_RANGE_MB = (128, 10240)
#: Below 30 s a slow S3 or SageMaker answer (and botocore's retries) would time a step out; 15 minutes is Lambda's
#: maximum.
TIMEOUT_RANGE_SECONDS = (30, 900)
FUNCTION_PROPS = ("memory_size", "timeout")


@dataclass(frozen=True)
class FunctionSettings:
    """What every function of the pipeline is built with; ``timeout`` None keeps each function's own."""

    runtime: lambda_.Runtime
    memory_size: int
    timeout: Duration | None
    log_level: str
    log_retention: logs.RetentionDays
    tracing: lambda_.Tracing

    def function_kwargs(self, default_timeout: Duration) -> dict[str, Any]:
        """The ``lambda_.Function`` keyword arguments these settings decide."""
        return {
            "runtime": self.runtime,
            "memory_size": self.memory_size,
            "timeout": self.timeout or default_timeout,
            "tracing": self.tracing,
            "logging_format": lambda_.LoggingFormat.JSON,
            "application_log_level_v2": getattr(lambda_.ApplicationLogLevel, self.log_level),
            # Lambda's own START/END/REPORT records at INFO; its DEBUG records only when the functions log DEBUG.
            "system_log_level_v2": lambda_.SystemLogLevel.DEBUG if self.log_level == "DEBUG"
            else lambda_.SystemLogLevel.INFO,
        }


def function_settings(*, runtime: lambda_.Runtime | None,
                      function_props: lambda_.FunctionOptions | dict[str, Any] | None,
                      log_level: str, log_retention: logs.RetentionDays | None,
                      tracing: lambda_.Tracing | None) -> FunctionSettings:
    """Check the function props and return the settings; ``ValueError`` names every problem.

    ``function_props`` is a ``lambda_.FunctionOptions`` or a dict of its keyword arguments, read as ``bucket_props``
    is (``storage.struct_overrides``: a struct gives only the fields it was built with); anything else is a
    ``TypeError``.
    """
    problems: list[str] = []
    runtime = runtime or lambda_.Runtime(DEFAULT_RUNTIME, lambda_.RuntimeFamily.PYTHON)
    if runtime.name not in SUPPORTED_RUNTIMES:
        problems.append(f"runtime {runtime.name} is not one the Lambda code is tested on; use one of "
                        + ", ".join(f"lambda_.Runtime.PYTHON_{name.removeprefix('python').replace('.', '_')}"
                                  for name in SUPPORTED_RUNTIMES)
                        + f" (by name: {', '.join(SUPPORTED_RUNTIMES)})")
    level = str(log_level).upper()
    if level not in LOG_LEVELS:
        problems.append(f"log_level {log_level!r} must be one of {', '.join(LOG_LEVELS)}")
    given = struct_overrides(function_props, lambda_.FunctionOptions, "function_props")
    unknown = sorted(set(given) - set(FUNCTION_PROPS))
    if unknown:
        problems.append(f"function_props takes {' and '.join(FUNCTION_PROPS)} only, not {', '.join(unknown)} "
                        "(the rest of each function is the pipeline's: its code, role, logs and environment)")
    memory = given.get("memory_size", DEFAULT_MEMORY_MB)
    if (not isinstance(memory, int) or isinstance(memory, bool)
            or not MEMORY_RANGE_MB[0] <= memory <= MEMORY_RANGE_MB[1]):
        problems.append(f"function_props memory_size {memory!r} must be a whole number of MB from "
                        f"{MEMORY_RANGE_MB[0]} to {MEMORY_RANGE_MB[1]}")
    timeout = given.get("timeout")
    if timeout is not None and (not isinstance(timeout, Duration)
                                or not TIMEOUT_RANGE_SECONDS[0] <= timeout.to_seconds() <= TIMEOUT_RANGE_SECONDS[1]):
        problems.append(f"function_props timeout must be a Duration from {TIMEOUT_RANGE_SECONDS[0]} seconds to "
                        f"{TIMEOUT_RANGE_SECONDS[1] // 60} minutes")
    if problems:
        raise ValueError("InferenceRecommenderPipeline: " + "; ".join(problems))
    return FunctionSettings(runtime=runtime, memory_size=memory, timeout=timeout, log_level=level,
                            log_retention=log_retention or logs.RetentionDays.THREE_MONTHS,
                            tracing=tracing or lambda_.Tracing.ACTIVE)
