"""The manifest: schema, normalisation, archive locations; the schema checker agrees with jsonschema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from neo_recommender import samples
from neo_runtime.errors import SubmissionInvalid
from neo_runtime.manifest import MAX_MANIFEST_BYTES, Manifest, manifest_schema, parse_manifest, resolve_archive
from neo_runtime.schema_check import check


def _parse(document: Any) -> Manifest:
    return parse_manifest(json.dumps(document).encode())


def _problems(document: Any) -> list[str]:
    with pytest.raises(SubmissionInvalid) as raised:
        parse_manifest(document if isinstance(document, bytes) else json.dumps(document).encode())
    return [f"{f.field}: {f.message}" for f in raised.value.findings]


def test_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(manifest_schema())


def test_readme_example_parses_with_defaults_applied() -> None:
    manifest = _parse(samples.xgboost_manifest())
    assert manifest.framework == "XGBOOST" and manifest.data_input_config == '{"data":[1,50]}'
    assert manifest.supported_response_mime_types == ("text/csv",)
    assert manifest.job_type == "Default" and manifest.environment == {}
    assert Manifest.from_dict(json.loads(json.dumps(manifest.to_dict()))) == manifest


def test_minimal_manifest_gets_defaults() -> None:
    minimal = {k: v for k, v in samples.xgboost_manifest().items()
               if k in manifest_schema()["required"]}
    manifest = _parse(minimal)
    assert (manifest.domain, manifest.task, manifest.model_archive, manifest.payload_archive) == (
        "MACHINE_LEARNING", "OTHER", "model.tar.gz", "payload.tar.gz")
    assert manifest.instance_types == ()


def test_data_input_config_may_be_a_json_string() -> None:
    manifest = _parse(samples.xgboost_manifest(DataInputConfig='{"data": [1, 50]}'))
    assert manifest.data_input_config == '{"data":[1,50]}'


@pytest.mark.parametrize(("document", "expected"), [
    (b"\xff\xfe", "recommend.json: is not UTF-8 text"),
    (b"[1, 2]", "recommend.json: must be a JSON object, not a list"),
    (b"{", "recommend.json: is not valid JSON"),
    (b'{"ModelName": "x", "MaxModelLatencyMs": NaN}', "recommend.json: contains NaN, which is not a JSON number"),
    (b'{"MinInvocationsPerMinute": Infinity}', "recommend.json: contains Infinity, which is not a JSON number"),
    (b" " * (MAX_MANIFEST_BYTES + 1), "recommend.json: is 262145 bytes; the limit is 262144"),
    ({"ModelName": "x"}, "Framework: is required but missing"),
    (samples.xgboost_manifest(ModelName="bad name!"), "ModelName: contains characters that are not allowed"),
    (samples.xgboost_manifest(Framework="xgboost"), "Framework: must be one of"),
    (samples.xgboost_manifest(FrameworkVersion=1.2), "FrameworkVersion: must be a string, not a number"),
    (samples.xgboost_manifest(Image="my-image:latest"), "Image: has an invalid format"),
    (samples.xgboost_manifest(DataInputConfig={"data": [1, 0]}), "DataInputConfig.data[1]: must be at least 1"),
    (samples.xgboost_manifest(DataInputConfig={"data": [1, 2.5]}), "DataInputConfig.data[1]: must be a whole number"),
    (samples.xgboost_manifest(DataInputConfig="{data: [1]}"),
     "DataInputConfig: is a string but neither JSON nor a single-quoted mapping"),
    (samples.xgboost_manifest(DataInputConfig=7), "DataInputConfig: must be an object or a list or a string"),
    (samples.xgboost_manifest(SupportedContentTypes=[]), "SupportedContentTypes: must have at least 1 item"),
    (samples.xgboost_manifest(SupportedContentTypes=["csv"]), "SupportedContentTypes[0]: has an invalid format"),
    (samples.xgboost_manifest(SupportedRealtimeInferenceInstanceTypes=["c5.xlarge"]),
     "SupportedRealtimeInferenceInstanceTypes[0]: has an invalid format"),
    (samples.xgboost_manifest(JobType="Fast"), 'JobType: must be one of "Default", "Advanced"'),
    (samples.xgboost_manifest(modelname="x"), "modelname: is not a known field; did you mean ModelName?"),
    (samples.xgboost_manifest(TrafficPattern={"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}),
     "TrafficPattern: is used only by Advanced jobs"),
    (samples.xgboost_manifest(JobType="Advanced"), "EndpointConfigurations: is required for Advanced jobs"),
    (samples.xgboost_manifest(MaxModelLatencyMs=0), "MaxModelLatencyMs: must be at least 1"),
    (samples.xgboost_manifest(MaxModelLatencyMs="50"), "MaxModelLatencyMs: must be a number, not a string"),
    (samples.xgboost_manifest(MinInvocationsPerMinute=-5), "MinInvocationsPerMinute: must be at least 1"),
    (samples.xgboost_manifest(AllowedInstanceTypes=[]), "AllowedInstanceTypes: must have at least 1 item"),
    (samples.xgboost_manifest(AllowedInstanceTypes=["c5"]), "AllowedInstanceTypes[0]: has an invalid format"),
])
def test_bad_manifests_name_the_field(document: Any, expected: str) -> None:
    assert any(problem.startswith(expected) for problem in _problems(document)), _problems(document)


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems({"ModelName": "ok", "Framework": "TORCH", "Extra": 1})
    assert len(problems) == 4, problems  # two missing required fields, a bad enum, an unknown field
    assert 'not "TORCH"; did you mean "PYTORCH"?' in " ".join(problems)


def test_advanced_job_fields_are_accepted_for_advanced_jobs() -> None:
    manifest = _parse(samples.xgboost_manifest(
        JobType="Advanced", EndpointConfigurations=[{"InstanceType": "ml.c5.xlarge"}],
        StoppingConditions={"MaxInvocations": 300,
                            "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}]}))
    assert manifest.advanced["EndpointConfigurations"] == [{"InstanceType": "ml.c5.xlarge"}]


def test_constraints_are_carried_into_the_manifest() -> None:
    manifest = _parse(samples.xgboost_manifest(MaxModelLatencyMs=50, MinInvocationsPerMinute=1000.5,
                                               AllowedInstanceTypes=["ml.c5.xlarge"]))
    assert (manifest.max_model_latency_ms, manifest.min_invocations_per_minute) == (50, 1000.5)
    assert manifest.allowed_instance_types == ("ml.c5.xlarge",)
    assert Manifest.from_dict(json.loads(json.dumps(manifest.to_dict()))) == manifest
    assert _parse(samples.xgboost_manifest()).allowed_instance_types == ()


CATALOGUE = [
    samples.xgboost_manifest(),
    samples.xgboost_manifest(MaxModelLatencyMs=0.5, AllowedInstanceTypes=["ml.c5.xlarge", "ml.c5.xlarge"]),
    samples.xgboost_manifest(DataInputConfig=[[1, 3, 224, 224]]),
    samples.xgboost_manifest(DataInputConfig={"input": [1, 3, 0]}),
    samples.xgboost_manifest(SupportedContentTypes=["text/csv", "text/csv"]),
    samples.xgboost_manifest(Environment={"OMP_NUM_THREADS": "4"}),
    samples.xgboost_manifest(Environment={"1BAD": "x"}),
    samples.xgboost_manifest(Environment={"GOOD": 4}),
    samples.xgboost_manifest(JobDurationInSeconds=0),
    samples.xgboost_manifest(JobDurationInSeconds=True),
    {"ModelName": None},
    {},
]


@pytest.mark.parametrize("document", CATALOGUE)
def test_schema_checker_agrees_with_jsonschema(document: Any) -> None:
    ours = check(document, manifest_schema())
    reference = list(jsonschema.Draft202012Validator(manifest_schema()).iter_errors(document))
    assert bool(ours) == bool(reference), (ours, [e.message for e in reference])


@pytest.mark.parametrize(("value", "expected_key"), [
    ("model.tar.gz", "models/xgb/model.tar.gz"),
    ("sub/model.tar.gz", "models/xgb/sub/model.tar.gz"),
    ("s3://bucket/models/other/model.tar.gz", "models/other/model.tar.gz"),
])
def test_archive_locations_resolve_inside_the_bucket_and_prefix(value: str, expected_key: str) -> None:
    location = resolve_archive("ModelArchive", value, "bucket", "models/xgb/recommend.json", "models/")
    assert location.key == expected_key and location.url == f"s3://bucket/{expected_key}"


@pytest.mark.parametrize(("value", "expected"), [
    ("s3://other-bucket/models/x.tar.gz", "points at bucket 'other-bucket'"),
    ("../../secrets.tar.gz", "unusable key"),
    ("/etc/passwd", "must be a key relative"),
    ("s3://bucket/elsewhere/model.tar.gz", "outside the watched prefix"),
    ("model\n.tar.gz", "contains control characters"),
])
def test_archive_locations_outside_the_submission_are_rejected(value: str, expected: str) -> None:
    with pytest.raises(SubmissionInvalid) as raised:
        resolve_archive("ModelArchive", value, "bucket", "models/xgb/recommend.json", "models/")
    (finding,) = raised.value.findings
    assert finding.field == "ModelArchive" and expected in finding.message
