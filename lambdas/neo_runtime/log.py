"""Structured JSON logs with the run id on every line."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

_logger = logging.getLogger("neo_runtime")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.propagate = False
# LOG_LEVEL from the function's environment wins; otherwise keep a level the host already chose.
if "LOG_LEVEL" in os.environ or _logger.level == logging.NOTSET:
    _logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


class RunLogger:
    """Logs one JSON object per line, carrying the run's correlation fields."""

    def __init__(self, step: str, **context: Any) -> None:
        self._context: dict[str, Any] = {"step": step, **context}

    def info(self, message: str, **fields: Any) -> None:
        """Log what happened."""
        self._emit(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        """Log something unexpected that the workflow handles."""
        self._emit(logging.WARNING, message, fields)

    def _emit(self, level: int, message: str, fields: dict[str, Any]) -> None:
        if _logger.isEnabledFor(level):
            record = {"level": logging.getLevelName(level), "message": message, **self._context, **fields}
            _logger.log(level, json.dumps(record, default=str))
