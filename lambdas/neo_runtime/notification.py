"""SNS messages for finished and failed runs: a text body for e-mail, JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from neo_runtime.ranking import Recommendation, compare_compiled, format_table

_SUBJECT_LIMIT = 99  # SNS subjects must be ASCII and shorter than 100 characters.


def describe_recommendation(rec: Recommendation) -> str:
    """One line naming a configuration and its numbers."""
    variant = f"Neo-compiled ({rec.inference_specification_name})" if rec.compiled else "uncompiled"
    cost = f"{rec.cost_per_inference:.3e} USD per inference" if rec.cost_per_inference is not None else "no cost"
    return (f"{rec.instance_type} x{rec.initial_instance_count}, {variant}: {cost}, "
            f"{rec.model_latency} ms model latency, {rec.max_invocations} invocations/min, "
            f"{rec.cost_per_hour} USD/hour")


def success_message(summary: dict[str, Any], ranked: list[Recommendation],
                    failed_steps: list[dict[str, str]]) -> dict[str, Any]:
    """Publish parameters for a completed run."""
    model = summary["model_name"]
    best = ranked[0] if ranked else None
    winner = f"{best.instance_type} ({'Neo' if best.compiled else 'uncompiled'})" if best else "no recommendation"
    lines = [
        f"Inference Recommender finished for model {model}.",
        f"Run {summary['run_id']}, job {summary['job_name']}.",
        "",
        f"Recommended: {describe_recommendation(best)}" if best else "IR returned no recommendations.",
    ]
    findings = summary.get("findings") or []
    comparisons = compare_compiled(ranked)
    if comparisons:
        lines += ["", "Compiled vs uncompiled:"] + [f"- {c.summary()}" for c in comparisons]
    elif ranked:
        lines += ["", "No compiled recommendations: IR did not add a Neo-compiled variant."]
        neo_findings = [finding for finding in findings if finding.get("blocks_neo")]
        if neo_findings:
            lines += [line for finding in neo_findings for line in _finding_lines(finding)]
        else:
            lines += [f"- {reason}" for reason in summary.get("neo_ineligible_reasons") or []]
    other_warnings = [finding for finding in findings if not finding.get("blocks_neo")]
    if other_warnings:
        lines += ["", "Warnings from validation:"] + [
            line for finding in other_warnings for line in _finding_lines(finding)]
    if failed_steps:
        lines += ["", "Failed benchmarks:"]
        for step in failed_steps:
            lines.append(f"- {step['instance_type']} {step['variant']}: {step['failure_reason']}")
            if step.get("category"):
                lines.append(f"  Neo compilation error ({step['category']}). What to do: {step['advice']}")
    lines += ["", "Ranked recommendations (cheapest per inference first):", format_table(ranked)]
    facts = {
        "status": summary["status"],
        "run_id": summary["run_id"],
        "model_name": model,
        "job_name": summary["job_name"],
        "best": best.row() if best else None,
        "comparisons": [c.summary() for c in comparisons],
        "recommendations": [rec.row() for rec in ranked],
        "failed_steps": failed_steps,
        "neo_ineligible_reasons": summary.get("neo_ineligible_reasons") or [],
        "findings": findings,
    }
    return _publish_params(f"neo-recommender: {model} COMPLETED, best {winner}", "\n".join(lines),
                           facts, model, "COMPLETED")


def failure_message(summary: dict[str, Any]) -> dict[str, Any]:
    """Publish parameters for a failed run."""
    model = summary.get("model_name") or "unknown model"
    error = summary["error"]
    findings = summary.get("findings") or []
    lines = [f"The neo-recommender run for {model} FAILED in step {error['step']}.", ""]
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
    facts = {"status": "FAILED", "run_id": summary["run_id"], "model_name": summary.get("model_name"),
             "error": error, "findings": findings, "submission": {"bucket": summary["bucket"], "key": summary["key"],
                                            "version_id": summary["version_id"]}}
    return _publish_params(f"neo-recommender: {model} FAILED in {error['step']}", "\n".join(lines),
                           facts, summary.get("model_name") or "unknown", "FAILED")


def _finding_lines(finding: dict[str, Any]) -> list[str]:
    neo = " (blocks Neo)" if finding.get("blocks_neo") else ""
    return [f"- {finding['severity']}: {finding['field']}: {finding['message']}{neo}",
            f"  What to do: {finding['action']}"]


def _publish_params(subject: str, text: str, facts: dict[str, Any], model: str,
                    status: str) -> dict[str, Any]:
    machine = json.dumps(facts, default=str)
    return {
        "Subject": _ascii(subject)[:_SUBJECT_LIMIT],
        "MessageStructure": "json",
        # E-mail readers get the text; every other protocol (SQS, Lambda, HTTPS) gets the JSON.
        "Message": json.dumps({"default": machine, "email": text}),
        "MessageAttributes": {
            "model_name": {"DataType": "String", "StringValue": model},
            "status": {"DataType": "String", "StringValue": status},
        },
    }


def _ascii(text: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
