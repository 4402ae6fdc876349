"""What SageMaker Neo and Inference Recommender support: frameworks, containers, instance families.

Every table names the AWS page (or public source) it comes from; those pages change, so
re-check them when a framework release or a new region matters to you.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Neo-compilable framework versions for cloud instances, as (major, minor) prefixes.
#: Source: SageMaker Developer Guide, 'Supported Instance Types and Frameworks' > Cloud Instances
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/neo-supported-cloud.html): MXNet 1.8.0;
#: ONNX 1.7.0; Keras 2.2.4; PyTorch 1.4, 1.5, 1.6, 1.7, 1.8, 1.12, 1.13 or 2.0; TensorFlow
#: 1.15.3 or 2.9; XGBoost 1.3.3 or earlier (the AWS IR XGBoost notebook: 1.0 to 1.3).
NEO_CLOUD_FRAMEWORK_VERSIONS: dict[str, tuple[str, ...]] = {
    "MXNET": ("1.8",),
    "ONNX": ("1.7",),
    "KERAS": ("2.2",),
    "PYTORCH": ("1.4", "1.5", "1.6", "1.7", "1.8", "1.12", "1.13", "2.0"),
    "TENSORFLOW": ("1.15", "2.9"),
    "XGBOOST": ("1.0", "1.1", "1.2", "1.3"),
}
NEO_FRAMEWORKS_PAGE = "https://docs.aws.amazon.com/sagemaker/latest/dg/neo-supported-cloud.html"

#: Instance families Neo compiles for (same page, 'Instance Types'): standard and accelerated.
NEO_CLOUD_FAMILIES = ("c4", "c5", "m4", "m5", "p2", "p3", "g4dn")
#: Inferentia (ml_inf1) has its own, shorter framework table on the same page.
NEO_INF1_FRAMEWORK_VERSIONS: dict[str, tuple[str, ...]] = {
    "MXNET": ("1.5", "1.8"),
    "PYTORCH": ("1.7", "1.8", "1.9"),
    "TENSORFLOW": ("1.15", "2.5"),
}
GPU_FAMILIES = ("p2", "p3", "p4d", "p4de", "p5", "g4dn", "g5", "g6", "g6e")

#: What a model archive must hold for Neo ('Prepare Model for Compilation' and the table above).
MODEL_FILES_EXPECTED = {
    "XGBOOST": "exactly one XGBoost model file",
    "PYTORCH": "one TorchScript model file (.pt or .pth, saved with torch.jit.trace and torch.save)",
    "TENSORFLOW": "a SavedModel (saved_model.pb or .pbtxt with a variables/ directory) or one frozen .pb",
    "MXNET": "one *-symbol.json and one .params file",
    "KERAS": "one .h5 model file",
    "ONNX": "one .onnx model file",
}

#: Registry account of the SageMaker XGBoost container (repository ``sagemaker-xgboost``) per
#: commercial region. Source: SageMaker Python SDK, ``image_uri_config/xgboost.json`` (1.0-1 to 1.7-1).
XGBOOST_REGISTRIES = {
    "af-south-1": "510948584623", "ap-east-1": "651117190479", "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698", "ap-northeast-3": "867004704886", "ap-south-1": "720646828776",
    "ap-south-2": "628508329040", "ap-southeast-1": "121021644041", "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941", "ap-southeast-4": "106583098589", "ca-central-1": "341280168497",
    "ca-west-1": "190319476487", "eu-central-1": "492215442770", "eu-central-2": "680994064768",
    "eu-north-1": "662702820516", "eu-south-1": "978288397137", "eu-south-2": "104374241257",
    "eu-west-1": "141502667606", "eu-west-2": "764974769150", "eu-west-3": "659782779980",
    "il-central-1": "898809789911", "me-central-1": "272398656194", "me-south-1": "801668240914",
    "sa-east-1": "737474898029", "us-east-1": "683313688378", "us-east-2": "257758044811",
    "us-west-1": "746614075791", "us-west-2": "246618743249",
}
#: XGBoost framework version (major.minor) -> SageMaker XGBoost image tag (same SDK file).
XGBOOST_TAGS = {"1.0": "1.0-1-cpu-py3", "1.2": "1.2-1", "1.3": "1.3-1", "1.5": "1.5-1", "1.7": "1.7-1"}

_DLC_DEFAULT_ACCOUNT = "763104351884"
#: Registry account of the AWS Deep Learning Containers per commercial region. Source: SageMaker
#: Python SDK, ``image_uri_config/pytorch.json`` inference scope (the same for tensorflow and mxnet).
DLC_REGISTRIES = {
    **dict.fromkeys((
        "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
        "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1",
        "us-east-2", "us-west-1", "us-west-2"), _DLC_DEFAULT_ACCOUNT),
    "af-south-1": "626614931356", "ap-east-1": "871362719292", "ap-east-2": "975050140332",
    "ap-northeast-3": "364406365360", "ap-south-2": "772153158452", "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322", "ap-southeast-5": "550225433462", "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437", "ca-west-1": "204538143572", "eu-central-2": "380420809688",
    "eu-south-1": "692866216735", "eu-south-2": "503227376785", "il-central-1": "780543022126",
    "me-central-1": "914824155844", "me-south-1": "217643126080", "mx-central-1": "637423239942",
}
#: Framework -> DLC inference repository.
DLC_REPOSITORIES = {"PYTORCH": "pytorch-inference", "TENSORFLOW": "tensorflow-inference",
                    "MXNET": "mxnet-inference"}
#: Framework -> major.minor -> (CPU tag, GPU tag), as the SageMaker Python SDK builds them.
DLC_TAGS: dict[str, dict[str, tuple[str, str]]] = {
    "PYTORCH": {
        "1.4": ("1.4.0-cpu-py3", "1.4.0-gpu-py3"), "1.5": ("1.5.0-cpu-py3", "1.5.0-gpu-py3"),
        "1.6": ("1.6.0-cpu-py3", "1.6.0-gpu-py3"), "1.7": ("1.7.1-cpu-py3", "1.7.1-gpu-py3"),
        "1.8": ("1.8.1-cpu-py3", "1.8.1-gpu-py3"), "1.12": ("1.12.1-cpu-py38", "1.12.1-gpu-py38"),
        "1.13": ("1.13.1-cpu-py39", "1.13.1-gpu-py39"), "2.0": ("2.0.1-cpu-py310", "2.0.1-gpu-py310"),
    },
    "TENSORFLOW": {"1.15": ("1.15.5-cpu", "1.15.5-gpu"), "2.9": ("2.9.3-cpu", "2.9.3-gpu")},
    "MXNET": {"1.8": ("1.8.0-cpu-py37", "1.8.0-gpu-py37")},
}
#: SageMaker's own containers Neo does not compile, by repository: (framework, what to call it). Source: SageMaker
#: Python SDK ``image_uri_config/sklearn.json`` (the XGBoost registries) and ``sagemaker-tritonserver.json`` (the
#: Deep Learning Container registries), checked against the tables above for every commercial region.
UNCOMPILED_SAGEMAKER_CONTAINERS = {
    "sagemaker-scikit-learn": ("SAGEMAKER-SCIKIT-LEARN", "SageMaker's scikit-learn container"),
    "sagemaker-tritonserver": ("TRITON", "SageMaker's Triton Inference Server container"),
}
_FRAMEWORK_OF_REPOSITORY = {repository: framework for framework, repository in DLC_REPOSITORIES.items()}
_FRAMEWORK_OF_REPOSITORY["sagemaker-xgboost"] = "XGBOOST"
_FRAMEWORK_OF_REPOSITORY.update({repository: framework
                                 for repository, (framework, _) in UNCOMPILED_SAGEMAKER_CONTAINERS.items()})
_XGBOOST_REGISTRY_REPOSITORIES = ("sagemaker-xgboost", "sagemaker-scikit-learn")
#: The registries SageMaker's Triton container was published from before it joined the Deep Learning Container
#: accounts; AWS's Triton example notebooks still pull from them. Source: aws/amazon-sagemaker-examples@2d519b5,
#: deploy_and_monitor/sm-triton_nlp_bert/sm-triton_nlp_bert.ipynb (``account_id_map``), commercial regions.
TRITON_LEGACY_REGISTRIES = {
    "us-east-1": "785573368785", "us-east-2": "007439368137", "us-west-1": "710691900526",
    "us-west-2": "301217895009", "eu-west-1": "802834080501", "eu-west-2": "205493899709",
    "eu-west-3": "254080097072", "eu-north-1": "601324751636", "eu-south-1": "966458181534",
    "eu-central-1": "746233611703", "ap-east-1": "110948597952", "ap-south-1": "763008648453",
    "ap-northeast-1": "941853720454", "ap-northeast-2": "151534178276", "ap-southeast-1": "324986816169",
    "ap-southeast-2": "355873309152", "sa-east-1": "756306329178", "ca-central-1": "464438896020",
    "me-south-1": "836785723513", "af-south-1": "774647643957",
}
#: scikit-learn framework version (major.minor) -> SageMaker scikit-learn image tag (SDK ``sklearn.json``:
#: versions 1.0-1 and 1.2-1, CPU, py3).
SKLEARN_TAGS = {"1.0": "1.0-1-cpu-py3", "1.2": "1.2-1-cpu-py3"}

_ECR_URI = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                      r"(?P<repository>[^:@]+)(:(?P<tag>[^@]+)|@(?P<digest>.+))$")
_INSTANCE = re.compile(r"^ml\.(?P<family>[a-z0-9-]+)\.(?P<size>[a-z0-9]+)$")


@dataclass(frozen=True)
class ContainerImage:
    """An ECR image URI taken apart, and whether SageMaker owns it."""

    uri: str
    account: str
    region: str
    repository: str
    tag: str
    framework: str | None
    """The framework of a SageMaker-owned container; ``None`` for any other image."""

    @property
    def sagemaker_owned(self) -> bool:
        """A container SageMaker publishes: XGBoost, scikit-learn, Triton or an AWS Deep Learning Container."""
        return self.framework is not None

    @property
    def neo_compilable(self) -> bool:
        """A SageMaker container of a framework Neo compiles (XGBoost or a Deep Learning Container)."""
        return self.framework in NEO_CLOUD_FRAMEWORK_VERSIONS

    @property
    def description(self) -> str:
        """What the container is, for messages."""
        if self.repository in UNCOMPILED_SAGEMAKER_CONTAINERS:
            return UNCOMPILED_SAGEMAKER_CONTAINERS[self.repository][1]
        return f"the {self.framework} container"


def major_minor(version: str) -> str:
    """``1.2.0`` -> ``1.2``; ``1.2-1`` -> ``1.2``."""
    return ".".join(re.split(r"[.-]", version)[:2])


def parse_image(uri: str) -> ContainerImage | None:
    """Split an ECR URI into its parts, or ``None`` when it is not one."""
    match = _ECR_URI.match(uri)
    if not match:
        return None
    account, region, repository = match.group("account"), match.group("region"), match.group("repository")
    framework = _FRAMEWORK_OF_REPOSITORY.get(repository)
    registries = XGBOOST_REGISTRIES if repository in _XGBOOST_REGISTRY_REPOSITORIES else DLC_REGISTRIES
    owned = framework is not None and (registries.get(region) == account or (
        repository == "sagemaker-tritonserver" and TRITON_LEGACY_REGISTRIES.get(region) == account))
    return ContainerImage(uri, account, region, repository, match.group("tag") or "",
                          framework if owned else None)


def resolve_image(framework: str, version: str, region: str, *, gpu: bool = False) -> str | None:
    """The SageMaker container URI for a framework version in a region, or ``None`` if unknown."""
    key = major_minor(version)
    if framework == "XGBOOST":
        account, repository, tag = XGBOOST_REGISTRIES.get(region), "sagemaker-xgboost", XGBOOST_TAGS.get(key)
    elif framework == "SAGEMAKER-SCIKIT-LEARN":
        account, repository, tag = XGBOOST_REGISTRIES.get(region), "sagemaker-scikit-learn", SKLEARN_TAGS.get(key)
    else:
        tags = DLC_TAGS.get(framework, {}).get(key)
        account, repository = DLC_REGISTRIES.get(region), DLC_REPOSITORIES.get(framework)
        tag = (tags[1] if gpu else tags[0]) if tags else None
    if not (account and repository and tag):
        return None
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"


def image_version(image: ContainerImage) -> str | None:
    """The framework version (major.minor) a SageMaker-owned image's tag names."""
    if not image.neo_compilable or not re.match(r"^[0-9]+\.[0-9]+", image.tag):
        return None
    return major_minor(image.tag)


def instance_family(instance_type: str) -> str | None:
    """``ml.c5.xlarge`` -> ``c5``."""
    match = _INSTANCE.match(instance_type)
    return match.group("family") if match else None


def neo_compiles_for(instance_type: str, framework: str, version: str) -> bool:
    """Whether Neo has a cloud target for this instance type (and, for Inferentia, this framework)."""
    family = instance_family(instance_type)
    if family in NEO_CLOUD_FAMILIES:
        return True
    if family == "inf1":
        return major_minor(version) in NEO_INF1_FRAMEWORK_VERSIONS.get(framework, ())
    return False


def is_gpu(instance_type: str) -> bool:
    """Whether the instance type has NVIDIA GPUs (picks the GPU image tag)."""
    return instance_family(instance_type) in GPU_FAMILIES


REALTIME_INSTANCE_TYPES_PATH = Path(__file__).with_name("realtime_instance_types.json")


@lru_cache(maxsize=1)
def realtime_instance_types() -> frozenset[str]:
    """SageMaker real-time instance types (botocore's ``ProductionVariantInstanceType`` enum, shipped as data).

    ``make instance-types`` refreshes the file from the pinned botocore; a test checks they agree.
    """
    return frozenset(json.loads(REALTIME_INSTANCE_TYPES_PATH.read_text(encoding="utf-8"))["instance_types"])
