"""The run statuses the handlers write are the ones the CLI offers (one tuple, neo_runtime.run_status)."""

from __future__ import annotations

import ast
from pathlib import Path

from neo_recommender.cli import build_parser
from neo_runtime.run_status import FINAL_STATUSES, RUN_STATUSES

HANDLERS = Path(__file__).resolve().parents[2] / "lambdas" / "neo_runtime"


def _written_statuses() -> set[str]:
    """Every string the runtime puts under a "status" key of a dict literal."""
    found = set()
    for path in HANDLERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "status" and isinstance(value, ast.Constant):
                        found.add(value.value)
    return found


def test_the_handlers_write_only_the_statuses_the_cli_lists() -> None:
    written = _written_statuses()
    assert {"VALIDATING", "REGISTERING", "QUEUED", "RUNNING", "COMPLETED"} <= written
    assert written <= set(RUN_STATUSES) and set(FINAL_STATUSES) <= set(RUN_STATUSES)
    (status,) = [action for action in build_parser()._subparsers._group_actions[0].choices["results"]._actions
                 if action.dest == "status"]
    assert tuple(status.choices) == RUN_STATUSES  # QUEUED and TIMED_OUT were refused before
