"""``neo-recommender submit``: upload a submission the way the pipeline expects it.

The archives go first and ``recommend.json`` last, since the manifest's upload is what starts a
run. Archives go through boto3's transfer manager (multipart above 8 MiB, as ``aws s3 cp`` does);
the manifest is one ``PutObject``, whose version id (or ETag) names the run exactly as the
pipeline names it (``neo_runtime.naming.run_id``). Local files are read, never changed.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from neo_recommender.cli.problems import UsageError
from neo_runtime import naming
from neo_runtime.archive_checks import MODEL, PAYLOAD

MANIFEST_FILE = "recommend.json"
DEFAULT_ARCHIVES = {MODEL: "model.tar.gz", PAYLOAD: "payload.tar.gz"}
_FLAGS = {MODEL: "--model", PAYLOAD: "--payload"}


@dataclass(frozen=True)
class LocalSubmission:
    """The local files of one submission: the manifest, and each archive to upload under its S3 name."""

    manifest: Path
    #: Archive field (``ModelArchive``/``PayloadArchive``) to (local file, file name in the S3 folder).
    archives: dict[str, tuple[Path, str]] = field(default_factory=dict)
    #: Sentences about what is not uploaded, and why.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """Where a submission goes: ``s3://<bucket>/<prefix><folder>/``."""

    bucket: str
    prefix: str
    folder: str

    def key(self, file_name: str) -> str:
        """The S3 key of ``file_name`` in the submission's folder."""
        return f"{self.prefix}{self.folder}/{file_name}"

    def url(self, file_name: str = "") -> str:
        """``s3://`` URL of ``file_name`` (or of the folder)."""
        return f"s3://{self.bucket}/{self.key(file_name)}"


@dataclass(frozen=True)
class Submitted:
    """A submission uploaded: the run it starts and the manifest object that starts it."""

    run_id: str
    manifest_url: str
    version_id: str | None
    uploaded_bytes: int


def local_submission(document: dict[str, Any], manifest: Path, explicit: dict[str, Path | None],
                     allow_missing: bool = False) -> LocalSubmission:
    """The files to upload for a manifest (its parsed ``document``), and their S3 file names.

    An archive named as an ``s3://`` URI is already in the bucket and is not uploaded. A local
    archive that is neither given (``explicit``) nor next to the manifest is a ``UsageError``,
    unless ``allow_missing`` (a new manifest version for archives uploaded before).
    """
    archives: dict[str, tuple[Path, str]] = {}
    notes: list[str] = []
    for field_name, default in DEFAULT_ARCHIVES.items():
        named = document.get(field_name, default)
        if not isinstance(named, str) or not named:
            named = default
        if named.startswith("s3://"):
            notes.append(f"{field_name} is {named}: already in S3, not uploaded")
            continue
        local = explicit.get(field_name) or manifest.parent / named
        if local.is_file():
            archives[field_name] = (local, named)
        elif allow_missing:
            notes.append(f"{field_name}: no file at {local}; not uploaded (--force): {named} must already be "
                         "in the folder")
        else:
            raise UsageError(f"{field_name}: no file at {local}; give {_FLAGS[field_name]} FILE, or put {named} "
                             f"next to {manifest.name} (or --force if {named} is already in the S3 folder)")
    return LocalSubmission(manifest, archives, tuple(notes))


def upload(s3: Any, submission: LocalSubmission, destination: Destination, progress: UploadProgress) -> Submitted:
    """Upload the archives, then the manifest; return the run the manifest's upload starts."""
    from boto3.s3.transfer import TransferConfig  # noqa: PLC0415

    transfer = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024)
    total = 0
    for local, file_name in submission.archives.values():
        size = local.stat().st_size
        key = destination.key(file_name)
        callback = progress.start(file_name, size)
        s3.upload_file(str(local), destination.bucket, key, Callback=callback, Config=transfer)
        progress.done(file_name, size, destination.url(file_name))
        total += size
    body = submission.manifest.read_bytes()
    callback = progress.start(MANIFEST_FILE, len(body))
    response = s3.put_object(Bucket=destination.bucket, Key=destination.key(MANIFEST_FILE), Body=body,
                             ContentType="application/json")
    callback(len(body))
    progress.done(MANIFEST_FILE, len(body), destination.url(MANIFEST_FILE))
    version_id = response.get("VersionId")
    identity = version_id or str(response.get("ETag", "")).strip('"')
    return Submitted(naming.run_id(destination.bucket, destination.key(MANIFEST_FILE), identity),
                     destination.url(MANIFEST_FILE), version_id, total + len(body))


class UploadProgress:
    """Upload progress: a live bar per file on a terminal, one line per finished file otherwise."""

    def __init__(self, out: TextIO = sys.stdout, live: bool | None = None) -> None:
        self.out = out
        self.live = out.isatty() if live is None else live
        self._lock = threading.Lock()

    def start(self, name: str, size: int) -> Any:
        """A callback for boto3's transfer manager (bytes sent since the last call; called from its threads)."""
        sent = 0

        def callback(chunk: int) -> None:
            nonlocal sent
            with self._lock:
                sent += chunk
                if self.live:
                    self.out.write(f"\r  {name:<16} {_bar(sent, size)} {human_size(sent):>10} / {human_size(size)}")
                    self.out.flush()

        return callback

    def done(self, name: str, size: int, url: str) -> None:
        """Say that ``name`` is uploaded."""
        with self._lock:
            end = "\r\033[K" if self.live else ""
            self.out.write(f"{end}  uploaded {name} ({human_size(size)}) to {url}\n")
            self.out.flush()


def _bar(sent: int, size: int, width: int = 24) -> str:
    done = width if size <= 0 else min(width, width * sent // size)
    return "[" + "#" * done + "." * (width - done) + "]"


def human_size(size: float) -> str:
    """Bytes in the largest binary unit that keeps the number at least 1 (``6.2 MiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
