"""The run's log lines: stdlib ``logging``, with the run's correlation fields as structured fields.

Every function uses Lambda's native JSON log format (``LoggingConfig.LogFormat: JSON``). The Python
runtime then writes each record as one JSON object with ``timestamp``, ``level``, ``message``,
``logger`` and ``requestId``, an exception's ``errorType``, ``errorMessage`` and ``stackTrace``,
and every ``extra`` field as a key of its own; it also sets the root logger's level from the
function's ``ApplicationLogLevel``
(https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html#python-logging-advanced). So this
module adds no handler and sets no level: the runtime does both, and records propagate to it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

_logger = logging.getLogger("neo_runtime")
#: Attributes every LogRecord has; an ``extra`` field of one of these names would raise (renamed ``<name>_``).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RunLogger:
    """Logs a step's records with its correlation fields (``step``, ``run_id``, ...) as structured fields."""

    def __init__(self, step: str, **context: Any) -> None:
        self._context: dict[str, Any] = {"step": step, **context}

    def info(self, message: str, **fields: Any) -> None:
        """Log what happened."""
        self._emit(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        """Log something unexpected that the workflow handles."""
        self._emit(logging.WARNING, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        """Log a failure; inside an ``except`` block the exception's type, message and stack trace go with it."""
        self._emit(logging.ERROR, message, fields, exc_info=True)

    def _emit(self, level: int, message: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if _logger.isEnabledFor(level):
            extra = {_field_name(key): _json_value(value) for key, value in {**self._context, **fields}.items()}
            _logger.log(level, message, extra=extra, exc_info=exc_info, stacklevel=3)


def _field_name(key: str) -> str:
    return f"{key}_" if key in _RECORD_ATTRIBUTES else key


def _json_value(value: Any) -> Any:
    """``value`` as JSON can hold it (Lambda's formatter has no fallback for other types)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.loads(json.dumps(value, default=str))
