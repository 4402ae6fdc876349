"""Job settings a deployment applies to every manifest that leaves them out.

The construct's ``job_settings`` arrive here as a partial manifest (the ``JOB_DEFAULTS``
environment variable of the validation step): ``JobType``, ``InstanceTypes``,
``JobDurationInSeconds``, ``TrafficPattern``, ``StoppingConditions`` and ``ResourceLimit``.
What a manifest says always wins; the defaults only fill gaps, so a manifest that is valid
without them stays valid with them.
"""

from __future__ import annotations

import json
from typing import Any

from neo_runtime.errors import Finding
from neo_runtime.manifest import ADVANCED_ONLY_FIELDS, manifest_schema, percentile_findings, phase_findings

#: The fields a deployment may give defaults for.
DEFAULT_FIELDS = ("JobType", "InstanceTypes", "JobDurationInSeconds", "TrafficPattern", "StoppingConditions",
                  "ResourceLimit")


def load_job_defaults(text: str | None) -> dict[str, Any]:
    """The defaults from their environment variable (empty when it is unset or empty)."""
    return json.loads(text) if text else {}


def apply_job_defaults(document: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A copy of the manifest ``document`` with the deployment's ``defaults`` filling what it leaves out.

    The instance types to benchmark come from the manifest when it lists any (its
    ``SupportedRealtimeInferenceInstanceTypes`` also serve an Advanced job's ``EndpointConfigurations``),
    else from ``InstanceTypes``. The Advanced-only fields are added only to Advanced jobs, and the
    duration only to jobs of the deployment's own job type.
    """
    if not defaults:
        return document
    merged = dict(document)
    if "JobType" in defaults:
        merged.setdefault("JobType", defaults["JobType"])
    job_type = merged.get("JobType", "Default")
    if "JobDurationInSeconds" in defaults and job_type == defaults.get("JobType", "Default"):
        merged.setdefault("JobDurationInSeconds", defaults["JobDurationInSeconds"])
    listed = merged.get("SupportedRealtimeInferenceInstanceTypes")
    instance_types = list(listed if isinstance(listed, list) and listed else defaults.get("InstanceTypes") or ())
    if job_type == "Advanced":
        if instance_types:
            merged.setdefault("EndpointConfigurations", [{"InstanceType": name} for name in instance_types])
        for name in ADVANCED_ONLY_FIELDS:
            if name in defaults:
                merged.setdefault(name, defaults[name])
    elif instance_types:
        merged.setdefault("SupportedRealtimeInferenceInstanceTypes", instance_types)
    return merged


def job_defaults_findings(defaults: dict[str, Any]) -> list[Finding]:
    """Every problem of ``defaults``: the schema of a manifest's fields, and the rules of a custom load test.

    The traffic pattern and stopping conditions serve Advanced jobs only, so AWS's rules for custom load
    tests apply to them whatever ``JobType`` the deployment gives (``manifest.percentile_findings``,
    ``manifest.phase_findings``).
    """
    from neo_runtime.neo_support import realtime_instance_types  # noqa: PLC0415 - a synth-time check
    from neo_runtime.schema_check import check  # noqa: PLC0415 - a synth-time check

    schema = manifest_schema()
    properties = {name: schema["properties"][name] for name in DEFAULT_FIELDS if name != "InstanceTypes"}
    properties["InstanceTypes"] = schema["properties"]["SupportedRealtimeInferenceInstanceTypes"]
    defaults_schema = {"$defs": schema["$defs"], "type": "object", "properties": properties,
                       "additionalProperties": False}
    worded = percentile_findings(defaults.get("StoppingConditions"))
    superseded = {finding.field for finding in worded}  # AWS's rule, in its words, instead of "must be one of"
    findings = [Finding(violation.path or "job settings", violation.message,
                        "Use the shape of the CreateInferenceRecommendationsJob API (see docs/construct.md, "
                        "Job settings).")
                for violation in check(defaults, defaults_schema) if violation.path not in superseded] + worded
    findings += phase_findings(defaults.get("TrafficPattern"), _duration_of_advanced_jobs(defaults))
    known = realtime_instance_types()
    for index, name in enumerate(defaults.get("InstanceTypes") or ()):
        if isinstance(name, str) and name not in known:
            findings.append(Finding(f"InstanceTypes[{index}]", f"{name!r} is not a SageMaker real-time instance type",
                                    "Use a type such as ml.c5.xlarge (see realtime_instance_types.json)."))
    return findings


def _duration_of_advanced_jobs(defaults: dict[str, Any]) -> Any:  # noqa: ANN401 - an unchecked value
    """The default ``JobDurationInSeconds`` of an Advanced job: the deployment's, when its jobs are Advanced.

    ``apply_job_defaults`` gives the duration only to jobs of the deployment's own type; an Advanced
    manifest in a Default deployment brings its own (or none, and the API's maximum bounds its phases).
    """
    return defaults.get("JobDurationInSeconds") if defaults.get("JobType") == "Advanced" else None
