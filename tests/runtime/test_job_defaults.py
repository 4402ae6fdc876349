"""The deployment's job settings filling what a manifest leaves out (``neo_runtime.job_defaults``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neo_recommender import samples
from neo_runtime.job_defaults import apply_job_defaults, job_defaults_findings, load_job_defaults
from neo_runtime.validation import check_manifest

TRAFFIC = {"TrafficType": "PHASES", "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}
STOPPING = {"MaxInvocations": 300, "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}]}
ADVANCED = {"JobType": "Advanced", "InstanceTypes": ["ml.c5.xlarge", "ml.m5.large"], "JobDurationInSeconds": 3600,
            "TrafficPattern": TRAFFIC, "StoppingConditions": STOPPING, "ResourceLimit": {"MaxNumberOfTests": 4}}


def test_no_defaults_leave_the_manifest_as_it_is() -> None:
    manifest = samples.xgboost_manifest("xgb")
    assert apply_job_defaults(manifest, {}) is manifest
    assert load_job_defaults(None) == {} and load_job_defaults("") == {}


def test_advanced_defaults_fill_an_advanced_job() -> None:
    merged = apply_job_defaults({"ModelName": "m"}, ADVANCED)
    assert merged["JobType"] == "Advanced" and merged["JobDurationInSeconds"] == 3600
    assert merged["EndpointConfigurations"] == [{"InstanceType": "ml.c5.xlarge"}, {"InstanceType": "ml.m5.large"}]
    assert merged["TrafficPattern"] == TRAFFIC and merged["StoppingConditions"] == STOPPING
    assert merged["ResourceLimit"] == {"MaxNumberOfTests": 4}
    assert "SupportedRealtimeInferenceInstanceTypes" not in merged


def test_the_manifest_always_wins() -> None:
    own = [{"InstanceType": "ml.g4dn.xlarge"}]
    merged = apply_job_defaults({"JobType": "Advanced", "EndpointConfigurations": own, "JobDurationInSeconds": 600},
                                ADVANCED)
    assert merged["EndpointConfigurations"] == own and merged["JobDurationInSeconds"] == 600
    # A manifest asking for a Default job gets no Advanced-only field, only the instance types.
    default = apply_job_defaults({"JobType": "Default"}, ADVANCED)
    assert default["SupportedRealtimeInferenceInstanceTypes"] == ["ml.c5.xlarge", "ml.m5.large"]
    assert not {"EndpointConfigurations", "TrafficPattern", "StoppingConditions", "ResourceLimit",
                "JobDurationInSeconds"} & set(default)  # the duration was meant for Advanced jobs
    # The manifest's own instance list serves an Advanced job too, over the deployment's.
    own_list = apply_job_defaults({"SupportedRealtimeInferenceInstanceTypes": ["ml.g4dn.xlarge"]}, ADVANCED)
    assert own_list["EndpointConfigurations"] == [{"InstanceType": "ml.g4dn.xlarge"}]
    listed = apply_job_defaults({"SupportedRealtimeInferenceInstanceTypes": ["ml.c4.xlarge"]},
                                {"InstanceTypes": ["ml.c5.xlarge"]})
    assert listed["SupportedRealtimeInferenceInstanceTypes"] == ["ml.c4.xlarge"]


def test_a_manifest_valid_alone_stays_valid_with_defaults_and_uses_them() -> None:
    document = samples.xgboost_manifest("xgb")
    del document["SupportedRealtimeInferenceInstanceTypes"]
    raw = json.dumps(document).encode()
    alone = check_manifest(raw, "us-east-1")
    assert alone.valid and alone.manifest is not None and alone.manifest.job_type == "Default"
    filled = check_manifest(raw, "us-east-1", ADVANCED)
    assert filled.valid, filled.format_text()
    manifest = filled.manifest
    assert manifest is not None and manifest.job_type == "Advanced" and manifest.job_duration_seconds == 3600
    assert manifest.advanced["TrafficPattern"] == TRAFFIC
    assert [item["InstanceType"] for item in manifest.advanced["EndpointConfigurations"]] == [
        "ml.c5.xlarge", "ml.m5.large"]


def test_an_advanced_default_without_instances_takes_the_manifests_or_asks_for_them() -> None:
    listing = samples.xgboost_manifest("xgb")
    report = check_manifest(json.dumps(listing).encode(), "us-east-1", {"JobType": "Advanced"})
    assert report.valid and report.manifest is not None
    assert [item["InstanceType"] for item in report.manifest.advanced["EndpointConfigurations"]] == listing[
        "SupportedRealtimeInferenceInstanceTypes"]
    del listing["SupportedRealtimeInferenceInstanceTypes"]
    report = check_manifest(json.dumps(listing).encode(), "us-east-1", {"JobType": "Advanced"})
    assert not report.valid
    assert [f.field for f in report.errors] == ["EndpointConfigurations"]


def test_findings_name_each_bad_default() -> None:
    findings = job_defaults_findings({
        "JobType": "Fast", "InstanceTypes": ["ml.c5.xlarge", "ml.c99.huge"], "JobDurationInSeconds": 9000,
        "TrafficPattern": {"TrafficType": "PHASES", "Phases": [{"InitialNumberOfUsers": 0, "SpawnRate": 1,
                                                                "DurationInSeconds": 120}]},
        "StoppingConditions": {"MaxInvocations": "many"}, "Colour": "blue"})
    by_field = {f.field: f.message for f in findings}
    assert "must be one of" in by_field["JobType"]
    assert "not a SageMaker real-time instance type" in by_field["InstanceTypes[1]"]
    assert "at most 7200" in by_field["JobDurationInSeconds"]
    # The API's own minimum (Phase.InitialNumberOfUsers >= 1); AWS's examples use up to 14 users.
    assert "at least 1" in by_field["TrafficPattern.Phases[0].InitialNumberOfUsers"]
    assert "whole number" in by_field["StoppingConditions.MaxInvocations"]
    assert any("Colour" in f.field or "Colour" in f.message for f in findings)
    assert job_defaults_findings(ADVANCED) == []


@pytest.mark.parametrize(("defaults", "field", "message"), [
    # ModelLatencyThreshold.Percentile: "For custom load tests, specify the value as P95".
    ({**ADVANCED, "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 9}]}},
     "StoppingConditions.ModelLatencyThresholds[0].Percentile", 'is "P99"; acceptable values are P95 and P99'),
    # Phase.DurationInSeconds: "should not exceed JobDurationInSeconds".
    ({**ADVANCED, "JobDurationInSeconds": 600, "TrafficPattern": {"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 400}] * 2}},
     "TrafficPattern.Phases", "last 800 s in all, longer than JobDurationInSeconds (600 s)"),
    ({"JobType": "Advanced", "TrafficPattern": {"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 7200}]}},
     "TrafficPattern.Phases[0].DurationInSeconds", "is 7200; for custom load tests, the value should be between 120"),
])
def test_the_load_test_rules_of_a_manifest_apply_to_the_deployments_settings(defaults: dict[str, Any], field: str,
                                                                              message: str) -> None:
    findings = job_defaults_findings(defaults)
    assert [f.field for f in findings] == [field] and findings[0].message.startswith(message), findings


def test_a_duration_for_default_jobs_does_not_bound_the_advanced_phases() -> None:
    # JobDurationInSeconds fills only jobs of the deployment's own type; an Advanced manifest brings its own.
    phases = [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 400}] * 2
    defaults = {"JobType": "Default", "JobDurationInSeconds": 600,
                "TrafficPattern": {"TrafficType": "PHASES", "Phases": phases}}
    assert job_defaults_findings(defaults) == []
