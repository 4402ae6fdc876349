"""The demo's cloud assembly, synthesized once for the same inputs and kept in the user's cache.

Synthesis is most of the demo's time (the CDK's Node.js process: about 4 s), and its output depends only on
its inputs: the cdk.json context, this package's code (the constructs and the Lambda code they stage), the
versions of the CDK libraries and Python's. The key is a SHA-256 of all of them, so any change synthesizes
afresh. The cache is ``$NEO_RECOMMENDER_CACHE`` (``off`` turns it off), else ``$XDG_CACHE_HOME`` or
``~/.cache``, under ``neo-recommender/assemblies``. A folder there is used only if the current user owns it
and no one else can write to it; otherwise the demo synthesizes into its own temporary folder, as without a
cache. A new entry is written under a private temporary name and renamed into place when complete; the three
most recent entries are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "NEO_RECOMMENDER_CACHE"
#: What the assembly depends on besides the context and this package's code.
_DISTRIBUTIONS = ("aws-cdk-lib", "constructs", "cdk-nag", "jsii")
_KEPT = 3


def cache_root() -> Path | None:
    """Where assemblies are kept, or None when the cache is off."""
    setting = os.environ.get(CACHE_VARIABLE, "")
    if setting.lower() == "off":
        return None
    if setting:
        return Path(setting)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neo-recommender" / "assemblies"


def assembly_key(context: dict[str, Any]) -> str:
    """The SHA-256 of everything the synthesized assembly depends on."""
    import neo_recommender  # noqa: PLC0415
    import neo_runtime  # noqa: PLC0415

    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode("utf-8"))
    digest.update(f"python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    for distribution in _DISTRIBUTIONS:
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"\0{distribution} {version}".encode())
    for package in (neo_recommender, neo_runtime):
        folder = Path(package.__file__).parent
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(f"\0{package.__name__}/{path.relative_to(folder).as_posix()}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:40]


def cached_assembly(context: dict[str, Any], synthesize: Callable[[Path, dict[str, Any]], Path],
                    workdir: Path) -> tuple[Path, bool]:
    """The assembly for ``context``: from the cache, else ``synthesize(outdir, context)`` (kept in the cache when
    there is a usable one, else in ``workdir``). Returns the assembly folder and whether it came from the cache.

    The cache passes ``context`` to ``synthesize`` itself, so what is synthesized is always what the key says (the
    demo once keyed on cdk.json's context and synthesized without it)."""
    root = _usable_root()
    if root is None:
        return synthesize(workdir / "cdk.out", context), False
    entry = root / assembly_key(context)
    if _complete(entry):
        os.utime(entry)  # most recently used: kept by _prune
        return entry, True
    if os.path.lexists(entry):  # not ours, or not complete: leave it, and work as without a cache
        return synthesize(workdir / "cdk.out", context), False
    staging = Path(tempfile.mkdtemp(prefix=".synth-", dir=root))
    try:
        assembly = synthesize(staging / "cdk.out", context)
        try:
            os.rename(assembly, entry)
        except OSError:  # another demo put the same entry in place first
            return Path(shutil.move(assembly, workdir / "cdk.out")), False
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(root)
    return entry, False


def _complete(entry: Path) -> bool:
    return _private(entry) and (entry / "manifest.json").is_file()


def _usable_root() -> Path | None:
    root = cache_root()
    if root is None:
        return None
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return root if _private(root) else None


def _private(path: Path) -> bool:
    """Owned by the current user, a real folder, and writable by no one else."""
    try:
        status = path.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid()
            and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _prune(root: Path) -> None:
    entries = sorted((path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for old in entries[_KEPT:]:
        shutil.rmtree(old, ignore_errors=True)
