"""SNS messages for finished and failed runs: a text body for e-mail, JSON for machines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from neo_runtime.records import trim_to_fit

if TYPE_CHECKING:  # the failure path needs none of the ranking code, so it is imported where a decision is
    from neo_runtime.decision import Decision
    from neo_runtime.ranking import Recommendation

_SUBJECT_LIMIT = 99  # SNS subjects must be ASCII and shorter than 100 characters.
#: SNS takes messages up to 256 KiB; the JSON and e-mail bodies together stay under this.
MESSAGE_BUDGET_BYTES = 200 * 1024
#: The e-mail text is cut at this size (the JSON carries the facts, the table the whole run).
EMAIL_BUDGET_BYTES = 64 * 1024
#: Rows of the ranked table in the e-mail; the JSON carries as many as fit the budget.
EMAIL_TABLE_ROWS = 25
#: Lists of the JSON facts that may be shortened to fit the budget.
_TRIMMABLE_FACTS = ("recommendations", "failed_steps", "findings", "comparisons")


def describe_recommendation(rec: Recommendation) -> str:
    """One line naming a configuration and its numbers."""
    cost = f"{rec.cost_per_inference:.3e} USD per inference" if rec.cost_per_inference is not None else "no cost"
    return (f"{rec.label}, {rec.variant}: {cost}, "
            f"{rec.model_latency} ms model latency, {rec.max_invocations} invocations/min, "
            f"{rec.cost_per_hour} USD/hour")


def success_message(summary: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """Publish parameters for a completed run: subject, e-mail text, JSON facts, filterable attributes."""
    from neo_runtime.formats import decision_rows  # noqa: PLC0415 - success path only (see the imports)

    model = summary["model_name"]
    lines = [f"Inference Recommender finished for model {model}.",
             f"Run {summary['run_id']}, job {summary['job_name']}.", ""]
    lines += _decision_lines(decision)
    lines += _baseline_lines(decision)
    lines += _compilation_lines(summary, decision)
    ranks = summary.get("pareto_ranks") or []
    if ranks:
        lines += ["", "Pareto frontier (no other configuration is both cheaper per inference and faster): "
                      "ranks " + ", ".join(str(rank) for rank in ranks)]
    other_warnings = [finding for finding in summary.get("findings") or [] if not finding.get("blocks_neo")]
    if other_warnings:
        lines += ["", "Warnings from validation:"] + [
            line for finding in other_warnings for line in _finding_lines(finding)]
    lines += _failed_step_lines(summary)
    lines += _table_lines(summary["run_id"], decision)
    lines += _reading_note_lines(summary)
    facts = {
        "status": summary["status"],
        "run_id": summary["run_id"],
        "model_name": model,
        "job_name": summary["job_name"],
        "neo_eligible": summary.get("neo_eligible"),
        "recommended": summary.get("recommended"),
        "best": summary.get("best"),
        "constraints": decision.constraints.to_dict(),
        "explanation": decision.explanation(),
        "comparison_overall": summary.get("comparison_overall"),
        "comparisons": summary.get("comparisons") or [],
        "pareto_ranks": ranks,
        "recommendation_count": len(decision.ranked),
        "compiled_count": summary.get("compiled_count"),
        "recommendations": decision_rows(decision),
        "recommendations_omitted": 0,
        "failed_steps": summary.get("failed_steps") or [],
        "failed_steps_omitted": summary.get("failed_steps_omitted", 0),
        "failed_step_count": summary.get("failed_step_count", 0),
        "neo_ineligible_reasons": summary.get("neo_ineligible_reasons") or [],
        "findings": summary.get("findings") or [],
        "findings_omitted": summary.get("findings_omitted", 0),
        "endpoint_performances": summary.get("endpoint_performances") or [],
        "reading_notes": summary.get("reading_notes") or [],
    }
    return _publish_params(_success_subject(model, decision), "\n".join(lines), facts,
                           _attributes(model, "COMPLETED", summary.get("neo_eligible")), summary["run_id"])


def _decision_lines(decision: Decision) -> list[str]:
    chosen = decision.recommended
    lines = ([f"Recommended: {describe_recommendation(chosen)}"] + decision.explanation()[1:]
             if chosen is not None else decision.explanation())
    if decision.constraints.any:
        lines.append("Constraints: " + ", ".join(f"{name} {_constraint_value(value)}"
                                                 for name, value in decision.constraints.to_dict().items()))
    return lines


def _baseline_lines(decision: Decision) -> list[str]:
    """The existing endpoint(s) IR benchmarked (``EndpointPerformances``), which the recommendations compare to."""
    if not decision.baselines:
        return []
    return ["", "Existing endpoint benchmarked as the baseline (no cost reported):"] + [
        f"- {baseline.describe()}" for baseline in decision.baselines]


def _reading_note_lines(summary: dict[str, Any]) -> list[str]:
    """What was read differently from the API's shape, e.g. MaximumInvocations as MaxInvocations."""
    notes = summary.get("reading_notes") or []
    return ["", "Notes on reading Inference Recommender's output:"] + [f"- {note}" for note in notes] if notes else []


def _compilation_lines(summary: dict[str, Any], decision: Decision) -> list[str]:
    if decision.comparisons:
        return (["", "Compiled vs uncompiled:", str(summary.get("comparison_overall") or "")]
                + [f"- {comparison.detail()}" for comparison in decision.comparisons])
    if not decision.ranked:
        return []
    lines = ["", "No compiled recommendations: IR did not add a Neo-compiled variant."]
    neo_findings = [finding for finding in summary.get("findings") or [] if finding.get("blocks_neo")]
    if neo_findings:
        return lines + [line for finding in neo_findings for line in _finding_lines(finding)]
    return lines + [f"- {reason}" for reason in summary.get("neo_ineligible_reasons") or []]


def _failed_step_lines(summary: dict[str, Any]) -> list[str]:
    failed_steps = summary.get("failed_steps") or []
    if not failed_steps:
        return []
    lines = ["", f"Failed benchmarks ({summary.get('failed_step_count', len(failed_steps))}):"]
    for step in failed_steps:
        lines.append(f"- {step['instance_type']} {step['variant']}: {step['failure_reason']}")
        if step.get("category"):
            lines.append(f"  Neo compilation error ({step['category']}). What to do: {step['advice']}")
    return lines


def _table_lines(run_id: str, decision: Decision) -> list[str]:
    from neo_runtime.ranking import format_table  # noqa: PLC0415 - success path only (see the imports)

    shown = decision.ranked[:EMAIL_TABLE_ROWS]
    lines = ["", "Ranked recommendations (cheapest per inference first; MaxInvocations per minute, "
                 "ModelLatency in ms):", format_table(shown)]
    if len(decision.ranked) > len(shown):
        lines.append(f"... and {len(decision.ranked) - len(shown)} more: neo-recommender results --run {run_id}")
    return lines


def _success_subject(model: str, decision: Decision) -> str:
    chosen = decision.recommended
    if chosen is None:
        outcome = ("no configuration meets the constraints" if decision.excluded
                   else "no recommendation reports a cost" if decision.ranked else "no recommendations")
        candidates = [f"{model} COMPLETED: {outcome} - neo-recommender", f"{model} COMPLETED: {outcome}"]
    else:
        config = f"{chosen.label} {'Neo-compiled' if chosen.compiled else 'uncompiled'}"
        cost = (f", {chosen.cost_per_inference:.2e} USD/inference"
                if chosen.cost_per_inference is not None else "")
        candidates = [f"{model} COMPLETED: {config}{cost} - neo-recommender", f"{model} COMPLETED: {config}{cost}",
                      f"{model} COMPLETED: {config}"]
    fitting = [subject for subject in candidates if len(_ascii(subject)) <= _SUBJECT_LIMIT]
    return fitting[0] if fitting else candidates[-1]


def _constraint_value(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else f"{value:g}"


def failure_message(summary: dict[str, Any]) -> dict[str, Any]:
    """Publish parameters for a failed run."""
    model = summary.get("model_name") or "unknown model"
    error = summary["error"]
    status = summary.get("status") or "FAILED"  # FAILED or TIMED_OUT
    findings = summary.get("findings") or []
    lines = [f"The neo-recommender run for {model} {status} in step {error['step']}.", ""]
    if findings:
        lines += [f"The submission has {len(findings)} finding(s); no job was started:"]
        lines += [line for finding in findings for line in _finding_lines(finding)]
    else:
        lines += [f"Why: {error['message']}"]
    lines += [
        "",
        f"What to do: {error['advice']}",
        "",
        f"Submission: s3://{summary['bucket']}/{summary['key']} (version {summary['version_id']}); "
        "it was not modified.",
        f"Run {summary['run_id']}; execution {summary.get('execution_arn', 'unknown')}.",
    ]
    if summary.get("job_stopped"):
        lines.insert(-2, f"The job {summary.get('job_name')} was still running; it was stopped.")
    facts = {"status": status, "run_id": summary["run_id"], "model_name": summary.get("model_name"),
             "neo_eligible": summary.get("neo_eligible"), "error": error, "findings": findings,
             "submission": {"bucket": summary["bucket"], "key": summary["key"], "version_id": summary["version_id"]}}
    return _publish_params(f"{model} {status} in {error['step']} - neo-recommender", "\n".join(lines), facts,
                           _attributes(summary.get("model_name") or "unknown", status, summary.get("neo_eligible")),
                           summary["run_id"])


def _finding_lines(finding: dict[str, Any]) -> list[str]:
    neo = " (blocks Neo)" if finding.get("blocks_neo") else ""
    return [f"- {finding['severity']}: {finding['field']}: {finding['message']}{neo}",
            f"  What to do: {finding['action']}"]


def _attributes(model: str, status: str, neo_eligible: bool | None) -> dict[str, dict[str, str]]:
    """Message attributes subscribers filter on (``neo_eligible`` is ``unknown`` before validation ends)."""
    eligible = "unknown" if neo_eligible is None else str(bool(neo_eligible)).lower()
    return {
        "model_name": {"DataType": "String", "StringValue": model},
        "status": {"DataType": "String", "StringValue": status},
        "neo_eligible": {"DataType": "String", "StringValue": eligible},
    }


def _publish_params(subject: str, text: str, facts: dict[str, Any], attributes: dict[str, dict[str, str]],
                    run_id: str) -> dict[str, Any]:
    """Per-protocol message: e-mail readers get the text, every other protocol (SQS, Lambda, HTTPS) the JSON.

    The message stays under ``MESSAGE_BUDGET_BYTES`` (SNS takes 256 KiB): the text is cut at
    ``EMAIL_BUDGET_BYTES`` and the JSON's longest list is halved until it fits, with
    ``<list>_omitted`` counting what was cut (the whole run is in DynamoDB).
    """
    encoded = text.encode()
    if len(encoded) > EMAIL_BUDGET_BYTES:
        text = (encoded[:EMAIL_BUDGET_BYTES].decode(errors="ignore").rsplit("\n", 1)[0]
                + f"\n... (cut to fit an e-mail; the whole run: neo-recommender results --run {run_id})")

    def message(content: dict[str, Any]) -> str:
        machine = json.dumps(content, default=str, ensure_ascii=False, allow_nan=False)
        return json.dumps({"default": machine, "email": text}, ensure_ascii=False)

    facts = trim_to_fit(facts, _TRIMMABLE_FACTS, lambda trimmed: len(message(trimmed).encode()) <= MESSAGE_BUDGET_BYTES,
                        lambda _, value: len(json.dumps(value, default=str, ensure_ascii=False)))
    return {"Subject": _ascii(subject)[:_SUBJECT_LIMIT], "MessageStructure": "json", "Message": message(facts),
            "MessageAttributes": attributes}


def _ascii(text: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
