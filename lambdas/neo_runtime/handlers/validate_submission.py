"""Step 1: claim the run, read and check the manifest, check that both archives exist."""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import ClientError

from neo_runtime import naming, run_store
from neo_runtime.aws import client, error_code
from neo_runtime.errors import Finding, SubmissionInvalid
from neo_runtime.log import RunLogger
from neo_runtime.manifest import MAX_MANIFEST_BYTES, ArchiveLocation, Manifest, parse_manifest, resolve_archive
from neo_runtime.neo_eligibility import ineligibility_reasons
from neo_runtime.s3_event import SubmittedObject


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Return the run's submission, or ``{"duplicate": true}`` when another execution owns it.

    Event: ``{"event": <EventBridge S3 event>, "execution_arn": <ARN>}``.
    """
    source = SubmittedObject.from_event(event["event"])
    run_id = source.run_id
    log = RunLogger("ValidateSubmission", run_id=run_id)
    claimed = run_store.claim_run(run_id, event["execution_arn"], {
        "status": "VALIDATING", "bucket": source.bucket, "key": source.key,
        "version_id": source.version_id})
    if not claimed:
        log.info("duplicate event: another execution owns this run", key=source.key)
        return {"duplicate": True, "run_id": run_id}

    manifest = parse_manifest(_read_manifest(source))
    prefix = os.environ.get("WATCHED_PREFIX", "")
    model, payload = _locate_archives(manifest, source, prefix)
    job_name = naming.recommendation_job_name(os.environ.get("JOB_NAME_PREFIX", ""), manifest.model_name, run_id)
    group_name = naming.model_package_group_name(os.environ.get("MODEL_PACKAGE_GROUP_PREFIX", ""),
                                                 manifest.model_name)
    neo_reasons = ineligibility_reasons(manifest)
    run_store.update_run(run_id, event["execution_arn"], {
        "status": "REGISTERING", "model_name": manifest.model_name, "job_name": job_name,
        "model_package_group": group_name, "neo_eligible": not neo_reasons,
        "neo_ineligible_reasons": neo_reasons or None})
    log.info("submission valid", model_name=manifest.model_name, job_name=job_name, neo_eligible=not neo_reasons)
    return {
        "duplicate": False,
        "run_id": run_id,
        "bucket": source.bucket,
        "key": source.key,
        "version_id": source.version_id,
        "manifest": manifest.to_dict(),
        "model_data_url": model.url,
        "sample_payload_url": payload.url,
        "model_package_group": group_name,
        "job_name": job_name,
        "client_token": naming.client_token(run_id),
        "neo_ineligible_reasons": neo_reasons,
    }


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


def _locate_archives(manifest: Manifest, source: SubmittedObject,
                     prefix: str) -> tuple[ArchiveLocation, ArchiveLocation]:
    findings: list[Finding] = []
    locations: list[ArchiveLocation] = []
    for field_name, value in (("ModelArchive", manifest.model_archive),
                              ("PayloadArchive", manifest.payload_archive)):
        try:
            location = resolve_archive(field_name, value, source.bucket, source.key, prefix)
        except SubmissionInvalid as invalid:
            findings += invalid.findings
            continue
        finding = _check_exists(field_name, location)
        if finding:
            findings.append(finding)
        locations.append(location)
    if findings:
        raise SubmissionInvalid(findings)
    return locations[0], locations[1]


def _check_exists(field_name: str, location: ArchiveLocation) -> Finding | None:
    try:
        head = client("s3").head_object(Bucket=location.bucket, Key=location.key)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return Finding(field_name, f"{location.url} does not exist",
                           "Upload the archive before recommend.json (the manifest upload starts the run).")
        if error_code(error) in ("403", "AccessDenied"):
            return Finding(field_name, f"{location.url} cannot be read by the pipeline",
                           "Check the object's encryption key and the bucket policy.")
        raise
    if head.get("ContentLength", 0) == 0:
        return Finding(field_name, f"{location.url} is empty", "Upload the .tar.gz archive again.")
    return None
