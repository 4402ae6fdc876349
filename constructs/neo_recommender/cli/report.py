"""A run as a Markdown report: the decision, the compiled-vs-uncompiled pairs, the ranked table, what failed."""

from __future__ import annotations

from typing import Any

from neo_runtime.decision import Decision
from neo_runtime.formats import decision_rows, markdown_table
from neo_runtime.ranking import CompiledComparison, Recommendation

_RANKED_COLUMNS = ("Rank", "InstanceType", "InitialInstanceCount", "InferenceSpecificationName",
                   "CompilationJobName", "CostPerHour",
                   "CostPerInference", "MaxInvocations", "ModelLatency", "ParetoOptimal", "MeetsConstraints")


def markdown_report(summary: dict[str, Any], decision: Decision, chart_file: str | None = None) -> str:
    """The report of a stored run (its summary item and rebuilt decision); ``chart_file`` is linked if given."""
    model = summary.get("model_name") or "unknown model"
    lines = [f"# Inference Recommender results: {model}", "",
             f"Run `{summary.get('run_id')}` · job `{summary.get('job_name') or 'none'}` · "
             f"status **{summary.get('status')}** · Neo eligible: {_yes_no(summary.get('neo_eligible'))} · "
             f"last update {summary.get('updated_at', 'unknown')}", ""]
    if summary.get("status") == "FAILED":
        lines += _failure_section(summary)
    elif summary.get("status") != "COMPLETED":
        lines += [f"The run is still {summary.get('status')}; results appear when it completes.", ""]
    else:
        lines += _decision_section(decision)
        lines += _comparison_section(summary, decision)
        if chart_file:
            lines += [f"![Cost per inference vs model latency]({chart_file})", ""]
        lines += ["## Ranked recommendations", "",
                  "Cheapest per inference first; `MaxInvocations` per minute, `ModelLatency` in ms; "
                  "the recommended row is bold.", "",
                  markdown_table(decision_rows(decision), _RANKED_COLUMNS), ""]
        lines += _failed_steps_section(summary)
    lines += _findings_section(summary)
    return "\n".join(lines).rstrip() + "\n"


def _decision_section(decision: Decision) -> list[str]:
    lines = ["## Recommendation", ""]
    chosen = decision.recommended
    if chosen is not None:
        lines += [f"**{_describe(chosen)}**", ""]
        lines += [f"- {line}" for line in decision.explanation()[1:]]
    else:
        lines += [f"- {line}" if not line.startswith("- ") else line for line in decision.explanation()]
    if decision.constraints.any:
        lines.append("- Constraints: " + ", ".join(f"`{name}` {value}" for name, value
                                                   in decision.constraints.to_dict().items()))
    if decision.pareto:
        ranks = [decision.rank_of(rec) for rec in decision.pareto]
        lines.append("- Pareto frontier (nothing else is both cheaper per inference and faster): ranks "
                     + ", ".join(str(rank) for rank in ranks))
    return [*lines, ""]


def _comparison_section(summary: dict[str, Any], decision: Decision) -> list[str]:
    if not decision.comparisons:
        reasons = summary.get("neo_ineligible_reasons") or []
        return ["## Compiled vs uncompiled", "", "No instance type has both a compiled and an uncompiled "
                "recommendation." + (" Why Neo was not used:" if reasons else ""), "",
                *[f"- {reason}" for reason in reasons], ""]
    lines = ["## Compiled vs uncompiled", "", summary.get("comparison_overall") or "", "",
             "| Instance type | Count | Cost per inference (uncompiled → compiled) | Change | "
             "Model latency ms | Change | Max invocations/min | Change |", "|---|---|---|---|---|---|---|---|"]
    lines += [_comparison_row(comparison) for comparison in decision.comparisons]
    return [*lines, ""]


def _comparison_row(pair: CompiledComparison) -> str:
    before, after = pair.uncompiled, pair.compiled
    return (f"| {pair.instance_type} | {pair.initial_instance_count or ''} | "
            f"{_cost(before.cost_per_inference)} → {_cost(after.cost_per_inference)} | "
            f"{_percent(pair.cost_change_percent)} | {before.model_latency} → {after.model_latency} | "
            f"{_percent(pair.latency_change_percent)} | {before.max_invocations} → {after.max_invocations} | "
            f"{_percent(pair.throughput_change_percent)} |")


def _failed_steps_section(summary: dict[str, Any]) -> list[str]:
    steps = summary.get("failed_steps") or []
    if not steps:
        return []
    lines = ["## Failed benchmarks", ""]
    for step in steps:
        lines.append(f"- {step['instance_type']} ({step['variant']}): {step['failure_reason']}")
        if step.get("category"):
            lines.append(f"  - Neo compilation error, {step['category']}: {step['advice']}")
    omitted = summary.get("failed_steps_omitted")
    if omitted:
        lines.append(f"- ... and {omitted} more (see ListInferenceRecommendationsJobSteps)")
    return [*lines, ""]


def _failure_section(summary: dict[str, Any]) -> list[str]:
    error = summary.get("error") or {}
    return ["## Failure", "", f"- Step: {error.get('step')}", f"- Why: {error.get('message')}",
            f"- What to do: {error.get('advice')}",
            f"- Submission: `s3://{summary.get('bucket')}/{summary.get('key')}` (version {summary.get('version_id')}),"
            " not modified", ""]


def _findings_section(summary: dict[str, Any]) -> list[str]:
    findings = summary.get("findings") or []
    if not findings:
        return []
    lines = ["## Validation findings", ""]
    for finding in findings:
        neo = " (blocks Neo)" if finding.get("blocks_neo") else ""
        lines.append(f"- **{finding['severity']}** `{finding['field']}`: {finding['message']}{neo}. "
                     f"What to do: {finding['action']}")
    return [*lines, ""]


def _describe(rec: Recommendation) -> str:
    return (f"{rec.label}, {rec.variant}: {_cost(rec.cost_per_inference)} USD "
            f"per inference, {rec.model_latency} ms, {rec.max_invocations} invocations/min, "
            f"{rec.cost_per_hour} USD/hour")


def _cost(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3e}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def _yes_no(value: Any) -> str:
    return "unknown" if value is None else ("yes" if value else "no")
