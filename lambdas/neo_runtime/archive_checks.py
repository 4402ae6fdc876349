"""What the model and payload archives must hold, checked on a listing from ``archive_reader``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import BinaryIO

from neo_runtime.archive_reader import ArchiveUnreadable, Listing, Member, ReadLimits, read_listing
from neo_runtime.errors import WARNING, Finding
from neo_runtime.neo_support import MODEL_FILES_EXPECTED

MODEL = "ModelArchive"
PAYLOAD = "PayloadArchive"
SAMPLE_HEAD_BYTES = 256 * 1024
SAMPLE_FILES_CHECKED = 50
#: Content types whose samples we can check, and what a good sample looks like.
CHECKABLE_TYPES = ("text/csv", "application/json", "application/jsonlines", "application/x-npy",
                   "image/jpeg", "image/png", "application/x-image", "text/plain")
_JUNK_NAMES = (".DS_Store", "Thumbs.db")


def read_archive(field: str, stream: BinaryIO, limits: ReadLimits) -> tuple[Listing | None, list[Finding]]:
    """Read an archive's listing; an unreadable archive becomes one error finding."""
    try:
        listing = read_listing(stream, limits)
    except ArchiveUnreadable as problem:
        return None, [Finding(field, str(problem), _repack_action(field))]
    return listing, _unsafe_members(field, listing)


def check_model_archive(listing: Listing, framework: str, *, neo_framework: bool) -> list[Finding]:
    """An empty archive is an error; a model Neo cannot compile is a warning that blocks Neo."""
    files = [member for member in listing.files if not _is_junk(member)]
    if not files:
        if not listing.complete:
            return []
        return [Finding(MODEL, "holds no files", _repack_action(MODEL))]
    problems = [Finding(f"{MODEL}:{member.name}", "is an empty file", _repack_action(MODEL))
                for member in files if member.size == 0]
    if neo_framework:
        problem = _model_files_problem(framework, files)
        if problem and not listing.complete:
            problem += " in the part of the archive that was inspected"
        if problem:
            expected = MODEL_FILES_EXPECTED[framework]
            problems.append(Finding(MODEL, problem, f"Neo compiles {framework} from {expected}.",
                                    WARNING, neo=True))
    return problems


def check_payload_archive(listing: Listing, content_types: tuple[str, ...], framework: str,
                          feature_count: int | None) -> list[Finding]:
    """Every sample must be a non-empty file whose content fits one of the supported content types."""
    findings: list[Finding] = []
    samples = []
    for member in listing.files:
        if _is_junk(member):
            findings.append(Finding(f"{PAYLOAD}:{member.name}", "is operating-system metadata, not a sample",
                                    "Inference Recommender sends every file as a request; leave it out "
                                    "(on macOS: COPYFILE_DISABLE=1 tar czf ...).", WARNING))
        elif member.size == 0:
            findings.append(Finding(f"{PAYLOAD}:{member.name}", "is an empty file",
                                    "Every sample file is sent as one request; give it content."))
        else:
            samples.append(member)
    if not samples and not any(f.severity != WARNING for f in findings):
        findings.append(Finding(PAYLOAD, "holds no sample files",
                                "Put one or more sample requests (e.g. sample.csv) in the archive."))
    checkable = [t for t in content_types if t in CHECKABLE_TYPES]
    if not checkable:
        findings.append(Finding("SupportedContentTypes", f"{', '.join(content_types)} cannot be checked here",
                                "Make sure each sample file is a valid request body of that type.", WARNING))
        return findings
    for member in samples:
        problems = [_content_problem(member, kind, framework) for kind in checkable]
        if all(problems):
            findings.append(Finding(f"{PAYLOAD}:{member.name}", _first(problems),
                                    f"Each sample must be a valid {' or '.join(checkable)} request body."))
        elif framework == "XGBOOST" and "text/csv" in checkable and feature_count is not None:
            findings += _feature_count_warning(member, feature_count)
    return findings


def _unsafe_members(field: str, listing: Listing) -> list[Finding]:
    findings = []
    for member in listing.members:
        where = f"{field}:{member.name}"
        if _unsafe_path(member.name):
            findings.append(Finding(where, "has an absolute path or a '..' segment",
                                    "Pack the archive from inside its folder (tar czf model.tar.gz -C dir .)."))
        elif member.kind in ("symlink", "hardlink") and _unsafe_path(member.link_target):
            findings.append(Finding(where, f"links outside the archive (to {member.link_target!r})",
                                    "Replace the link with the file itself."))
        elif member.kind == "special":
            findings.append(Finding(where, "is a device, FIFO or other special file",
                                    "Archives may hold only files, folders and links inside the archive."))
    return findings


def _unsafe_path(name: str) -> bool:
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in name.replace(
        "\\", "/").split("/")


def _is_junk(member: Member) -> bool:
    return member.basename in _JUNK_NAMES or member.basename.startswith("._")


def _model_files_problem(framework: str, files: list[Member]) -> str | None:
    names = [member.name.lower() for member in files if member.name.split("/")[0] != "code"]
    rule = _MODEL_FILE_RULES.get(framework)
    return rule(names) if rule else None


def _xgboost_files(names: list[str]) -> str | None:
    return None if len(names) == 1 else f"holds {len(names)} files, not one model file"


def _pytorch_files(names: list[str]) -> str | None:
    return None if any(n.endswith((".pt", ".pth")) for n in names) else "holds no .pt or .pth file"


def _tensorflow_files(names: list[str]) -> str | None:
    graphs = [n for n in names if n.endswith((".pb", ".pbtxt"))]
    if not graphs:
        return "holds no SavedModel (saved_model.pb) or frozen graph (.pb)"
    return None if len(graphs) == 1 else f"holds {len(graphs)} .pb/.pbtxt files; Neo takes exactly one"


def _mxnet_files(names: list[str]) -> str | None:
    symbols = any(n.endswith("-symbol.json") for n in names)
    params = any(n.endswith(".params") for n in names)
    return None if symbols and params else "does not hold both a *-symbol.json and a .params file"


def _keras_files(names: list[str]) -> str | None:
    count = sum(1 for n in names if n.endswith(".h5"))
    return None if count == 1 else f"holds {count} .h5 files; Neo takes exactly one"


def _onnx_files(names: list[str]) -> str | None:
    return None if any(n.endswith(".onnx") for n in names) else "holds no .onnx file"


_MODEL_FILE_RULES: dict[str, Callable[[list[str]], str | None]] = {
    "XGBOOST": _xgboost_files, "PYTORCH": _pytorch_files, "TENSORFLOW": _tensorflow_files,
    "MXNET": _mxnet_files, "KERAS": _keras_files, "ONNX": _onnx_files,
}
_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
          "application/x-image": (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"), "application/x-npy": (b"\x93NUMPY",)}


def _content_problem(member: Member, content_type: str, framework: str) -> str | None:
    data, truncated = member.head, member.size > len(member.head)
    if content_type in _MAGIC:
        return None if data.startswith(_MAGIC[content_type]) else f"is not {content_type} data"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if not (truncated and error.start >= len(data) - 4):
            return f"is not UTF-8 text (as {content_type} must be)"
        text = data[:error.start].decode("utf-8")  # a character cut at the end of the head
    if content_type == "text/plain":
        return None if text.strip() else "holds only whitespace"
    if content_type == "application/json":
        return None if truncated else _json_problem(text)
    if content_type == "application/jsonlines":
        return _jsonlines_problem(text, truncated)
    return _csv_problem(text, truncated, numeric=framework == "XGBOOST")


def _jsonlines_problem(text: str, truncated: bool) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    lines = lines[:-1] if truncated else lines
    for number, line in enumerate(lines, start=1):
        if _json_problem(line):
            return f"line {number} is not JSON (application/jsonlines needs one JSON document per line)"
    return None if lines else "holds no JSON lines"


def _json_problem(text: str) -> str | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return f"is not valid JSON ({error.msg} at line {error.lineno})"
    return None


def _csv_rows(text: str, truncated: bool) -> list[list[str]]:
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]
    return [row for row in csv.reader(io.StringIO("\n".join(lines))) if row]


def _csv_problem(text: str, truncated: bool, *, numeric: bool) -> str | None:
    try:
        rows = _csv_rows(text, truncated)
    except csv.Error as error:
        return f"is not parseable CSV ({error})"
    if not rows:
        return "holds no CSV rows"
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            return f"is not consistent CSV: row {number} has {len(row)} columns, row 1 has {width}"
        if numeric:
            for cell in row:
                try:
                    float(cell)
                except ValueError:
                    return (f"row {number} has a non-numeric value {cell[:20]!r} (XGBoost takes numbers only, "
                            "with no header row and no label column)")
    return None


def _feature_count_warning(member: Member, feature_count: int) -> list[Finding]:
    try:
        rows = _csv_rows(member.head.decode("utf-8", errors="ignore"), member.size > len(member.head))
    except csv.Error:
        return []
    if rows and len(rows[0]) != feature_count:
        return [Finding(f"{PAYLOAD}:{member.name}",
                        f"has {len(rows[0])} columns but DataInputConfig gives {feature_count} features",
                        "Make the CSV columns match the model's features (no label column).", WARNING)]
    return []


def _first(problems: list[str | None]) -> str:
    return next(problem for problem in problems if problem)


def _repack_action(field: str) -> str:
    name = "model.tar.gz" if field == MODEL else "payload.tar.gz"
    return f"Build it with tar: tar czf {name} -C <folder> . (a gzip-compressed tar, not zip)."
