"""Step 1: claim the run, then check the manifest and both archives before anything is started."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, unquote_plus

from botocore.exceptions import ClientError

from neo_runtime import metrics, naming, run_store
from neo_runtime.archive_checks import MODEL, PAYLOAD
from neo_runtime.aws import client, error_code, retried_when_transient
from neo_runtime.environment_names import JOB_DEFAULTS
from neo_runtime.errors import Finding, SubmissionInvalid
from neo_runtime.job_defaults import load_job_defaults
from neo_runtime.log import RunLogger
from neo_runtime.manifest import MAX_MANIFEST_BYTES, ArchiveLocation, resolve_archive
from neo_runtime.s3_event import SubmittedObject
from neo_runtime.validation import (
    WORKFLOW_MODEL_READ_BYTES,
    WORKFLOW_PAYLOAD_READ_BYTES,
    ArchiveInput,
    ValidationReport,
    check_archives,
    check_manifest,
    model_limits,
    payload_limits,
)


@retried_when_transient
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Return the run's submission (``valid`` true or false), or ``{"duplicate": true}``.

    Event: ``{"event": <EventBridge S3 event>, "execution_arn": <ARN>}``. An invalid submission
    is returned, not raised, so the failure path can record every finding.
    """
    source = SubmittedObject.from_event(event["event"])
    run_id = source.run_id  # from the event as delivered, so every redelivery maps to the same run
    log = RunLogger("ValidateSubmission", run_id=run_id)
    claimed = run_store.claim_run(run_id, event["execution_arn"], {
        "status": "VALIDATING", "bucket": source.bucket, "key": source.key,
        "version_id": source.version_id})
    if not claimed:
        log.info("duplicate event: another execution owns this run", key=source.key)
        return {"duplicate": True, "run_id": run_id}
    metrics.emit(metrics.RUNS_STARTED, 1, run_id=run_id)

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    source = _as_stored(source)
    report, locations = _validate(source, region, os.environ.get("WATCHED_PREFIX", ""),
                                  load_job_defaults(os.environ.get(JOB_DEFAULTS)))
    submission: dict[str, Any] = {
        "duplicate": False,
        "valid": report.valid,
        "run_id": run_id,
        "bucket": source.bucket,
        "key": source.key,
        "version_id": source.version_id,
        "model_name": _model_name(report),
        "validation": report.to_dict(),
    }
    if not report.valid:
        log.warning("submission invalid", errors=len(report.errors), warnings=len(report.warnings))
        submission["error_message"] = str(SubmissionInvalid(report.errors))[:4000]
        return submission

    manifest = report.manifest
    assert manifest is not None  # valid implies a manifest
    job_name = naming.recommendation_job_name(os.environ.get("JOB_NAME_PREFIX", ""), manifest.model_name, run_id)
    group_name = naming.model_package_group_name(os.environ.get("MODEL_PACKAGE_GROUP_PREFIX", ""),
                                                 manifest.model_name)
    neo_reasons = report.neo_ineligible_reasons
    run_store.update_run(run_id, event["execution_arn"], {
        "status": "REGISTERING", "model_name": manifest.model_name, "job_name": job_name,
        "model_package_group": group_name, "neo_eligible": report.neo_eligible,
        "neo_ineligible_reasons": neo_reasons or None, "image": manifest.image,
        "findings": submission["validation"]["findings"] or None})
    log.info("submission valid", model_name=manifest.model_name, job_name=job_name,
             neo_eligible=report.neo_eligible, warnings=len(report.warnings))
    return {
        **submission,
        "manifest": manifest.to_dict(),
        "model_data_url": locations[MODEL].url,
        "sample_payload_url": locations[PAYLOAD].url,
        "model_package_group": group_name,
        "job_name": job_name,
        "client_token": naming.client_token(run_id),
        "neo_ineligible_reasons": neo_reasons,
    }


def _validate(source: SubmittedObject, region: str | None, prefix: str,
              job_defaults: dict[str, Any]) -> tuple[ValidationReport, dict[str, ArchiveLocation]]:
    """The report, and where each archive is (both are there whenever the report is valid)."""
    locations: dict[str, ArchiveLocation] = {}
    try:
        report = check_manifest(_read_manifest(source), region, job_defaults)
    except SubmissionInvalid as invalid:
        return ValidationReport(findings=invalid.findings), locations
    document = report.document or {}
    inputs: dict[str, ArchiveInput | None] = {}
    for field_name, default, budget in ((MODEL, "model.tar.gz", WORKFLOW_MODEL_READ_BYTES),
                                        (PAYLOAD, "payload.tar.gz", WORKFLOW_PAYLOAD_READ_BYTES)):
        value = document.get(field_name, default)
        if not isinstance(value, str):
            continue  # the schema finding already names the field
        try:
            location = resolve_archive(field_name, value, source.bucket, source.key, prefix)
        except SubmissionInvalid as invalid:
            report.findings += invalid.findings
            continue
        locations[field_name] = location
        opened, finding = _open_archive(field_name, location, budget)
        if finding:
            report.findings.append(finding)
        inputs[field_name] = opened
    return check_archives(report, model=inputs.get(MODEL), payload=inputs.get(PAYLOAD)), locations


def _as_stored(source: SubmittedObject) -> SubmittedObject:
    """The object under the key S3 stores it by.

    S3's notification formats may URL-encode keys (a space as ``+`` or ``%20``). The key is tried
    as delivered first, then decoded; the event's version id confirms which key is the uploaded
    object, so a different object whose name happens to match the decoded form is never read.
    """
    candidates = list(dict.fromkeys([source.key, unquote_plus(source.key), unquote(source.key)]))
    if len(candidates) == 1 or not source.version_id:
        return source
    s3 = client("s3")
    for key in candidates:
        try:
            s3.head_object(Bucket=source.bucket, Key=key, VersionId=source.version_id)
        except ClientError as error:
            if error_code(error) in ("404", "NoSuchKey", "NoSuchVersion", "400", "403"):
                continue
            raise
        return replace(source, key=key)
    return source


def _read_manifest(source: SubmittedObject) -> bytes:
    request: dict[str, Any] = {"Bucket": source.bucket, "Key": source.key}
    if source.version_id:
        request["VersionId"] = source.version_id
    try:
        response = client("s3").get_object(**request)
    except ClientError as error:
        if error_code(error) in ("NoSuchKey", "NoSuchVersion", "404"):
            raise SubmissionInvalid([Finding(
                "recommend.json", "was deleted before the pipeline could read it",
                "Upload it again and leave it in place until the run finishes.")]) from None
        raise
    # Read one byte past the cap so an oversized manifest is reported, never loaded whole.
    return response["Body"].read(MAX_MANIFEST_BYTES + 1)


def _open_archive(field_name: str, location: ArchiveLocation,
                  budget: int) -> tuple[ArchiveInput | None, Finding | None]:
    """Stream the archive's head from S3 (a ranged GET; IR reads the whole model itself)."""
    s3 = client("s3")
    try:
        head = s3.head_object(Bucket=location.bucket, Key=location.key)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None, Finding(field_name, f"{location.url} does not exist",
                                 "Upload the archive before recommend.json (the manifest upload starts the run).")
        if error_code(error) in ("403", "AccessDenied"):
            return None, Finding(field_name, f"{location.url} cannot be read by the pipeline",
                                 "Check the object's encryption key and the bucket policy.")
        raise
    size = int(head.get("ContentLength", 0))
    if size == 0:
        return None, Finding(field_name, f"{location.url} is empty", "Upload the .tar.gz archive again.")
    request: dict[str, Any] = {"Bucket": location.bucket, "Key": location.key}
    if head.get("VersionId"):
        request["VersionId"] = head["VersionId"]
    if size > budget:
        request["Range"] = f"bytes=0-{budget - 1}"
    body = s3.get_object(**request)["Body"]
    limits = model_limits(budget) if field_name == MODEL else payload_limits(budget)
    return ArchiveInput(body, limits, location.url, size), None


def _model_name(report: ValidationReport) -> str | None:
    if report.manifest is not None:
        return report.manifest.model_name
    name = (report.document or {}).get("ModelName")
    # DynamoDB refuses an empty string as an index key (ByModel): an empty name is left out, so the
    # failure record is still written.
    return name[:63] if isinstance(name, str) and name and name.isprintable() else None
