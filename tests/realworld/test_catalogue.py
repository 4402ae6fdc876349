"""The real-world catalogue: manifests and describe outputs from AWS's examples, docs and SDK tests.

Each file names its source (tests/realworld/README.md lists them). The expectations below are what the
tool does with each case; a manifest the tool accepts must also make requests botocore's validator
accepts, and every describe output goes through ``rank`` and ``chart`` as a user would run them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from neo_recommender.cli import main
from neo_runtime.ir_results import read_job
from neo_runtime.sagemaker_requests import create_model_package_request, create_recommendation_job_request
from neo_runtime.validation import check_manifest

HERE = Path(__file__).parent
MANIFESTS = sorted((HERE / "manifests").glob("*.json"))
DESCRIBES = sorted((HERE / "describe").glob("*.json"))

#: Manifest case -> the fields with errors (empty: valid). Placeholders AWS's pages leave for the reader
#: (``<INSERT>``, ``MODEL_NAME``) and values botocore itself would refuse stay errors.
MANIFEST_ERRORS: dict[str, set[str]] = {
    "autoscaling-xgboost-1-5-1-advanced": set(),
    "docs-load-test-boto3-three-instances": {"ModelName"},
    "docs-load-test-cli-upper-case-jobtype": {"ModelName", "JobType"},
    "docs-prerequisites-pytorch-resnet18": {"ModelName"},
    "instructpix2pix-gpu-default-no-nearest-model": set(),
    "ir-intro-tf-advanced-omp-1-2-4": {"Image"},  # TensorFlow 2.1: no container the pipeline knows; give Image
    "python-sdk-notebook-sklearn-1-0-1-advanced": set(),
    "pytorch-neo-advanced-omp-2-4": set(),
    "pytorch-neo-default": set(),
    "sdk-constants-model-package-text-mime": {"SupportedResponseMIMETypes[0]", "Image"},
    "sdk-integ-sklearn-advanced-long-name": set(),
    "sdk-mixin-unit-advanced-two-instances": {"FrameworkVersion", "Image"},
    "sdk-session-unit-advanced-inference-spec": {"ModelName", "EndpointConfigurations[0].InferenceSpecificationName"},
    "sklearn-notebook-advanced-1-2-1": set(),
    "tf-cloudwatch-advanced-omp-2-4-10": set(),
    "tf-cloudwatch-default": set(),
    "tf-neo-docs-single-quoted-datainputconfig": set(),
    "triton-pytorch-bert-advanced-long-name": set(),
    "xgboost-default": set(),
}

#: Describe case -> (rank's exit code, rows, compiled rows, serverless rows, baselines).
DESCRIBE_OUTCOMES: dict[str, tuple[int, int, int, int, int]] = {
    "docs-existing-endpoint-endpointperformances": (0, 1, 0, 0, 1),
    "docs-load-test-advanced-maximuminvocations": (0, 1, 0, 0, 0),
    "docs-neo-compiled-table-inference-spec-none": (0, 4, 1, 0, 0),
    "docs-realtime-default-maximuminvocations": (0, 3, 0, 0, 0),
    "docs-serverless-api-shape-no-instancetype": (0, 1, 0, 1, 0),
    "docs-serverless-as-printed-compiled-string": (0, 1, 0, 1, 0),
    "flytekit-fixture-completed-null-compilationjobname": (0, 1, 0, 0, 0),
    "flytekit-fixture-existing-endpoint-endpointinfo": (0, 0, 0, 0, 1),
    "instructpix2pix-gpu-dataframe-no-model-configuration": (0, 5, 0, 0, 0),
    "pyt-neo-notebook-maximuminvocations-dataframe": (0, 3, 0, 0, 0),
    "pyt-neo-notebook-real-full-response": (0, 3, 0, 0, 0),
    "sdk-fixture-compiled-compilation-job-name-model-name-input": (0, 1, 1, 0, 0),
    "sdk-fixture-compiled-inference-specification-name": (0, 1, 1, 0, 0),
    "sdk-fixture-failed-mock-failure-reason": (1, 0, 0, 0, 0),
    "sdk-fixture-placeholder-metrics": (0, 1, 0, 0, 0),
    "stopped-load-test-reconstructed": (1, 0, 0, 0, 0),
    "tf-cloudwatch-advanced-environment-parameters": (0, 3, 0, 0, 0),
    "tf-cloudwatch-default-dataframe": (0, 4, 0, 0, 0),
    "xgboost-notebook-default-dataframe": (0, 2, 0, 0, 0),
}


def _case(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _region(manifest: dict[str, Any]) -> str:
    image = manifest.get("Image") or ""
    parts = image.split(".")
    return parts[3] if len(parts) > 4 and parts[1:3] == ["dkr", "ecr"] else "us-east-1"


def test_the_catalogue_is_complete_and_every_case_names_its_source() -> None:
    assert len(MANIFESTS) >= 8 and len(DESCRIBES) >= 8
    assert {path.stem for path in MANIFESTS} == set(MANIFEST_ERRORS)
    assert {path.stem for path in DESCRIBES} == set(DESCRIBE_OUTCOMES)
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    for path in MANIFESTS + DESCRIBES:
        source = _case(path)["source"]
        assert source["title"] and source["url"].startswith("https://") and source["notes"], path.name
        assert path.name in readme, f"{path.name} is not listed in tests/realworld/README.md"


@pytest.fixture(scope="module")
def sagemaker_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.stem)
def test_aws_example_manifests(path: Path, sagemaker_model: Any) -> None:
    manifest = _case(path)["manifest"]
    report = check_manifest(json.dumps(manifest).encode(), _region(manifest))

    assert {finding.field for finding in report.errors} == MANIFEST_ERRORS[path.stem], report.format_text()
    if report.valid:  # what the pipeline would send, checked against the API's model as botocore checks it
        requests = {
            "CreateModelPackage": create_model_package_request(
                report.manifest, group_name="nr-group", model_data_url="s3://bucket/models/m/model.tar.gz",
                sample_payload_url="s3://bucket/models/m/payload.tar.gz", client_token="nr-run",
                approval_status="PendingManualApproval", description="neo-recommender"),
            "CreateInferenceRecommendationsJob": create_recommendation_job_request(
                report.manifest, job_name="nr-job-0123456789ab", role_arn="arn:aws:iam::123456789012:role/ir",
                model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/nr-group/1",
                run_id="0123456789abcdef0123", compiled_output_url="s3://bucket/neo-compiled/run/"),
        }
        for operation, request in requests.items():
            shape = sagemaker_model.operation_model(operation).input_shape
            errors = ParamValidator().validate(request, shape)
            assert not errors.has_errors(), f"{operation}: {errors.generate_report()}"


@pytest.mark.parametrize("path", DESCRIBES, ids=lambda path: path.stem)
def test_aws_describe_outputs(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    response = _case(path)["response"]
    exit_code, rows, compiled, serverless, baselines = DESCRIBE_OUTCOMES[path.stem]
    job = read_job(response)

    assert (len(job.recommendations), sum(r.compiled for r in job.recommendations),
            sum(r.serverless for r in job.recommendations), len(job.baselines)) == (rows, compiled, serverless,
                                                                                  baselines)
    describe = tmp_path / "describe.json"
    describe.write_text(json.dumps(response))
    assert main(["rank", str(describe), "--format", "json"]) == exit_code
    out, err = capsys.readouterr()
    if exit_code:
        assert f"job {response.get('JobName')} is {response['Status']}" in err
        if response.get("FailureReason"):
            assert response["FailureReason"] in err
    else:
        ranked = json.loads(out)
        assert len(ranked) == rows + baselines
        assert "NaN" not in out and "x1" not in "".join(str(r["InstanceType"]) for r in ranked if r.get("Baseline"))
    plottable = any(r.cost_per_inference is not None and r.model_latency is not None for r in job.recommendations)
    chart = tmp_path / "chart.svg"
    assert main(["chart", str(describe), "-o", str(chart)]) == (0 if plottable and not exit_code else 1)
    assert chart.exists() is (plottable and not exit_code)
