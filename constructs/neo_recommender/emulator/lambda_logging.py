"""What Lambda's Python runtime does with a function's log records, for the in-process functions.

A function's ``LoggingConfig`` decides it (https://docs.aws.amazon.com/lambda/latest/dg/
monitoring-cloudwatchlogs-advanced.html): with ``LogFormat: JSON`` the runtime puts a handler on
the root logger that writes each record as one JSON object, and sets the root logger's level from
``ApplicationLogLevel``; ``SystemLogLevel`` decides which of Lambda's own ``platform.*`` records
are written. The fields follow the runtime interface client's ``JsonFormatter``
(aws/aws-lambda-python-runtime-interface-client, ``awslambdaric/lambda_runtime_log_utils.py``):
``timestamp``, ``level``, ``message``, ``logger``, ``requestId``, and for an exception
``errorType``, ``errorMessage``, ``stackTrace`` and ``location``; every ``extra`` field is a key of
its own, and keys whose value is None are left out. With ``LogFormat: Text`` a line is
``[LEVEL]\\t<time>\\t<request id>\\t<message>``.

What a function prints to stdout is a log line too (Lambda sends stdout to the same log stream): the
pipeline's embedded-metric-format records arrive that way (``neo_runtime.metrics``). Only the
invoking thread's output is taken; other threads keep printing where they did. With the JSON format,
Lambda filters printed lines by the application log level as well: a JSON object's ``"level"`` decides,
and a missing or invalid one, or a missing or invalid RFC 3339 ``"timestamp"``, or a line that is not a
JSON object, counts as INFO (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html);
lines below the level are dropped (``printed_line_passes``). Lambda tells the runtime its format and
level in ``AWS_LAMBDA_LOG_FORMAT`` and ``AWS_LAMBDA_LOG_LEVEL`` (``LoggingConfig.environment``).

The lines are kept per function (``lines``), parsed, instead of being sent to CloudWatch Logs. One
difference, for the process's sake: the application log level is set on the handlers' logger
(``neo_runtime``) while a function runs, not on the root logger, which would turn up every library's
logging in every thread of the process (moto's Step Functions interpreter among them).
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: Lambda's application log levels (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html),
#: as Python logging levels; TRACE, which Python lacks, sits below DEBUG.
_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
#: An RFC 3339 date and time (https://www.rfc-editor.org/rfc/rfc3339#section-5.6), the ``timestamp`` Lambda uses.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_SYSTEM_LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2}
#: The logger the handlers log through (``neo_runtime.log``): the one whose level a function's ApplicationLogLevel sets.
APPLICATION_LOGGER = "neo_runtime"
#: LogRecord attributes that are not ``extra`` fields (as the runtime's formatter lists them).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "aws_request_id", "tenant_id", "_frame_type", "taskName"}


@dataclass(frozen=True)
class LoggingConfig:
    """A function's ``LoggingConfig``: its format, and the application and system log levels."""

    log_format: str = "Text"
    application_log_level: str | None = None
    system_log_level: str | None = None

    @classmethod
    def from_template(cls, properties: dict[str, Any]) -> LoggingConfig:
        """The ``LoggingConfig`` of an ``AWS::Lambda::Function``'s properties (Lambda's defaults where absent)."""
        config = properties.get("LoggingConfig") or {}
        json_format = config.get("LogFormat") == "JSON"
        return cls("JSON" if json_format else "Text",
                   config.get("ApplicationLogLevel") or ("INFO" if json_format else None),
                   config.get("SystemLogLevel") or ("INFO" if json_format else None))

    def environment(self) -> dict[str, str]:
        """What Lambda tells the runtime of this config: with log-level filtering (JSON format), it "sets the
        application log level in the runtime using the AWS_LAMBDA_LOG_LEVEL environment variable" and "your
        function's log format using the AWS_LAMBDA_LOG_FORMAT environment variable" (Lambda developer guide,
        "Application log-level filtering with custom runtimes",
        https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html)."""
        if self.log_format != "JSON" or not self.application_log_level:
            return {}
        return {"AWS_LAMBDA_LOG_FORMAT": self.log_format, "AWS_LAMBDA_LOG_LEVEL": self.application_log_level.upper()}


def printed_line_passes(line: Any, config: LoggingConfig) -> bool:
    """Whether Lambda keeps a line the function printed (a parsed JSON object, or text): with log-level filtering,
    only lines at the application log level or above. A JSON object's ``"level"`` (any case) decides; a missing or
    invalid one, a missing or invalid RFC 3339 ``"timestamp"``, or a text line counts as INFO
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html)."""
    if config.log_format != "JSON" or not config.application_log_level:
        return True  # log-level filtering needs the JSON format
    return _printed_level(line) >= _LEVELS[config.application_log_level.upper()]


def _printed_level(line: Any) -> int:
    """The level Lambda gives a printed line (INFO unless a JSON object names a valid level and a valid time)."""
    if not isinstance(line, dict):
        return logging.INFO
    level, timestamp = line.get("level"), line.get("timestamp")
    if not isinstance(timestamp, str) or not _RFC3339.fullmatch(timestamp) or not isinstance(level, str):
        return logging.INFO
    return _LEVELS.get(level.upper(), logging.INFO)


class RuntimeLogging:
    """The runtime's root handler, for every in-process function; one invocation at a time."""

    def __init__(self) -> None:
        #: Function name -> every line it wrote, parsed (JSON format) or as text.
        self.lines: defaultdict[str, list[Any]] = defaultdict(list)
        self._current: tuple[str, str, LoggingConfig] | None = None
        self._lock = threading.Lock()
        self._handler = _CapturingHandler(self)
        # One stream for every invocation, never freed: print() holds sys.stdout without a reference while it writes,
        # so a stream another thread swaps out and frees mid-print is a use-after-free (segmentation faults, and once a
        # print reaching an instance without its attributes; 2026-12-01, with a poller invoked many times a second).
        self._stdout = _InvocationStdout(sys.__stdout__, self._printed)
        _STREAMS_KEPT_ALIVE.append(self._stdout)

    def install(self) -> None:
        """Put the runtime's handler on the root logger."""
        logging.getLogger().addHandler(self._handler)

    def uninstall(self) -> None:
        """Take the handler off again."""
        logging.getLogger().removeHandler(self._handler)

    @contextmanager
    def invocation(self, function_name: str, request_id: str, config: LoggingConfig) -> Iterator[None]:
        """Capture what the function logs while it runs, at its application log level, with its request id."""
        handlers_logger = logging.getLogger(APPLICATION_LOGGER)
        level_before = handlers_logger.level
        if config.application_log_level:
            handlers_logger.setLevel(_LEVELS[config.application_log_level.upper()])
        self._current = (function_name, request_id, config)
        self._platform("platform.start", {"requestId": request_id, "version": "$LATEST"})
        started = time.perf_counter()
        stdout = sys.stdout
        self._stdout.start(_unwrapped(stdout), threading.get_ident())
        sys.stdout = self._stdout
        try:
            yield
        finally:
            self._stdout.flush_pending()
            self._stdout.stop()
            if sys.stdout is self._stdout:
                sys.stdout = stdout
            self._platform("platform.report", {"requestId": request_id, "metrics": {
                "durationMs": round((time.perf_counter() - started) * 1000, 2)}})
            self._current = None
            handlers_logger.setLevel(level_before)

    def unhandled(self, error: BaseException) -> None:
        """The runtime's record of an error the handler raised (the same fields its response carries)."""
        if self._current is None:
            return
        function_name, request_id, config = self._current
        fields = {"errorType": type(error).__name__, "errorMessage": str(error),
                  "stackTrace": traceback.format_tb(error.__traceback__), "requestId": request_id}
        line: Any = ({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "log_level": "ERROR",
                      **fields} if config.log_format == "JSON"  # bootstrap.py's log_error, JSON format
                     else f"[ERROR] {fields['errorType']}: {fields['errorMessage']}")
        # Its key is "log_level", not "level": Lambda reads it as INFO and drops it at WARN or ERROR
        # (aws/aws-lambda-python-runtime-interface-client#202), as it would any printed line without a level.
        if not printed_line_passes(line, config):
            return
        with self._lock:
            self.lines[function_name].append(line)

    def records(self, function_name: str) -> list[dict[str, Any]]:
        """The function's application records (JSON format), without Lambda's ``platform.*`` ones and metrics."""
        return [line for line in self.lines[function_name]
                if isinstance(line, dict) and "type" not in line and "_aws" not in line]

    def metrics(self, function_name: str | None = None) -> list[dict[str, Any]]:
        """The embedded-metric-format records one function (or every function) printed."""
        names = [function_name] if function_name else list(self.lines)
        return [line for name in names for line in self.lines[name] if isinstance(line, dict) and "_aws" in line]

    def _printed(self, text: str) -> None:
        """A line the function printed: parsed when it is a JSON object, as Logs Insights and EMF read it."""
        if self._current is None:
            return
        try:
            line: Any = json.loads(text)
        except ValueError:
            line = text
        line = line if isinstance(line, dict) else text
        function_name, _, config = self._current
        if not printed_line_passes(line, config):
            return
        with self._lock:
            self.lines[function_name].append(line)

    def _platform(self, kind: str, record: dict[str, Any]) -> None:
        """One of Lambda's own records, written when the function's ``SystemLogLevel`` admits INFO."""
        if self._current is None:
            return
        function_name, _, config = self._current
        if config.log_format == "JSON" and _SYSTEM_LEVELS.get((config.system_log_level or "").upper(), 9) <= 1:
            with self._lock:
                self.lines[function_name].append(
                    {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "type": kind, "record": record})

    def write(self, record: logging.LogRecord) -> None:
        """Format ``record`` as the runtime does and keep it under the running function."""
        current = self._current
        if current is None:  # not logged by a function: not the runtime's business
            return
        function_name, request_id, config = current
        line: Any = (_json_line(record, request_id) if config.log_format == "JSON"
                     else f"[{record.levelname}]\t{_timestamp(record)}\t{request_id}\t{record.getMessage()}")
        with self._lock:
            self.lines[function_name].append(line)


class _InvocationStdout(io.TextIOBase):
    """``sys.stdout`` while a function runs: its thread's lines go to the function's log, others' go on as before."""

    def __init__(self, original: Any, sink: Any) -> None:
        super().__init__()
        self._original, self._thread, self._sink, self._pending = original, -1, sink, ""

    def start(self, original: Any, thread: int) -> None:
        """An invocation in ``thread`` begins; other threads' text goes to ``original``."""
        self._original, self._thread, self._pending = original, thread, ""

    def stop(self) -> None:
        """The invocation ended: every thread's text goes to the stream it found."""
        self._thread = -1

    def write(self, text: str) -> int:
        if threading.get_ident() != self._thread:
            return int(self._original.write(text))
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._sink(line)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() != self._thread:
            self._original.flush()

    def flush_pending(self) -> None:
        """Hand on a last line without its newline."""
        if self._pending:
            self._sink(self._pending)
            self._pending = ""


#: Every stream an emulator set as ``sys.stdout`` (see ``RuntimeLogging.__init__``).
_STREAMS_KEPT_ALIVE: list[_InvocationStdout] = []


def _unwrapped(stdout: Any) -> Any:
    """The stream under an ``_InvocationStdout`` left in place: pytest saves ``sys.stdout`` at a test's start and
    restores it at the end, and when an invocation ran at the start it restores the invocation's stream. Taken as
    the stream to write other threads' text to, it would write to itself (before one stream served every invocation,
    such wrapping chained until a print overflowed the C stack)."""
    while isinstance(stdout, _InvocationStdout):
        stdout = stdout._original
    return stdout


class _CapturingHandler(logging.Handler):
    def __init__(self, runtime: RuntimeLogging) -> None:
        super().__init__(logging.NOTSET)
        self._runtime = runtime

    def emit(self, record: logging.LogRecord) -> None:
        self._runtime.write(record)


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


def _json_line(record: logging.LogRecord, request_id: str) -> dict[str, Any]:
    """The runtime's JSON object for ``record``; serialized and parsed back, so an unserializable field fails
    here as ``json.dumps`` fails in the runtime."""
    exc_info = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
    level = min(50, max(0, record.levelno)) // 10 * 10
    result: dict[str, Any] = {
        "timestamp": _timestamp(record),
        "level": logging.getLevelName(level),
        "message": record.getMessage(),
        "logger": record.name,
        "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
        "errorType": exc_info[0].__name__ if exc_info else None,
        "errorMessage": str(exc_info[1]) if exc_info else None,
        "requestId": request_id,
        "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
    }
    result.update((key, value) for key, value in vars(record).items()
                  if key not in _RECORD_ATTRIBUTES and key not in result)
    return json.loads(json.dumps({key: value for key, value in result.items() if value is not None}))
