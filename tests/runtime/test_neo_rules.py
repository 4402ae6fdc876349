"""The rule tables and small checkers behind validation: images, instance types, shapes, archives, Neo errors."""

from __future__ import annotations

import gzip
import io
import json

import botocore.session
import pytest
from archive_builders import tar_gz

from neo_runtime import neo_support
from neo_runtime.archive_reader import ArchiveUnreadable, ReadLimits, read_listing
from neo_runtime.data_input import EXAMPLES, check_data_input_config, example_for
from neo_runtime.neo_troubleshooting import diagnose, is_compilation_failure


@pytest.mark.parametrize("framework", ["XGBOOST", "PYTORCH", "TENSORFLOW", "MXNET"])
def test_resolved_images_are_recognised_as_sagemaker_owned_in_every_commercial_region(framework: str) -> None:
    regions = neo_support.XGBOOST_REGISTRIES if framework == "XGBOOST" else neo_support.DLC_REGISTRIES
    version = {"XGBOOST": "1.2.0", "PYTORCH": "1.13", "TENSORFLOW": "2.9", "MXNET": "1.8.0"}[framework]
    for region in regions:
        uri = neo_support.resolve_image(framework, version, region)
        assert uri is not None, region
        image = neo_support.parse_image(uri)
        assert image is not None and image.sagemaker_owned and image.framework == framework, uri
        assert image.region == region and neo_support.image_version(image) == neo_support.major_minor(version)


def test_known_tags_follow_the_sagemaker_sdk() -> None:
    assert neo_support.resolve_image("PYTORCH", "2.0.1", "us-east-1", gpu=True) == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.1-gpu-py310")
    assert neo_support.resolve_image("XGBOOST", "1.2.0", "us-east-1") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1")
    assert neo_support.resolve_image("TENSORFLOW", "1.15.3", "af-south-1") == (
        "626614931356.dkr.ecr.af-south-1.amazonaws.com/tensorflow-inference:1.15.5-cpu")
    assert neo_support.resolve_image("ONNX", "1.7.0", "us-east-1") is None
    assert neo_support.resolve_image("XGBOOST", "1.2.0", "mars-north-1") is None


@pytest.mark.parametrize(("uri", "owned"), [
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1", True),
    ("763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference@sha256:" + "a" * 64, True),
    ("763104351884.dkr.ecr.af-south-1.amazonaws.com/pytorch-inference:1.8.1-cpu-py3", False),  # wrong account
    ("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.8.1-cpu-py3", False),  # training image
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", False),  # legacy XGBoost 0.72 repository
])
def test_sagemaker_ownership_is_by_registry_account_and_repository(uri: str, owned: bool) -> None:
    image = neo_support.parse_image(uri)
    assert image is not None and image.sagemaker_owned is owned


def test_shipped_instance_types_match_the_pinned_botocore() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    expected = set(model.shape_for("ProductionVariantInstanceType").enum)
    assert neo_support.realtime_instance_types() == expected, "run: make instance-types"


@pytest.mark.parametrize(("instance", "framework", "version", "compiled"), [
    ("ml.c5.xlarge", "XGBOOST", "1.2.0", True),
    ("ml.g4dn.xlarge", "PYTORCH", "2.0", True),
    ("ml.g5.xlarge", "PYTORCH", "2.0", False),
    ("ml.inf1.xlarge", "PYTORCH", "1.8", True),
    ("ml.inf1.xlarge", "PYTORCH", "2.0", False),
    ("ml.inf1.xlarge", "XGBOOST", "1.2.0", False),
])
def test_neo_instance_families(instance: str, framework: str, version: str, compiled: bool) -> None:
    assert neo_support.neo_compiles_for(instance, framework, version) is compiled


@pytest.mark.parametrize("framework", sorted(EXAMPLES))
def test_each_frameworks_example_shape_is_clean(framework: str) -> None:
    image_model = framework != "XGBOOST"
    assert check_data_input_config(example_for(framework), framework, image_model=image_model) == ([], [])


def test_pytorch_accepts_a_list_of_shapes_in_input_order() -> None:
    errors, warnings = check_data_input_config([[1, 3, 224, 224], [1, 3, 224, 224]], "PYTORCH", image_model=True)
    assert errors == [] and warnings == []


@pytest.mark.parametrize(("reason", "category"), [
    ("ClientError: InputConfiguration: Input input has wrong shape in Input Shape dictionary. Input shapes "
     "should be provided in NCHW format.", "Input shape (DataInputConfig)"),
    ("ClientError: InputConfiguration: Exactly one .pb file is allowed for TensorFlow models.",
     "Model files (load error)"),
    ("ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file",
     "Model files (load error)"),
    ("ClientError: InputConfiguration: TVM cannot convert the model. The following operators are not "
     "implemented: {'Einsum'}", "Unsupported operator (compilation error)"),
    ("OperatorNotImplemented: aten::unique", "Unsupported operator (compilation error)"),
    ("ClientError: Access Denied when calling sts:AssumeRole", "Permissions or S3 (client error)"),
    ("ClientError: InputConfiguration: Framework version mismatch", "Input configuration"),
    ("InternalError: something broke", "System error"),
])
def test_compilation_failures_map_to_the_aws_troubleshooting_categories(reason: str, category: str) -> None:
    diagnosis = diagnose(reason)
    assert diagnosis.category == category
    assert "/aws/sagemaker/CompilationJobs" in diagnosis.advice


def test_only_compiled_variants_fail_in_compilation() -> None:
    assert is_compilation_failure("Compilation job neo-1 failed: bad shape", compiled_variant=True)
    assert not is_compilation_failure("Endpoint failed health check", compiled_variant=True)
    assert not is_compilation_failure("Compilation failed", compiled_variant=False)


def test_reader_stops_at_the_member_limit() -> None:
    archive = tar_gz(*[(f"f{i}", b"x") for i in range(6)])
    with pytest.raises(ArchiveUnreadable, match="has more than 5 members"):
        read_listing(io.BytesIO(archive), ReadLimits(max_members=5))


def test_reader_accepts_concatenated_gzip_members_and_zero_padding() -> None:
    raw_tar = gzip.decompress(tar_gz(("a.txt", b"a")))
    half = len(raw_tar) // 1024 * 512
    archive = gzip.compress(raw_tar[:half]) + gzip.compress(raw_tar[half:]) + b"\0" * 512
    listing = read_listing(io.BytesIO(archive), ReadLimits())
    assert [m.name for m in listing.members] == ["a.txt"] and listing.complete


def test_reader_keeps_only_the_head_of_each_file() -> None:
    listing = read_listing(io.BytesIO(tar_gz(("big.csv", b"1,2\n" * 1000))), ReadLimits(content_head_bytes=8))
    (member,) = listing.files
    assert member.head == b"1,2\n1,2\n" and member.size == 4000


def test_reader_never_expands_past_its_absolute_cap() -> None:
    archive = tar_gz(("a.bin", b"a" * 100_000))
    with pytest.raises(ArchiveUnreadable, match="expands to more than 1000 bytes"):
        read_listing(io.BytesIO(archive), ReadLimits(max_decompressed_bytes=1000))


def test_examples_are_json_strings_sagemaker_accepts() -> None:
    for framework in EXAMPLES:
        assert json.loads(example_for(framework)) == EXAMPLES[framework]
