"""Will Inference Recommender add Neo-compiled recommendations for this manifest?

The conditions come from the SageMaker docs: 'Get compiled recommendations with Neo'
(a SageMaker-owned DLC or XGBoost container, and DataInputConfig) and 'Supported Instance
Types and Frameworks' > Cloud Instances (the framework versions below; re-check that page,
it changes). Ineligible is not invalid: the job still runs, with uncompiled rows only.
"""

from __future__ import annotations

import re

from neo_runtime.manifest import Manifest

#: Framework versions Neo compiles for cloud instances ('Supported Instance Types and Frameworks').
NEO_FRAMEWORK_VERSIONS: dict[str, tuple[str, ...]] = {
    "MXNET": ("1.8",),
    "ONNX": ("1.7",),
    "KERAS": ("2.2",),
    "PYTORCH": ("1.4", "1.5", "1.6", "1.7", "1.8", "1.12", "1.13", "2.0"),
    "TENSORFLOW": ("1.15", "2.9"),
    "XGBOOST": ("1.0", "1.1", "1.2", "1.3"),
}
#: Registry accounts of the SageMaker XGBoost container ('Docker Registry Paths and Example Code').
XGBOOST_REGISTRY_ACCOUNTS = frozenset({
    "683313688378", "257758044811", "746614075791", "246618743249", "341280168497", "190319476487",
    "737474898029", "510948584623", "651117190479", "354813040037", "366743142698", "867004704886",
    "720646828776", "628508329040", "121021644041", "783357654285", "951798379941", "106583098589",
    "492215442770", "680994064768", "662702820516", "978288397137", "104374241257", "141502667606",
    "764974769150", "659782779980", "898809789911", "272398656194", "801668240914",
})
#: Registry accounts of the AWS Deep Learning Containers (aws/deep-learning-containers, available_images.md).
DLC_REGISTRY_ACCOUNTS = frozenset({
    "763104351884", "626614931356", "871362719292", "364406365360", "772153158452", "907027046896",
    "457447274322", "204538143572", "380420809688", "692866216735", "503227376785", "780543022126",
    "914824155844", "217643126080",
})
_ECR_URI = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                      r"(?P<repository>[^:@]+)")


def ineligibility_reasons(manifest: Manifest) -> list[str]:
    """Why IR will not compile this model with Neo (empty when it will)."""
    reasons = []
    supported = NEO_FRAMEWORK_VERSIONS.get(manifest.framework)
    if supported is None:
        reasons.append(f"Framework {manifest.framework} is not supported by Neo for cloud instances "
                       f"(supported: {', '.join(sorted(NEO_FRAMEWORK_VERSIONS))})")
    elif ".".join(manifest.framework_version.split(".")[:2]) not in supported:
        reasons.append(f"{manifest.framework} {manifest.framework_version} is not a version Neo compiles "
                       f"(supported: {', '.join(supported)})")
    match = _ECR_URI.match(manifest.image)
    account = match.group("account") if match else ""
    if account not in XGBOOST_REGISTRY_ACCOUNTS | DLC_REGISTRY_ACCOUNTS:
        reasons.append(f"Image {manifest.image} is not a SageMaker-owned container (registry account "
                       f"{account or 'unknown'}); use the SageMaker XGBoost container or a SageMaker DLC")
    return reasons
