"""Preflight validation of a submission: one module for the workflow's first state and the CLI.

``check_manifest`` checks the manifest (schema, image, framework, DataInputConfig, instance
types, Neo eligibility); ``check_archives`` adds what the model and payload archives hold. Both
only collect findings, so a user sees every problem at once. The report says whether a job can
run at all (``valid``) and whether Inference Recommender will add Neo-compiled rows
(``neo_eligible``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from neo_runtime.archive_checks import (
    MODEL,
    PAYLOAD,
    SAMPLE_FILES_CHECKED,
    SAMPLE_HEAD_BYTES,
    check_model_archive,
    check_payload_archive,
    read_archive,
)
from neo_runtime.archive_reader import Listing, ReadLimits
from neo_runtime.errors import ERROR, NOTE, WARNING, Finding, SubmissionInvalid
from neo_runtime.job_defaults import apply_job_defaults
from neo_runtime.manifest import (
    ADVANCED_ONLY_FIELDS,
    Manifest,
    decode_manifest,
    manifest_findings,
    manifest_notes,
    manifest_schema,
    normalise,
)
from neo_runtime.neo_eligibility import (
    UNKNOWN,
    eligibility_findings,
    ineligibility_reasons,
    resolve_manifest_image,
)
from neo_runtime.neo_support import NEO_CLOUD_FRAMEWORK_VERSIONS

#: How much of each archive the workflow reads from S3: the head of a big model is enough to
#: list its leading members, and IR downloads the model anyway (we never fetch it twice in full).
WORKFLOW_MODEL_READ_BYTES = 32 * 1024 * 1024
WORKFLOW_PAYLOAD_READ_BYTES = 32 * 1024 * 1024
#: Findings kept in the JSON report (a hostile archive can produce thousands; the workflow state,
#: the DynamoDB item and the SNS message all have size limits).
MAX_REPORTED_FINDINGS = 50


def model_limits(max_compressed_bytes: int | None = None) -> ReadLimits:
    """Read limits for a model archive (listing only)."""
    return ReadLimits(max_compressed_bytes=max_compressed_bytes)


def payload_limits(max_compressed_bytes: int | None = None) -> ReadLimits:
    """Read limits for a payload archive (the head of every sample is kept for content checks)."""
    return ReadLimits(max_compressed_bytes=max_compressed_bytes, content_head_bytes=SAMPLE_HEAD_BYTES,
                      max_content_members=SAMPLE_FILES_CHECKED)


@dataclass(frozen=True)
class ArchiveInput:
    """An archive to check: an open binary stream, how much of it to read, and what to call it."""

    stream: BinaryIO
    limits: ReadLimits
    label: str
    size: int | None = None


@dataclass
class ValidationReport:
    """Every finding about one submission, and the two verdicts drawn from them."""

    findings: list[Finding] = field(default_factory=list)
    manifest: Manifest | None = None
    document: dict[str, Any] | None = None
    resolved_image: str | None = None
    inspected: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        """Findings that stop a job from running."""
        return [finding for finding in self.findings if finding.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings the job runs with."""
        return [finding for finding in self.findings if finding.severity == WARNING]

    @property
    def notes(self) -> list[Finding]:
        """Values the pipeline reads differently from how they are written (nothing to do)."""
        return [finding for finding in self.findings if finding.severity == NOTE]

    @property
    def valid(self) -> bool:
        """Whether an Inference Recommender job can run at all."""
        return self.manifest is not None and not self.errors

    @property
    def neo_eligible(self) -> bool | None:
        """Whether IR will add Neo-compiled recommendations; None (unknown) when an invalid manifest hides it."""
        if any(finding.neo for finding in self.findings):
            return False
        return True if self.valid else None

    @property
    def neo_ineligible_reasons(self) -> list[str]:
        """Why IR will not compile, as sentences."""
        return ineligibility_reasons(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``validate --json``, the workflow's state), errors first."""
        ordered = self.errors + self.warnings + self.notes
        return {
            "valid": self.valid,
            "neo_eligible": self.neo_eligible,
            "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "note_count": len(self.notes),
            "findings": [finding.to_dict() for finding in ordered[:MAX_REPORTED_FINDINGS]],
            "omitted_findings": max(0, len(ordered) - MAX_REPORTED_FINDINGS),
            "resolved_image": self.resolved_image,
            "inspected": dict(self.inspected),
        }

    def summary(self) -> str:
        """One line: the verdicts and the counts."""
        verdict = "valid" if self.valid else "INVALID"
        neo = {True: "Neo-eligible", False: "not Neo-eligible", None: "Neo eligibility unknown"}[self.neo_eligible]
        notes = f", {len(self.notes)} note(s)" if self.notes else ""
        return f"{verdict}, {neo}: {len(self.errors)} error(s), {len(self.warnings)} warning(s){notes}"

    def format_text(self) -> str:
        """A readable list of the findings, errors first."""
        lines = [self.summary()]
        if self.resolved_image:
            lines.append(f"Image: using {self.resolved_image}")
        for name, what in self.inspected.items():
            lines.append(f"{name}: {what}")
        for finding in self.errors + self.warnings + self.notes:
            marker = {ERROR: "error  ", WARNING: "warning"}.get(finding.severity, "note   ")
            neo = " [blocks Neo]" if finding.neo else ""
            lines.append(f"  {marker} {finding.field}: {finding.message}{neo}")
            lines.append(f"          -> {finding.action}")
        return "\n".join(lines)


def check_manifest(raw: bytes, region: str | None, job_defaults: dict[str, Any] | None = None) -> ValidationReport:
    """Check the manifest bytes; the report holds the normalised ``Manifest`` when it is usable.

    ``job_defaults`` are the deployment's job settings (``neo_runtime.job_defaults``), filled in
    where the manifest leaves them out before anything is checked.
    """
    report = ValidationReport()
    try:
        report.document = apply_job_defaults(decode_manifest(raw), job_defaults or {})
    except SubmissionInvalid as invalid:
        report.findings += invalid.findings
        return report
    report.findings += manifest_findings(report.document)
    report.findings += manifest_notes(report.document)
    if report.errors:
        report.findings += _findings_of_the_fields_that_parsed(report, region)
        return report
    manifest = normalise(report.document)
    image, image_findings = resolve_manifest_image(manifest, region)
    report.findings += image_findings
    if image:
        report.resolved_image = image
        manifest = normalise(report.document, image=image)
    report.findings += eligibility_findings(manifest, region)
    report.manifest = manifest if not report.errors else None
    return report


def _findings_of_the_fields_that_parsed(report: ValidationReport, region: str | None) -> list[Finding]:
    """After schema errors, the checks of the fields that did parse, so fixing one error reveals no new ones.

    The fields with errors are left out; what is left conforms to the schema, so every rule and check
    can run on it. A broken JobType reads as Advanced when Advanced-only fields are given (what they were
    written for). A required field that is out gets a stand-in: a broken ModelName or SupportedContentTypes
    changes no other check, and a broken Framework or FrameworkVersion is unknown, which runs the checks
    that hold whatever it is (``neo_eligibility.UNKNOWN``). Findings about the left-out fields (e.g.
    "DataInputConfig is missing") are dropped.
    """
    document = report.document or {}
    broken = {_top_field(finding.field) for finding in report.errors}
    partial = {name: value for name, value in document.items() if name not in broken}
    if "JobType" in broken and any(name in partial for name in ADVANCED_ONLY_FIELDS):
        partial["JobType"] = "Advanced"
    findings = manifest_findings(partial)  # e.g. an Advanced job's rules, which a broken JobType kept from running
    manifest = normalise({**_REQUIRED_STAND_INS, **partial})
    image, image_findings = resolve_manifest_image(manifest, region)
    findings += image_findings
    if image:
        manifest = normalise({**_REQUIRED_STAND_INS, **partial}, image=image)
    findings += eligibility_findings(manifest, region)
    reported = {(finding.field, finding.message) for finding in report.findings}
    return [finding for finding in findings
            if _top_field(finding.field) not in broken and (finding.field, finding.message) not in reported]


#: What a required field that did not parse reads as while the other fields are checked.
_REQUIRED_STAND_INS: dict[str, Any] = {"ModelName": "stand-in", "SupportedContentTypes": [],
                                       "Framework": UNKNOWN, "FrameworkVersion": UNKNOWN}


def _top_field(path: str) -> str:
    """``EndpointConfigurations`` of ``EndpointConfigurations[0].InstanceType``."""
    return path.split(".", 1)[0].split("[", 1)[0]


def check_archives(report: ValidationReport, *, model: ArchiveInput | None = None,
                   payload: ArchiveInput | None = None) -> ValidationReport:
    """Add the findings about the archives; works from the raw document when the manifest is invalid."""
    framework, content_types, feature_count = _archive_context(report)
    listing = _read(report, MODEL, model)
    if listing is not None:
        report.findings += check_model_archive(listing, framework or "",
                                               neo_framework=framework in NEO_CLOUD_FRAMEWORK_VERSIONS)
    listing = _read(report, PAYLOAD, payload)
    if listing is not None and content_types:
        report.findings += check_payload_archive(listing, content_types, framework or "", feature_count)
    if report.errors:
        report.manifest = None
    return report


def _read(report: ValidationReport, field_name: str, source: ArchiveInput | None) -> Listing | None:
    """Read one archive into the report (its findings and what was inspected); the listing, if readable."""
    if source is None:
        return None
    listing, findings = read_archive(field_name, source.stream, source.limits)
    report.findings += findings
    if listing is not None:
        report.inspected[field_name] = _inspected(source, listing)
    return listing


def _archive_context(report: ValidationReport) -> tuple[str | None, tuple[str, ...], int | None]:
    if report.manifest is not None:
        manifest = report.manifest
        return manifest.framework, manifest.supported_content_types, _feature_count(manifest)
    document = report.document or {}
    properties = manifest_schema()["properties"]
    framework = document.get("Framework") if document.get("Framework") in properties["Framework"]["enum"] else None
    types = document.get("SupportedContentTypes")
    content_types = tuple(t for t in types if isinstance(t, str)) if isinstance(types, list) else ()
    return framework, content_types, None


def _feature_count(manifest: Manifest) -> int | None:
    if manifest.framework != "XGBOOST" or not manifest.data_input_config:
        return None
    shapes = json.loads(manifest.data_input_config)
    values = list(shapes.values()) if isinstance(shapes, dict) else shapes
    if len(values) == 1 and isinstance(values[0], list) and len(values[0]) == 2:
        return values[0][1]
    return None


def _inspected(source: ArchiveInput, listing: Listing) -> str:
    files = len(listing.files)
    if listing.complete:
        return f"{source.label}: read in full, {files} file(s)"
    total = f" of {source.size}" if source.size is not None else ""
    return f"{source.label}: listed the first {listing.compressed_bytes_read}{total} bytes, {files} file(s) so far"
