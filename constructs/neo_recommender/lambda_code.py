"""Where the Lambda code asset comes from, in a source checkout and in an installed wheel alike.

The asset is a folder holding only the ``neo_runtime`` package. In a checkout (or an editable
install) that is the repository's ``lambdas/`` folder. In an installed wheel ``neo_runtime`` sits
in ``site-packages`` beside everything else, so a copy of the package is staged in a folder of
its own, named after a hash of its content (the same code always gives the same asset).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

#: Files never shipped in the asset.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc"]


def runtime_package_dir() -> Path:
    """The folder of the importable ``neo_runtime`` package (found without importing it)."""
    from importlib.util import find_spec  # noqa: PLC0415

    spec = find_spec("neo_runtime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the neo_runtime package (the Lambda code) is not installed with neo_recommender")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


@lru_cache(maxsize=1)
def lambda_asset_dir() -> Path:
    """A folder whose only content is the ``neo_runtime`` package, for ``Code.from_asset``."""
    package = runtime_package_dir()
    if package.parent.name == "lambdas":  # a source checkout: lambdas/ holds nothing else
        return package.parent
    files = sorted(path for path in package.rglob("*") if path.is_file() and _shipped(path))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    staged = Path(tempfile.gettempdir()) / f"neo-recommender-lambda-{digest.hexdigest()[:16]}"
    if not (staged / "neo_runtime").is_dir():
        scratch = Path(tempfile.mkdtemp(prefix="neo-recommender-lambda-", dir=tempfile.gettempdir()))
        shutil.copytree(package, scratch / "neo_runtime", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        try:
            os.replace(scratch, staged)  # atomic: concurrent synths never see a half-copied folder
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)  # another process staged it first
    return staged


def _shipped(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix != ".pyc"
