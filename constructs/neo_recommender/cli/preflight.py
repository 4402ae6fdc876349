"""``neo-recommender validate``: the workflow's preflight checks, run on local files.

The same ``neo_runtime.validation`` module the first state of the workflow uses; local archives
are read in full (the workflow reads the head of a large model from S3).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from neo_runtime.archive_checks import MODEL, PAYLOAD
from neo_runtime.errors import WARNING, Finding
from neo_runtime.validation import (
    ArchiveInput,
    ValidationReport,
    check_archives,
    check_manifest,
    model_limits,
    payload_limits,
)

DEFAULT_ARCHIVES = {MODEL: "model.tar.gz", PAYLOAD: "payload.tar.gz"}


def default_region() -> str | None:
    """The region the AWS CLI and SDKs would use, from the environment."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def validate_files(manifest_path: Path, *, model: Path | None = None, payload: Path | None = None,
                   region: str | None = None) -> ValidationReport:
    """Validate a manifest and its archives.

    Archives not given explicitly are looked for where the manifest says they are (a key relative
    to the manifest's folder), and checked when they exist there.
    """
    report = check_manifest(manifest_path.read_bytes(), region)
    document = report.document or {}
    paths = {MODEL: model, PAYLOAD: payload}
    for field_name, default in DEFAULT_ARCHIVES.items():
        named = document.get(field_name, default)
        if paths[field_name] is None and isinstance(named, str) and not named.startswith("s3://"):
            candidate = manifest_path.parent / named
            paths[field_name] = candidate if candidate.is_file() else None
            if paths[field_name] is None:
                report.inspected[field_name] = f"not checked: no file at {candidate} (give --{_flag(field_name)})"
                if field_name in document:  # named on purpose, and missing: the upload would be incomplete
                    report.findings.append(Finding(
                        field_name, f"names {named}, which is not at {candidate}",
                        f"Upload {named} next to recommend.json (before it), or check with --{_flag(field_name)}.",
                        WARNING))
    with ExitStack() as files:
        inputs = {name: ArchiveInput(files.enter_context(path.open("rb")),
                                     model_limits() if name == MODEL else payload_limits(),
                                     str(path), path.stat().st_size)
                  for name, path in paths.items() if path is not None}
        return check_archives(report, model=inputs.get(MODEL), payload=inputs.get(PAYLOAD))


def _flag(field_name: str) -> str:
    return "model" if field_name == MODEL else "payload"
