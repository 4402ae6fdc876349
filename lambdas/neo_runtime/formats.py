"""Render ranked rows as a text table, Markdown, CSV or JSON (the CLI's ``--format``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from neo_runtime.decision import Decision
from neo_runtime.ranking import TABLE_COLUMNS, format_cell, format_rows

FORMATS = ("table", "markdown", "csv", "json")
#: Columns added to the table's own in the machine-readable formats.
EXTRA_COLUMNS = ("Rank", "Compiled", "ParetoOptimal", "MeetsConstraints", "Recommended", "Baseline",
                 "CpuUtilization", "MemoryUtilization", "ModelSetupTime")


def decision_rows(decision: Decision) -> list[dict[str, Any]]:
    """One row per recommendation in rank order: the table's columns, rank, verdicts and IR's utilisation metrics.

    ``CpuUtilization``, ``MemoryUtilization`` and ``ModelSetupTime`` are as IR reports them (None when
    IR did not, or reported NaN). Existing endpoints IR benchmarked follow, unranked, with ``Baseline`` true.
    """
    rows = []
    for position, rec in enumerate(decision.ranked, start=1):
        row = rec.row()
        row.update(Rank=position, Compiled=rec.compiled, ParetoOptimal=decision.is_pareto(rec),
                   MeetsConstraints=not decision.violations(rec), Recommended=rec is decision.recommended,
                   CpuUtilization=rec.cpu_utilization, MemoryUtilization=rec.memory_utilization,
                   ModelSetupTime=rec.model_setup_time, Baseline=False)
        rows.append(row)
    return rows + [baseline.row() for baseline in decision.baselines]


def render(rows: list[dict[str, Any]], fmt: str, notes: Iterable[str] = (),
           columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """Rows in the requested format; ``notes`` (sentences) follow the table and Markdown forms.

    ``columns`` are shown in the table and Markdown forms and lead in CSV; JSON keeps every key.
    """
    if fmt == "json":
        return json.dumps([_plain(row) for row in rows], indent=2, default=str)
    if fmt == "csv":
        return _csv(rows, columns)
    body = format_rows(rows, columns) if fmt == "table" else markdown_table(rows, columns)
    lines = [f"* {note}" if fmt == "table" else f"- {note}" for note in notes]
    return "\n".join([body, *([""] + lines if lines else [])])


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    fields = list(columns) + [c for c in EXTRA_COLUMNS if rows and c in rows[0] and c not in columns]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: "" if row.get(column) is None else row.get(column) for column in fields})
    return buffer.getvalue().rstrip("\n")


def markdown_table(rows: list[dict[str, Any]], columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """A Markdown table; rows with a true ``Recommended`` are bold."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [format_cell(column, row.get(column)).replace("|", "\\|") for column in columns]
        if row.get("Recommended"):
            cells = [f"**{cell}**" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {key: (float(value) if isinstance(value, Decimal) else value) for key, value in row.items()}
