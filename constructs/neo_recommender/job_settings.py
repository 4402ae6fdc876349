"""``JobSettings``: the Inference Recommender job a run starts when its manifest does not say otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, Token

from neo_runtime.job_defaults import job_defaults_findings

#: How long a Default job usually takes (AWS documents "about 45 minutes").
TYPICAL_DEFAULT_JOB = Duration.minutes(45)

_PROP_NAMES = {
    "JobType": "job_type",
    "InstanceTypes": "instance_types",
    "JobDurationInSeconds": "job_duration",
    "TrafficPattern": "traffic_pattern",
    "StoppingConditions": "stopping_conditions",
    "ResourceLimit": "resource_limit",
}


@dataclass(frozen=True)
class JobSettings:
    """Inference Recommender settings for every run whose manifest leaves them out.

    A manifest always wins: these only fill the fields it does not give. Dictionaries use the
    shape of the ``CreateInferenceRecommendationsJob`` API, as in boto3, and are checked at
    synth time against the same schema as a manifest, and by the same rules of a custom load test
    (``neo_runtime.manifest.percentile_findings`` and ``phase_findings``).

    :param job_type: ``"Default"`` (IR chooses the load, about 45 minutes) or ``"Advanced"``
        (your instance types, traffic pattern and stopping conditions). @default ``"Default"``
    :param instance_types: the instance types to benchmark: ``SupportedRealtimeInferenceInstanceTypes``
        of a Default job, ``EndpointConfigurations`` of an Advanced one. @default IR chooses (Default
        jobs); an Advanced manifest must then list ``EndpointConfigurations`` itself
    :param job_duration: ``JobDurationInSeconds``, the longest an IR job may run (1 second to 2 hours).
        @default IR's own limit
    :param traffic_pattern: Advanced jobs' ``TrafficPattern``, e.g. ``{"TrafficType": "PHASES", "Phases":
        [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}``: each phase 120 to 3600 s, all
        together at most ``job_duration`` (when ``job_type`` is Advanced) or 18,000 s. @default IR's
    :param stopping_conditions: Advanced jobs' ``StoppingConditions``, e.g. ``{"MaxInvocations": 300,
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}]}``; the percentile must be
        P95, as AWS requires for custom load tests. @default IR's
    :param resource_limit: Advanced jobs' ``ResourceLimit``, e.g. ``{"MaxNumberOfTests": 10,
        "MaxParallelOfTests": 2}``. @default IR's
    """

    job_type: str = "Default"
    instance_types: Sequence[str] = field(default_factory=tuple)
    job_duration: Duration | None = None
    traffic_pattern: Mapping[str, Any] | None = None
    stopping_conditions: Mapping[str, Any] | None = None
    resource_limit: Mapping[str, Any] | None = None

    def to_manifest_defaults(self) -> dict[str, Any]:
        """The settings as a partial manifest, which the validation step fills in (``neo_runtime.job_defaults``)."""
        defaults: dict[str, Any] = {"JobType": self.job_type}
        if self.instance_types:
            defaults["InstanceTypes"] = list(self.instance_types)
        if self.job_duration is not None and not Token.is_unresolved(self.job_duration):
            seconds = self.job_duration.to_seconds()
            defaults["JobDurationInSeconds"] = int(seconds) if float(seconds).is_integer() else seconds
        for name, value in (("TrafficPattern", self.traffic_pattern), ("StoppingConditions", self.stopping_conditions),
                            ("ResourceLimit", self.resource_limit)):
            if value is not None:
                defaults[name] = _plain(value)
        return defaults

    def problems(self) -> list[str]:
        """What is wrong with these settings, each naming the property and what to do (empty when valid)."""
        problems = []
        for finding in job_defaults_findings(self.to_manifest_defaults()):
            top, _, rest = finding.field.partition(".")
            name, bracket, index = top.partition("[")
            prop = f"job_settings.{_PROP_NAMES.get(name, name)}{bracket}{index}{'.' + rest if rest else ''}"
            if name == "JobDurationInSeconds":
                problems.append(f"{prop} {finding.message.replace('must be', 'must be, in seconds,')}; "
                                "give a Duration of 1 second to 2 hours")
            else:
                problems.append(f"{prop} {finding.message}. {finding.action}")
        return problems


def _plain(value: Any) -> Any:
    """Mappings and sequences as plain dicts and lists, so they serialize to JSON."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
