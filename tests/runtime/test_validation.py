"""Preflight validation: a catalogue of bad submissions, good ones for every framework, and each rule."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from archive_builders import GOOD_MODELS, GOOD_PAYLOADS, NPY, bomb, entry, plain_tar, tar_gz

from neo_recommender import samples
from neo_recommender.cli.starter import starter_manifest
from neo_runtime.manifest import MAX_MANIFEST_BYTES
from neo_runtime.validation import (
    MAX_REPORTED_FINDINGS,
    ArchiveInput,
    ValidationReport,
    check_archives,
    check_manifest,
    model_limits,
    payload_limits,
)

REGION = "us-east-1"
OWN_IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/my-model:1"


def validate(manifest: Any, model: bytes | None = None, payload: bytes | None = None,
             region: str | None = REGION) -> ValidationReport:
    """Run the validation the workflow runs, on in-memory bytes."""
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    report = check_manifest(raw, region)
    return check_archives(
        report,
        model=ArchiveInput(io.BytesIO(model), model_limits(), "model.tar.gz") if model is not None else None,
        payload=ArchiveInput(io.BytesIO(payload), payload_limits(), "payload.tar.gz") if payload is not None else None)


def xgb(**overrides: Any) -> dict[str, Any]:
    return samples.xgboost_manifest(**overrides)


def without(manifest: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in manifest.items() if key not in names}


def vision(framework: str, **overrides: Any) -> dict[str, Any]:
    image = OWN_IMAGE if framework in ("ONNX", "KERAS") else None
    return {**starter_manifest(framework, "vision-model", image), **overrides}


@dataclass(frozen=True)
class Bad:
    """One bad submission and the one finding it must produce."""

    name: str
    manifest: Any
    field: str
    message: str
    severity: str = "error"
    #: The model archive, or what builds it when the test runs (the decompression bomb takes a second to build: not
    #: while every test worker collects the catalogue).
    model: bytes | Callable[[], bytes] | None = None
    payload: bytes | None = None
    region: str | None = REGION


CATALOGUE = [
    # The manifest file itself.
    Bad("not json", b"{ModelName: x", "recommend.json", "is not valid JSON (Expecting property name"),
    Bad("huge", b" " * (MAX_MANIFEST_BYTES + 1), "recommend.json", "is 262145 bytes; the limit is 262144"),
    Bad("json list", b"[1, 2]", "recommend.json", "must be a JSON object, not a list"),
    Bad("json string", b'"recommend"', "recommend.json", "must be a JSON object, not a string"),
    Bad("not utf-8", b"\xff\xfe{}", "recommend.json", "is not UTF-8 text"),
    Bad("nested too deeply", b"[" * 200_000, "recommend.json", "is nested too deeply"),
    # Fields: presence, types, enums, unknown names, hostile strings.
    Bad("model name missing", without(xgb(), "ModelName"), "ModelName", "is required but missing"),
    Bad("shell metacharacters", xgb(ModelName="x;rm -rf /"), "ModelName",
        "contains characters that are not allowed here (' ' ';')"),
    Bad("command substitution", xgb(NearestModelName="$(curl evil)"), "NearestModelName",
        "contains characters that are not allowed here"),
    Bad("control character in a name", xgb(ModelName="xgb\nchurn"), "ModelName",
        "contains control characters (U+000A)"),
    Bad("control character in free text", xgb(JobDescription="bell\x07"), "JobDescription",
        "contains control characters (U+0007)"),
    Bad("control character in an env value", xgb(Environment={"MODE": "a\x00b"}), "Environment.MODE",
        "contains control characters (U+0000)"),
    Bad("lower-case framework", xgb(Framework="xgboost"), "Framework", 'must be one of "XGBOOST"'),
    Bad("numeric version", xgb(FrameworkVersion=1.2), "FrameworkVersion", "must be a string, not a number"),
    Bad("unknown field", xgb(Colour="blue"), "Colour", "is not a known field"),
    Bad("misspelt field", xgb(modelname="x"), "modelname", "is not a known field; did you mean ModelName?"),
    Bad("no content types", xgb(SupportedContentTypes=[]), "SupportedContentTypes", "must have at least 1 item"),
    Bad("advanced field on a default job", xgb(ResourceLimit={"MaxNumberOfTests": 2}), "ResourceLimit",
        "is used only by Advanced jobs"),
    Bad("advanced job without instances", xgb(JobType="Advanced"), "EndpointConfigurations",
        "is required for Advanced jobs"),
    # The container image.
    Bad("image not an ECR URI", xgb(Image="docker.io/library/xgboost:latest"), "Image", "has an invalid format"),
    Bad("image in another region", xgb(Image="141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.2-1"),
        "Image", "is in eu-west-1, but the pipeline runs in us-east-1"),
    Bad("image left out, region unknown", without(xgb(), "Image"), "Image",
        "is left out and no region is known", region=None),
    Bad("image left out, no known container", without(xgb(FrameworkVersion="0.72"), "Image"), "Image",
        "is left out and there is no known SageMaker container for XGBOOST 0.72 in us-east-1"),
    Bad("image left out for ONNX", without(vision("ONNX"), "Image"), "Image",
        "there is no known SageMaker container for ONNX 1.7.0"),
    # DataInputConfig, per framework.
    Bad("shape list for XGBoost", xgb(DataInputConfig=[[1, 50]]), "DataInputConfig",
        "is a list of shapes, which Neo accepts only for PYTORCH; XGBOOST needs input names"),
    Bad("config string not JSON", xgb(DataInputConfig="{data: [1, 50]}"), "DataInputConfig",
        "is a string but neither JSON nor a single-quoted mapping of input names to shapes"),
    Bad("zero dimension", xgb(DataInputConfig={"data": [1, 0]}), "DataInputConfig.data[1]", "must be at least 1"),
    Bad("dynamic dimension in a string", xgb(DataInputConfig='{"data": [-1, 50]}'), "DataInputConfig.data",
        "has a dimension -1; every dimension must be a positive whole number"),
    Bad("fractional dimension in a string", xgb(DataInputConfig='{"data": [1, 2.5]}'), "DataInputConfig.data",
        "has a dimension 2.5 that is not a whole number"),
    Bad("no inputs", xgb(DataInputConfig="{}"), "DataInputConfig", "names no inputs"),
    Bad("a bare string", xgb(DataInputConfig='"data"'), "DataInputConfig", "must map input names to shapes"),
    Bad("PyTorch channels-last", vision("PYTORCH", DataInputConfig={"input0": [1, 224, 224, 3]}),
        "DataInputConfig.input0", "looks channels-last (NHWC); PYTORCH expects NCHW", "warning"),
    Bad("TensorFlow channels-first", vision("TENSORFLOW", DataInputConfig={"input": [1, 3, 224, 224]}),
        "DataInputConfig.input", "looks channels-first (NCHW); TensorFlow expects NHWC", "warning"),
    Bad("image model with a 2-D input", vision("MXNET", DataInputConfig={"data": [1, 150528]}),
        "DataInputConfig.data", "has 2 dimensions; MXNET image inputs are 4-D NCHW", "warning"),
    Bad("XGBoost 3-D input", xgb(DataInputConfig={"data": [1, 5, 10]}), "DataInputConfig.data",
        "has 3 dimension(s); XGBoost expects [batch, features]", "warning"),
    Bad("no batch dimension", vision("PYTORCH", Domain="NATURAL_LANGUAGE_PROCESSING", Task="FILL_MASK",
                                     DataInputConfig=[[128]]),
        "DataInputConfig[0]", "[128] has no batch dimension", "warning"),
    Bad("no DataInputConfig", without(xgb(), "DataInputConfig"), "DataInputConfig",
        "is missing, so Inference Recommender will not compile the model", "warning"),
    # Instance types.
    Bad("instance type that does not exist", xgb(SupportedRealtimeInferenceInstanceTypes=["ml.c5.huge"]),
        "SupportedRealtimeInferenceInstanceTypes[0]", "ml.c5.huge is not a SageMaker real-time instance type"),
    Bad("instance type without ml.", xgb(SupportedRealtimeInferenceInstanceTypes=["c5.xlarge"]),
        "SupportedRealtimeInferenceInstanceTypes[0]", "has an invalid format"),
    Bad("advanced instance that does not exist", xgb(JobType="Advanced", EndpointConfigurations=[
        {"InstanceType": "ml.c5.mega"}]), "EndpointConfigurations[0]", "ml.c5.mega is not a SageMaker real-time"),
    Bad("no Neo instance family", xgb(SupportedRealtimeInferenceInstanceTypes=["ml.g5.xlarge", "ml.c6i.xlarge"]),
        "SupportedRealtimeInferenceInstanceTypes", "has no instance type Neo compiles for", "warning"),
    Bad("some instances uncompiled", xgb(SupportedRealtimeInferenceInstanceTypes=["ml.c5.xlarge", "ml.c6i.xlarge"]),
        "SupportedRealtimeInferenceInstanceTypes", "ml.c6i.xlarge will get uncompiled recommendations only", "warning"),
    # Neo eligibility.
    Bad("framework Neo does not compile", xgb(Framework="SKLEARN", Image=OWN_IMAGE), "Framework",
        "SAGEMAKER-SCIKIT-LEARN is not compiled by Neo for cloud instances", "warning"),
    Bad("version Neo does not compile", xgb(FrameworkVersion="1.7.1",
                                            Image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
        "FrameworkVersion", "XGBOOST 1.7.1 is not a version Neo compiles", "warning"),
    Bad("own container", xgb(Image=OWN_IMAGE), "Image", "is not a SageMaker-owned container (registry 111122223333",
        "warning"),
    Bad("look-alike container in the wrong account",
        xgb(Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1"), "Image",
        "is not a SageMaker-owned container", "warning"),
    Bad("container of another framework", vision(
        "PYTORCH", Image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1"), "Image",
        "is the XGBOOST container, but Framework is PYTORCH", "warning"),
    Bad("container of another version",
        xgb(Image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.3-1"),
        "Image", "is tagged 1.3-1, but FrameworkVersion is 1.2.0", "warning"),
    # The model archive.
    Bad("model is a zip", xgb(), "ModelArchive", "is a zip file; SageMaker needs a gzip-compressed tar",
        model=b"PK\x03\x04" + b"\0" * 100),
    Bad("model is an uncompressed tar", xgb(), "ModelArchive", "is an uncompressed tar",
        model=plain_tar("xgboost.model", b"booster")),
    Bad("model is text", xgb(), "ModelArchive", "is not gzip-compressed", model=b"this is not an archive"),
    Bad("model is gzip of a non-tar", xgb(), "ModelArchive", "is gzip-compressed but not a tar archive",
        model=__import__("gzip").compress(b"just text, no tar headers" * 40)),
    Bad("model truncated", xgb(), "ModelArchive", "ends early: the gzip stream is truncated",
        model=samples.xgboost_model_archive()[:-40]),
    Bad("model empty", xgb(), "ModelArchive", "is empty", model=b""),
    Bad("model is a decompression bomb", xgb(), "ModelArchive", "it looks like a decompression bomb", model=bomb),
    Bad("member escapes with ..", xgb(), "ModelArchive:../../etc/cron.d/job", "has an absolute path or a '..' segment",
        model=tar_gz(("xgboost.model", b"b"), ("../../etc/cron.d/job", b"x"))),
    Bad("absolute member path", xgb(), "ModelArchive:/etc/passwd", "has an absolute path",
        model=tar_gz(("xgboost.model", b"b"), ("/etc/passwd", b"x"))),
    Bad("symlink out of the archive", xgb(), "ModelArchive:shadow", "links outside the archive",
        model=tar_gz(("xgboost.model", b"b"), entry("shadow", tarfile.SYMTYPE, "/etc/shadow"))),
    Bad("a FIFO", xgb(), "ModelArchive:pipe", "is a device, FIFO or other special file",
        model=tar_gz(("xgboost.model", b"b"), entry("pipe", tarfile.FIFOTYPE))),
    Bad("model holds only a folder", xgb(), "ModelArchive", "holds no files",
        model=tar_gz(entry("m", tarfile.DIRTYPE))),
    Bad("model file empty", xgb(), "ModelArchive:xgboost.model", "is an empty file",
        model=tar_gz(("xgboost.model", b""))),
    Bad("two XGBoost files", xgb(), "ModelArchive", "holds 2 files, not one model file", "warning",
        model=tar_gz(("xgboost.model", b"b"), ("notes.txt", b"n"))),
    Bad("PyTorch without a .pt", vision("PYTORCH"), "ModelArchive", "holds no .pt or .pth file", "warning",
        model=tar_gz(("pytorch_model.bin", b"w"))),
    Bad("TensorFlow with two graphs", vision("TENSORFLOW"), "ModelArchive", "holds 2 .pb/.pbtxt files", "warning",
        model=tar_gz(("a.pb", b"g"), ("b.pb", b"g"))),
    Bad("MXNet without params", vision("MXNET"), "ModelArchive", "does not hold both a *-symbol.json and a .params",
        "warning", model=tar_gz(("resnet50-symbol.json", b"{}"))),
    Bad("Keras without .h5", vision("KERAS"), "ModelArchive", "holds 0 .h5 files; Neo takes exactly one", "warning",
        model=tar_gz(("saved_model.pb", b"g"))),
    Bad("ONNX without .onnx", vision("ONNX"), "ModelArchive", "holds no .onnx file", "warning",
        model=tar_gz(("model.pt", b"w"))),
    # The payload archive.
    Bad("payload without files", xgb(), "PayloadArchive", "holds no sample files",
        payload=tar_gz(entry("samples", tarfile.DIRTYPE))),
    Bad("payload sample empty", xgb(), "PayloadArchive:sample.csv", "is an empty file",
        payload=tar_gz(("sample.csv", b""))),
    Bad("ragged CSV", xgb(), "PayloadArchive:sample.csv", "is not consistent CSV: row 2 has 3 columns, row 1 has 2",
        payload=tar_gz(("sample.csv", b"1,2\n1,2,3\n"))),
    Bad("CSV with a header for XGBoost", xgb(), "PayloadArchive:sample.csv",
        "row 1 has a non-numeric value 'age' (XGBoost takes numbers only",
        payload=tar_gz(("sample.csv", b"age,income\n1,2\n"))),
    Bad("CSV that is binary", xgb(), "PayloadArchive:sample.csv", "is not UTF-8 text (as text/csv must be)",
        payload=tar_gz(("sample.csv", b"\xff\xfe\x00\x01binary"))),
    Bad("invalid JSON sample", vision("TENSORFLOW"), "PayloadArchive:input.json", "is not valid JSON",
        payload=tar_gz(("input.json", b'{"instances": [1, 2'))),
    Bad("JSON lines with a bad line", xgb(SupportedContentTypes=["application/jsonlines"]), "PayloadArchive:in.jsonl",
        "line 2 is not JSON", payload=tar_gz(("in.jsonl", b'{"a": 1}\n{oops}\n'))),
    Bad("npy sample that is not npy", vision("PYTORCH"), "PayloadArchive:input.npy", "is not application/x-npy data",
        payload=tar_gz(("input.npy", b"[[1, 2, 3]]"))),
    Bad("jpeg sample that is a png", vision("PYTORCH", SupportedContentTypes=["image/jpeg"]), "PayloadArchive:cat.jpg",
        "is not image/jpeg data", payload=tar_gz(("cat.jpg", b"\x89PNG\r\n\x1a\n...."))),
    Bad("macOS metadata in the payload", xgb(), "PayloadArchive:._sample.csv", "is operating-system metadata",
        "warning", payload=tar_gz(("sample.csv", b"1,2\n"), ("._sample.csv", b"\x00\x05\x16\x07"))),
    Bad("CSV width differs from DataInputConfig", xgb(), "PayloadArchive:sample.csv",
        "has 3 columns but DataInputConfig gives 50 features", "warning", payload=tar_gz(("sample.csv", b"1,2,3\n"))),
    Bad("payload type we cannot check", xgb(SupportedContentTypes=["application/x-recordio-protobuf"]),
        "SupportedContentTypes", "application/x-recordio-protobuf cannot be checked here", "warning",
        payload=tar_gz(("sample.rec", b"\x0a\x0b"))),
    Bad("payload is a zip", xgb(), "PayloadArchive", "is a zip file", payload=b"PK\x03\x04rest"),
]


def test_the_catalogue_has_at_least_forty_bad_inputs() -> None:
    assert len(CATALOGUE) >= 40
    assert len({bad.name for bad in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("bad", CATALOGUE, ids=lambda bad: bad.name)
def test_bad_input_gets_exactly_one_clear_finding(bad: Bad) -> None:
    report = validate(bad.manifest, bad.model() if callable(bad.model) else bad.model, bad.payload, bad.region)

    matching = [f for f in report.findings if f.field == bad.field and bad.message in f.message]
    assert len(matching) == 1, report.format_text()
    (finding,) = matching
    assert finding.severity == bad.severity and finding.action.endswith(".")
    assert report.valid is (bad.severity == "warning"), report.format_text()
    others = [f for f in report.findings if f is not finding]
    assert not [f for f in others if f.severity == "error"], report.format_text()


@pytest.mark.parametrize("framework", sorted(GOOD_MODELS))
def test_good_submission_for_every_framework(framework: str) -> None:
    manifest = xgb() if framework == "XGBOOST" else vision(framework)
    report = validate(manifest, GOOD_MODELS[framework], GOOD_PAYLOADS[framework])

    assert report.valid, report.format_text()
    if framework in ("ONNX", "KERAS"):
        # SageMaker has no container for these: valid, but IR compiles only in its own containers.
        (finding,) = report.findings
        assert finding.field == "Image" and finding.neo
        assert not report.neo_eligible
    else:
        assert report.findings == [] and report.neo_eligible, report.format_text()
        assert set(report.inspected) == {"ModelArchive", "PayloadArchive"}


@pytest.mark.parametrize("framework", ["XGBOOST", "PYTORCH", "TENSORFLOW", "MXNET"])
def test_image_left_out_resolves_to_the_sagemaker_container(framework: str) -> None:
    report = validate(vision(framework) if framework != "XGBOOST" else without(xgb(), "Image"), region="eu-west-2")
    assert report.valid and report.neo_eligible, report.format_text()
    assert report.manifest is not None and report.manifest.image == report.resolved_image
    assert ".dkr.ecr.eu-west-2.amazonaws.com/" in report.resolved_image


def test_every_finding_is_reported_at_once() -> None:
    report = validate(xgb(ModelName="a b", DataInputConfig={"data": [0, 50]}, Colour="x"),
                      model=b"PK\x03\x04", payload=tar_gz(("sample.csv", b"")))
    assert {f.field for f in report.errors} == {"ModelName", "DataInputConfig.data[0]", "Colour", "ModelArchive",
                                                "PayloadArchive:sample.csv"}


def test_report_json_is_capped_and_keeps_errors_first() -> None:
    many = tar_gz(*[(f"../escape{i}", b"x") for i in range(MAX_REPORTED_FINDINGS + 20)])
    report = validate(xgb(Image=OWN_IMAGE), model=many)
    document = report.to_dict()
    assert len(report.errors) == MAX_REPORTED_FINDINGS + 20
    assert document["valid"] is False and document["omitted_findings"] == len(report.findings) - MAX_REPORTED_FINDINGS
    assert len(document["findings"]) == MAX_REPORTED_FINDINGS
    assert all(finding["severity"] == "error" for finding in document["findings"])
    assert json.loads(json.dumps(document)) == document


def test_a_large_model_is_listed_from_its_head_only() -> None:
    model = tar_gz(("weights.bin", __import__("os").urandom(3 * 1024 * 1024)), ("model.pth", b"x"))
    report = check_archives(check_manifest(json.dumps(vision("PYTORCH")).encode(), REGION),
                            model=ArchiveInput(io.BytesIO(model), model_limits(1024 * 1024), "s3://b/model.tar.gz",
                                               len(model)))
    assert report.valid and "listed the first 1048576 of" in report.inspected["ModelArchive"]
    # model.pth lies beyond the inspected head: a warning that says so, not an error.
    (finding,) = report.findings
    assert finding.severity == "warning" and "in the part of the archive that was inspected" in finding.message


def test_npy_payload_helper_is_a_real_npy_header() -> None:
    assert NPY.startswith(b"\x93NUMPY")


def test_deeply_nested_json_below_the_parser_limit_does_not_crash() -> None:
    nested = '{"ModelName": ' + "[" * 900 + "]" * 900 + "}"
    report = validate(nested.encode())
    assert not report.valid and any(f.field == "ModelName" for f in report.errors)


def test_findings_quoting_user_input_are_capped_in_the_report() -> None:
    long_name = "../" + "a" * 5000
    report = validate(xgb(), model=tar_gz(("xgboost.model", b"b"), (long_name, b"x")))
    (finding,) = report.to_dict()["findings"][:1]
    assert finding["field"].startswith("ModelArchive:../aaa") and len(finding["field"]) == 200
    assert len(json.dumps(report.to_dict())) < 4000


def test_allowed_instance_types_must_exist_and_should_overlap_the_benchmarked_ones() -> None:
    report = validate(xgb(AllowedInstanceTypes=["ml.c5.xlarge", "ml.q9.huge"]))
    assert not report.valid
    (error,) = report.errors
    assert error.field == "AllowedInstanceTypes[1]" and "ml.q9.huge is not a SageMaker real-time" in error.message

    disjoint = validate(xgb(AllowedInstanceTypes=["ml.g4dn.xlarge"]))
    assert disjoint.valid and not disjoint.errors
    (warning,) = [f for f in disjoint.warnings if f.field == "AllowedInstanceTypes"]
    assert "no configuration can be recommended" in warning.message and not warning.neo
    assert validate(xgb(AllowedInstanceTypes=["ml.c5.xlarge"], MaxModelLatencyMs=20)).findings == []
