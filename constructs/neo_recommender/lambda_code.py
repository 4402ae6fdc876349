"""Where each Lambda function's code asset comes from, in a source checkout and in an installed wheel alike.

A function ships only the part of the ``neo_runtime`` package its handler can load
(``import_closure``): check_job needs a third of what validate_submission needs. That part is
staged in a private folder this process creates (``mkdtemp``: a fresh name, readable by its owner
only) and removes at exit; the CDK copies it into the cloud assembly as the function's asset, whose
hash is that of the content, so the same code still gives the same asset. Nothing in a shared
temporary folder is ever reused: a folder someone else created first could hold code of theirs.
The package is found wherever it is importable from: the repository's ``lambdas/`` folder in a
checkout, ``site-packages`` in an installed wheel.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from functools import cache
from pathlib import Path

from neo_recommender.import_closure import closure


def runtime_package_dir() -> Path:
    """The folder of the importable ``neo_runtime`` package (found without importing it)."""
    from importlib.util import find_spec  # noqa: PLC0415

    spec = find_spec("neo_runtime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the neo_runtime package (the Lambda code) is not installed with neo_recommender")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


@cache
def handler_asset_dir(handler_module: str) -> Path:
    """A folder holding just the files ``handler_module`` (e.g. ``neo_runtime.handlers.check_job``) loads.

    An import the package cannot satisfy is an error here, at synth, rather than an
    ``ImportError`` at the function's first cold start.
    """
    root = runtime_package_dir().parent
    needed = closure(root, handler_module)
    if needed.missing:
        raise RuntimeError(f"{handler_module} imports {', '.join(needed.missing)}, which the Lambda code "
                           f"in {root} does not have")
    contents = {name: (root / name).read_bytes() for name in needed.files}
    digest = hashlib.sha256()
    for name, body in contents.items():
        digest.update(name.encode() + b"\0" + body + b"\0")
    staged = _staging_root() / digest.hexdigest()[:16]
    if not staged.is_dir():  # only this process writes under its own root
        for name, body in contents.items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(body)
    return staged


@cache
def _staging_root() -> Path:
    """This process's own staging folder (mode 0700), removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="neo-recommender-assets-"))
    atexit.register(shutil.rmtree, root, True)
    return root
