"""Will Inference Recommender add Neo-compiled recommendations for this manifest, and can it run at all?

IR's conditions ('Compiled recommendations with Neo' in the SageMaker Developer Guide): a
SageMaker-owned DLC or XGBoost container, a framework version Neo supports for cloud instances
(the table in ``neo_support``), and a correct ``DataInputConfig``. Ineligible is not invalid:
the job still runs, with uncompiled rows only, and the findings say why and what to change.

A ``Manifest`` whose ``framework`` or ``framework_version`` is ``UNKNOWN`` (its field did not parse)
gets the checks that hold whatever the framework is; the ones that need it are left out.
"""

from __future__ import annotations

from neo_runtime import neo_support
from neo_runtime.data_input import check_data_input_config, example_for, is_image_model
from neo_runtime.errors import WARNING, Finding
from neo_runtime.manifest import Manifest

#: The framework or version of a manifest whose field did not parse (``validation`` checks the rest anyway).
UNKNOWN = ""

_IMAGE_ACTION = ("Use the SageMaker XGBoost container or an AWS Deep Learning Container for inference "
                 "(or leave Image out and let the pipeline pick it).")


def resolve_manifest_image(manifest: Manifest, region: str | None) -> tuple[str | None, list[Finding]]:
    """The image to use when the manifest leaves ``Image`` out, or an error saying why there is none.

    Nothing to say while the framework or its version is unknown: which container it would be depends on both.
    """
    if manifest.image or UNKNOWN in (manifest.framework, manifest.framework_version):
        return None, []
    if not region:
        return None, [Finding("Image", "is left out and no region is known to pick a SageMaker container",
                              "Give Image, or the region (--region, or AWS_REGION).")]
    gpu = bool(manifest.instance_types) and all(neo_support.is_gpu(t) for t in manifest.instance_types)
    image = neo_support.resolve_image(manifest.framework, manifest.framework_version, region, gpu=gpu)
    if image is None:
        return None, [Finding("Image", f"is left out and there is no known SageMaker container for "
                                       f"{manifest.framework} {manifest.framework_version} in {region}",
                              "Give the ECR URI of your inference container as Image.")]
    return image, []


def eligibility_findings(manifest: Manifest, region: str | None, *, data_input_checked: bool = True) -> list[Finding]:
    """Findings about the container, the framework version, DataInputConfig and the instance types."""
    findings = _framework_findings(manifest)
    if not manifest.nearest_model_name and _may_be_compiled(manifest.framework):
        findings.append(Finding("NearestModelName", "is missing, so Inference Recommender will not compile the model",
                                "Name the public model closest to yours, e.g. xgboost or resnet50.", WARNING,
                                neo=True))
    findings += _image_findings(manifest, region)
    if data_input_checked:
        findings += _data_input_findings(manifest)
    findings += _instance_findings(manifest)
    findings += _allowed_instance_findings(manifest)
    return findings


def ineligibility_reasons(findings: list[Finding]) -> list[str]:
    """Plain sentences for the findings that keep Neo out (empty when IR will compile)."""
    return [f"{finding.field} {finding.message}" for finding in findings if finding.neo]


def _may_be_compiled(framework: str) -> bool:
    """Whether Neo compiles the framework, or may (unknown): either way a missing Neo input blocks compilation."""
    return framework == UNKNOWN or framework in neo_support.NEO_CLOUD_FRAMEWORK_VERSIONS


def _framework_findings(manifest: Manifest) -> list[Finding]:
    if manifest.framework == UNKNOWN:
        return []
    supported = neo_support.NEO_CLOUD_FRAMEWORK_VERSIONS.get(manifest.framework)
    if supported is None:
        return [Finding("Framework", f"{manifest.framework} is not compiled by Neo for cloud instances",
                        f"Nothing to change for uncompiled recommendations; Neo compiles "
                        f"{', '.join(sorted(neo_support.NEO_CLOUD_FRAMEWORK_VERSIONS))} "
                        f"(see {neo_support.NEO_FRAMEWORKS_PAGE}), so the job runs uncompiled.", WARNING, neo=True)]
    if manifest.framework_version != UNKNOWN and neo_support.major_minor(manifest.framework_version) not in supported:
        return [Finding("FrameworkVersion", f"{manifest.framework} {manifest.framework_version} is not a "
                                            "version Neo compiles for cloud instances",
                        f"Use {manifest.framework} {' or '.join(supported)} for compiled recommendations "
                        f"(see {neo_support.NEO_FRAMEWORKS_PAGE}).", WARNING, neo=True)]
    return []


def _image_findings(manifest: Manifest, region: str | None) -> list[Finding]:
    if not manifest.image:
        return []
    image = neo_support.parse_image(manifest.image)
    if image is None:
        return [Finding("Image", "is not an ECR image URI", _IMAGE_ACTION)]
    findings = []
    if region and image.region != region:
        findings.append(Finding("Image", f"is in {image.region}, but the pipeline runs in {region}",
                                f"Use the {region} copy of the container; SageMaker pulls images from its own "
                                "region."))
    if not image.sagemaker_owned:
        findings.append(Finding("Image", f"is not a SageMaker-owned container (registry {image.account}, "
                                         f"repository {image.repository})", _IMAGE_ACTION, WARNING, neo=True))
    elif not image.neo_compilable:
        if image.framework != manifest.framework:  # else the Framework finding says it already
            findings.append(Finding(
                "Image", f"is {image.description}, which Neo does not compile, so the job runs uncompiled",
                "Keep it for uncompiled recommendations; for compiled ones, export the model to a framework Neo "
                f"compiles ({', '.join(sorted(neo_support.NEO_CLOUD_FRAMEWORK_VERSIONS))}) and use its SageMaker "
                "container.", WARNING, neo=True))
    elif image.framework != manifest.framework:
        if manifest.framework != UNKNOWN:  # whether they agree is for when Framework parses
            findings.append(Finding("Image", f"is the {image.framework} container, but Framework is "
                                    f"{manifest.framework}", "Make Image and Framework name the same framework.",
                                    WARNING, neo=True))
    else:
        version = neo_support.image_version(image)
        if (version and manifest.framework_version != UNKNOWN
                and version != neo_support.major_minor(manifest.framework_version)):
            findings.append(Finding("Image", f"is tagged {image.tag}, but FrameworkVersion is "
                                             f"{manifest.framework_version}",
                                    "Use the container of the framework version the model was trained with.",
                                    WARNING))
    return findings


def _data_input_findings(manifest: Manifest) -> list[Finding]:
    if not _may_be_compiled(manifest.framework):
        return []
    if not manifest.data_input_config:
        return [Finding("DataInputConfig", "is missing, so Inference Recommender will not compile the model",
                        f"Give input names and shapes, e.g. {example_for(manifest.framework)}.", WARNING, neo=True)]
    if manifest.framework == UNKNOWN:
        return []  # which shapes are right depends on the framework
    errors, warnings = check_data_input_config(manifest.data_input_config, manifest.framework,
                                               image_model=is_image_model(manifest.domain, manifest.task))
    return errors + warnings


def _instance_findings(manifest: Manifest) -> list[Finding]:
    listed = [("SupportedRealtimeInferenceInstanceTypes", index, name)
              for index, name in enumerate(manifest.instance_types)]
    listed += [("EndpointConfigurations", index, item.get("InstanceType", ""))
               for index, item in enumerate(manifest.advanced.get("EndpointConfigurations", []))]
    findings = _unknown_instance_types(listed)
    known = neo_support.realtime_instance_types()
    valid = [name for _, _, name in listed if name in known]
    if not valid or not _may_be_compiled(manifest.framework):
        return findings
    compiled = [name for name in valid if _may_get_a_compiled_variant(name, manifest)]
    families = ", ".join(f"ml.{family}" for family in neo_support.NEO_CLOUD_FAMILIES)
    if not compiled:
        findings.append(Finding(listed[0][0], "has no instance type Neo compiles for, so there will be no "
                                              "compiled recommendations",
                                f"Add instance types of a Neo family ({families}).", WARNING, neo=True))
    elif len(compiled) < len(valid):
        uncompiled = sorted(set(valid) - set(compiled))
        findings.append(Finding(listed[0][0], f"{', '.join(uncompiled)} will get uncompiled recommendations only",
                                f"Neo compiles for {families}.", WARNING))
    return findings


def _may_get_a_compiled_variant(instance_type: str, manifest: Manifest) -> bool:
    """Whether Neo has a target for the instance type (Inferentia's depends on the version: if unknown, it may)."""
    if UNKNOWN in (manifest.framework, manifest.framework_version):
        return neo_support.instance_family(instance_type) in (*neo_support.NEO_CLOUD_FAMILIES, "inf1")
    return neo_support.neo_compiles_for(instance_type, manifest.framework, manifest.framework_version)


def _allowed_instance_findings(manifest: Manifest) -> list[Finding]:
    """``AllowedInstanceTypes`` must name real instance types, and should overlap what the job benchmarks."""
    findings = _unknown_instance_types([("AllowedInstanceTypes", index, name)
                                        for index, name in enumerate(manifest.allowed_instance_types)])
    benchmarked = set(manifest.instance_types) | {
        item.get("InstanceType", "") for item in manifest.advanced.get("EndpointConfigurations", [])}
    allowed = set(manifest.allowed_instance_types)
    if allowed and benchmarked and not allowed & benchmarked:
        findings.append(Finding(
            "AllowedInstanceTypes", "shares no instance type with the ones the job benchmarks, so no "
                                    "configuration can be recommended",
            "Add the allowed types to SupportedRealtimeInferenceInstanceTypes (or EndpointConfigurations), "
            "or widen AllowedInstanceTypes.", WARNING))
    return findings


def _unknown_instance_types(listed: list[tuple[str, int, str]]) -> list[Finding]:
    """An error for each listed ``(field, index, name)`` that is not a SageMaker real-time instance type."""
    known = neo_support.realtime_instance_types()
    return [Finding(f"{field}[{index}]", f"{name} is not a SageMaker real-time instance type",
                    "Use an instance type from the SageMaker pricing page, e.g. ml.c5.xlarge.")
            for field, index, name in listed if name not in known]
