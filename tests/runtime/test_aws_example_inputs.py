"""Manifests as AWS's own examples write them, and the server-side rules preflight now catches.

Each case names the AWS page or example it comes from; whole converted manifests live in tests/realworld.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from neo_recommender import samples
from neo_runtime import naming
from neo_runtime.errors import NOTE
from neo_runtime.manifest import parse_data_input
from neo_runtime.sagemaker_requests import create_model_package_request, create_recommendation_job_request
from neo_runtime.validation import check_manifest

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TRITON_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/sagemaker-tritonserver:23.12-py3"


def _check(**overrides: Any) -> Any:
    """Check the sample manifest (``samples.xgboost_manifest``) with ``overrides`` (None removes a field)."""
    document = {name: value for name, value in samples.xgboost_manifest(**overrides).items() if value is not None}
    return check_manifest(json.dumps(document).encode(), "us-east-1")


def _advanced(**overrides: Any) -> Any:
    return _check(**{"JobType": "Advanced", "SupportedRealtimeInferenceInstanceTypes": ["ml.c5.xlarge"],
                     "EndpointConfigurations": [{"InstanceType": "ml.c5.xlarge"}], **overrides})


def _messages(report: Any) -> list[str]:
    return [f"{finding.field}: {finding.message}" for finding in report.findings]


def test_an_empty_response_mime_type_list_means_omitted() -> None:
    # Every AWS IR notebook registers the package with SupportedResponseMIMETypes=[].
    report = _check(SupportedResponseMIMETypes=[])

    assert report.valid, report.format_text()
    assert report.manifest.supported_response_mime_types == ("text/csv",)
    assert [f.field for f in report.notes] == ["SupportedResponseMIMETypes"]


@pytest.mark.parametrize(("written", "registered"), [
    # Neo's "Prepare Model for Compilation" page and the console show this form.
    ("{'input':[1,1024,1024,3]}", '{"input":[1,1024,1024,3]}'),
    ("{'data': [1, 50]}", '{"data":[1,50]}'),
    ("[[1, 3, 224, 224]]", "[[1,3,224,224]]"),
])
def test_a_single_quoted_data_input_config_is_registered_as_json_with_a_note(written: str, registered: str) -> None:
    framework = {"input": ("TENSORFLOW", "2.9"), "data": ("XGBOOST", "1.2.0")}.get(
        written.split("'")[1] if "'" in written else "", ("PYTORCH", "1.13"))
    report = _check(DataInputConfig=written, Framework=framework[0], FrameworkVersion=framework[1], Image=None,
                    Domain="COMPUTER_VISION" if framework[0] != "XGBOOST" else "MACHINE_LEARNING",
                    Task="IMAGE_CLASSIFICATION" if framework[0] != "XGBOOST" else "CLASSIFICATION")

    assert report.manifest is not None, report.format_text()
    assert report.manifest.data_input_config == registered
    if "'" in written:
        (note,) = [f for f in report.notes if f.field == "DataInputConfig"]
        assert note.severity == NOTE and registered in note.message
    request = create_model_package_request(report.manifest, group_name="g", model_data_url="s3://b/m",
                                           sample_payload_url="s3://b/p", client_token="t",
                                           approval_status="PendingManualApproval", description="d")
    assert request["InferenceSpecification"]["Containers"][0]["ModelInput"]["DataInputConfig"] == registered


@pytest.mark.parametrize("hostile", [
    "__import__('os').system('id')", "{'data': 'x'}", "{'data': [1, 'a']}", "{'a': [1]} or 1", "{'a'" * 300,
    "{'data': [True]}",
])
def test_only_literal_mappings_of_shapes_are_read(hostile: str) -> None:
    assert parse_data_input(hostile) is None
    assert not _check(DataInputConfig=hostile).valid


def test_scikit_learn_as_irs_api_names_it_in_sagemakers_own_container() -> None:
    # RecommendationJobContainerConfig.Framework lists SAGEMAKER-SCIKIT-LEARN; the SDK's sklearn.json names the
    # container sagemaker-scikit-learn in the XGBoost registries, with versions such as 1.2-1.
    report = _check(Framework="SAGEMAKER-SCIKIT-LEARN", FrameworkVersion="1.2-1", Image=SKLEARN_IMAGE,
                    NearestModelName="sagemaker-scikit-learn", DataInputConfig=None)

    assert report.valid, report.format_text()
    assert report.neo_eligible is False
    messages = " ".join(_messages(report))
    assert "not a SageMaker-owned container" not in messages and "XGBoost" not in messages.split("Neo compiles")[0]
    assert "Framework: SAGEMAKER-SCIKIT-LEARN is not compiled by Neo for cloud instances" in messages


def test_sagemakers_triton_container_is_described_as_such() -> None:
    report = _check(Framework="PYTORCH", FrameworkVersion="2.0.1", Image=TRITON_IMAGE, DataInputConfig='{"x":[1,3]}')

    (finding,) = [f for f in report.findings if f.field == "Image"]
    assert finding.message == ("is SageMaker's Triton Inference Server container, which Neo does not compile, so "
                               "the job runs uncompiled")


@pytest.mark.parametrize(("version", "valid"), [("1.2-1", True), ("1.0-1", True), ("1.2.0", True), ("1", False),
                                                ("10.1", False), ("1.2.3.4.5.6", False)])
def test_framework_versions_as_the_api_pattern_allows(version: str, valid: bool) -> None:
    # botocore's ModelPackageFrameworkVersion: 3-10 characters, pattern [0-9]\.[A-Za-z0-9.-]+
    report = _check(FrameworkVersion=version)
    assert any(f.field == "FrameworkVersion" and f.severity == "error" for f in report.findings) is not valid


@pytest.mark.parametrize(("length", "valid"), [(51, True), (63, True), (64, False)])
def test_model_names_as_long_as_a_model_package_group_allows(length: int, valid: bool) -> None:
    report = _check(ModelName="m" * length)
    assert report.valid is valid, report.format_text()


@pytest.mark.parametrize(("broken", "message"), [
    ({"FrameworkVersion": "1"}, 'has an invalid format: "1", and must have at least 3 characters'),
    ({"ModelName": "m" * 64}, "must have at most 63 characters"),
    ({"ModelName": "my_model" * 8}, "has an invalid format: "),
])
def test_a_value_breaking_several_rules_of_its_field_is_reported_once(broken: dict[str, str], message: str) -> None:
    report = _check(**broken)

    (field,) = broken
    (finding,) = [f for f in report.findings if f.field == field]
    assert finding.message.startswith(message), finding.message
    assert ("must have at most 63 characters" in finding.message) is (len(broken[field]) > 63)


def test_derived_names_over_sagemakers_limits_are_shortened_with_a_hash() -> None:
    long_a, long_b = "a" * 62 + "x", "a" * 62 + "y"
    groups = {naming.model_package_group_name("team-a-", name) for name in (long_a, long_b)}
    jobs = {naming.recommendation_job_name("team-a-", name, "0123456789abcdef") for name in (long_a, long_b)}

    assert len(groups) == 2 and all(len(group) <= 63 for group in groups)
    assert len(jobs) == 2 and all(len(job) <= 64 and job.endswith("-0123456789ab") for job in jobs)
    assert naming.model_package_group_name("team-a-", long_a) == naming.model_package_group_name("team-a-", long_a)
    assert naming.model_package_group_name("nr-", "short") == "nr-short"


def test_environment_parameter_ranges_of_an_advanced_job_go_to_ir() -> None:
    # The Developer Guide's Advanced job example tunes OMP_NUM_THREADS over 1, 2 and 4.
    ranges = {"CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["1", "2", "4"]}]}
    report = _advanced(EndpointConfigurations=[{"InstanceType": "ml.c5.xlarge", "EnvironmentParameterRanges": ranges}])

    assert report.valid, report.format_text()
    request = create_recommendation_job_request(report.manifest, job_name="j", role_arn="arn:aws:iam::1:role/r",
                                                model_package_arn="arn:p", run_id="r", compiled_output_url="s3://b/c")
    assert request["InputConfig"]["EndpointConfigurations"][0]["EnvironmentParameterRanges"] == ranges


@pytest.mark.parametrize("ranges", [
    {"CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["1", "2", "4", "8"]}]},  # 3 values at most
    {"CategoricalParameterRanges": [{"Name": "OMP NUM THREADS", "Value": ["1"]}]},
    {"Categorical": [{"Name": "OMP_NUM_THREADS", "Value": ["1"]}]},
])
def test_a_broken_environment_parameter_range_says_how_to_write_one(ranges: dict[str, Any]) -> None:
    report = _advanced(EndpointConfigurations=[{"InstanceType": "ml.c5.xlarge", "EnvironmentParameterRanges": ranges}])

    assert report.errors and all(f.field.startswith("EndpointConfigurations[0].EnvironmentParameterRanges")
                                 for f in report.errors), report.format_text()
    for finding in report.errors:
        assert "List instance types" not in finding.action
        assert '"CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["1", "2", "4"]}]' in finding.action


def _phases(*seconds: int) -> dict[str, Any]:
    return {"TrafficType": "PHASES", "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": s}
                                                for s in seconds]}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P50", "ValueInMilliseconds": 100}]}},
     'StoppingConditions.ModelLatencyThresholds[0].Percentile: is "P50"; acceptable values are P95 and P99, and for '
     "custom load tests (Advanced jobs, the only jobs with StoppingConditions) the value must be P95"),
    ({"StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 100}]}},
     "for custom load tests (Advanced jobs, the only jobs with StoppingConditions) the value must be P95"),
    ({"TrafficPattern": _phases(120, 4000)},
     "TrafficPattern.Phases[1].DurationInSeconds: is 4000; for custom load tests, the value should be between 120 and "
     "3600"),
    ({"TrafficPattern": _phases(60, 120)},
     "TrafficPattern.Phases[0].DurationInSeconds: is 60; for custom load tests, the value should be between 120 and "
     "3600"),
    ({"TrafficPattern": _phases(*[3600] * 6)},
     "TrafficPattern.Phases: last 21600 s in all, longer than the longest job Inference Recommender runs "
     "(JobDurationInSeconds: at most 18000 s)"),
    ({"EndpointConfigurations": [{"InstanceType": "ml.c5.xlarge", "InferenceSpecificationName": "default"}]},
     "EndpointConfigurations[0].InferenceSpecificationName: names 'default', an inference specification the "
     "model package will not have"),
    ({"JobDurationInSeconds": 600, "TrafficPattern": {"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 400},
        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 300}]}},
     "TrafficPattern.Phases: last 700 s in all, longer than JobDurationInSeconds (600 s)"),
])
def test_server_side_rules_are_caught_before_anything_is_registered(overrides: dict[str, Any], expected: str) -> None:
    report = _advanced(**overrides)

    assert not report.valid
    assert any(message.startswith(expected) or expected in message for message in _messages(report)), _messages(report)


@pytest.mark.parametrize("percentile", ["P50", "P90", "P99", "p95", 95])
def test_a_stopping_percentile_other_than_p95_gets_awss_rule_once_and_p95_as_the_fix(percentile: Any) -> None:
    # P90 used to get "did you mean P99?", and P99 is then refused for Advanced jobs (ModelLatencyThreshold).
    report = _advanced(StoppingConditions={"ModelLatencyThresholds": [
        {"Percentile": percentile, "ValueInMilliseconds": 100}]})

    (finding,) = report.findings
    assert finding.field == "StoppingConditions.ModelLatencyThresholds[0].Percentile"
    assert "acceptable values are P95 and P99" in finding.message and "P99?" not in finding.message
    assert finding.action == 'Use "P95".'


def test_phases_within_awss_bounds_pass() -> None:
    report = _advanced(TrafficPattern=_phases(3600, 3600, 3600, 3600, 3600))
    assert report.valid, report.format_text()
    assert _advanced(TrafficPattern=_phases(120)).valid


def test_an_advanced_job_without_endpoint_configurations_still_gets_its_load_test_checked() -> None:
    # Adding EndpointConfigurations used to reveal the phase finding only then.
    report = _advanced(EndpointConfigurations=None, TrafficPattern=_phases(4000))
    assert {f.field for f in report.errors} >= {"EndpointConfigurations",
                                                "TrafficPattern.Phases[0].DurationInSeconds"}


@pytest.mark.parametrize("framework", [[], {"name": "XGBOOST"}, 7])
def test_a_framework_of_the_wrong_type_is_a_finding_not_a_crash(framework: Any) -> None:
    report = _check(Framework=framework)
    assert not report.valid and "Framework" in {f.field for f in report.errors}


@pytest.mark.parametrize("broken", [{"FrameworkVersion": "1"}, {"JobDescription": "x" * 200}])
def test_validate_goes_on_after_a_schema_error(broken: dict[str, str]) -> None:
    # A schema error used to hide the other findings: fixing it revealed the unknown instance type.
    report = _check(SupportedRealtimeInferenceInstanceTypes=["ml.c5.xlarge", "ml.c99.huge"], **broken)

    fields = [f.field for f in report.errors]
    assert next(iter(broken)) in fields and "SupportedRealtimeInferenceInstanceTypes[1]" in fields
    assert report.neo_eligible is None and "Neo eligibility unknown" in report.summary()


def test_after_a_schema_error_the_fields_that_parsed_get_their_warnings_too() -> None:
    report = _check(JobDescription="x" * 200, DataInputConfig=None)
    assert [f.field for f in report.findings] == ["JobDescription", "DataInputConfig"]
    assert report.neo_eligible is False


#: A manifest with three findings besides any schema error: its image is in another region (error), DataInputConfig is
#: missing (warning, blocks Neo) and its only instance type has no Neo target (warning, blocks Neo).
_THREE_FINDINGS = {"Image": samples.XGBOOST_IMAGE.replace("683313688378", "246618743249").format(region="us-west-2"),
                   "DataInputConfig": None, "SupportedRealtimeInferenceInstanceTypes": ["ml.r5.xlarge"]}


def _fields(report: Any) -> list[tuple[str, str]]:
    return [(finding.field, finding.severity) for finding in report.findings]


@pytest.mark.parametrize("broken", [{"ModelName": "my_model"}, {"ModelName": "m" * 64},
                                    {"SupportedContentTypes": ["text csv"]}, {"SupportedContentTypes": []}])
def test_a_broken_required_field_hides_none_of_the_other_findings(broken: dict[str, Any]) -> None:
    # Fixing the broken field must reveal nothing new: the other fields' findings are all there already.
    fixed = _check(**_THREE_FINDINGS)
    report = _check(**_THREE_FINDINGS, **broken)

    (field,) = broken
    assert [(f.field, f.message) for f in report.findings if not f.field.startswith(field)] == [
        (f.field, f.message) for f in fixed.findings], report.format_text()
    assert [f.field.split("[")[0] for f in report.errors].count(field) == 1
    assert report.neo_eligible is False and "not Neo-eligible" in report.summary()


def test_a_broken_job_type_beside_advanced_only_fields_is_checked_as_advanced() -> None:
    # The Developer Guide's CLI example passes --job-type ADVANCED (tests/realworld): its load test is checked anyway.
    load_test = {"EndpointConfigurations": [{"InstanceType": "ml.r5.xlarge"}], "TrafficPattern": _phases(4000)}
    fixed = _advanced(**load_test)
    report = _advanced(**load_test, JobType="ADVANCED")

    assert [(f.field, f.message) for f in report.findings if f.field != "JobType"] == [
        (f.field, f.message) for f in fixed.findings], report.format_text()
    assert "TrafficPattern.Phases[0].DurationInSeconds" in [f.field for f in report.errors]


@pytest.mark.parametrize("broken", [{"FrameworkVersion": "1"}, {"Framework": "XGBOOSTT"}, {"Framework": None}])
def test_a_broken_framework_still_gets_the_checks_that_need_none(broken: dict[str, Any]) -> None:
    report = _check(**_THREE_FINDINGS, **broken)

    assert ("Image", "error") in _fields(report), report.format_text()
    assert ("DataInputConfig", "warning") in _fields(report)
    assert ("SupportedRealtimeInferenceInstanceTypes", "warning") in _fields(report)
    assert report.neo_eligible is False


def test_a_broken_framework_version_leaves_out_the_checks_that_need_it() -> None:
    # Without a version nothing can be said of the image's tag, the Neo version table or an Inferentia target.
    report = _check(FrameworkVersion="1", Image=None, SupportedRealtimeInferenceInstanceTypes=["ml.inf1.xlarge"])

    assert _fields(report) == [("FrameworkVersion", "error")], report.format_text()
    assert report.neo_eligible is None


def test_an_invalid_manifest_with_a_neo_finding_is_not_neo_eligible() -> None:
    report = _check(JobDescription="x" * 200, Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    assert report.neo_eligible is False and "not Neo-eligible" in report.summary()
