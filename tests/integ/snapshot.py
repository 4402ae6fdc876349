"""The integration test's snapshot: what ``integ_pipeline.py`` synthesizes, as integ-runner keeps and compares it.

integ-runner compares a fresh synthesis with the ``*.snapshot`` directory, templates and test manifest, ignoring asset
hashes. The pinned integ-runner (2.197.10, the newest on npm) cannot read the cloud assembly schema aws-cdk-lib 2.275
writes (55; it reads up to 53), so this module does that comparison itself until a compatible integ-runner exists.

``python tests/integ/snapshot.py`` (``make integ-snapshot``) writes the snapshot after a change of the app.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT_INTEG = HERE
APP = HERE / "integ_pipeline.py"
SNAPSHOT = HERE / "integ_pipeline.py.snapshot"
#: What the snapshot keeps and compares, as integ-runner does: the stacks' templates, the test manifest, the assembly
#: version (the asset manifests only restate asset hashes, which integ-runner ignores by default).
KEPT = re.compile(r".*\.template\.json|integ\.json|cdk\.out")
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def synthesize(outdir: Path) -> Path:
    """Synthesize the integ app into ``outdir`` (no credentials, no network); returns ``outdir``.

    In this process (its ``main``, as ``python integ_pipeline.py`` runs it, given the folder the CLI would give in
    ``CDK_OUTDIR``): a second Python process and jsii runtime cost 9 s of the suite's time for the same template.
    """
    spec = importlib.util.spec_from_file_location("integ_pipeline", APP)
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    app.main(str(outdir))
    return outdir


def normalized(path: Path) -> Any:
    """A snapshot file as compared: JSON with asset hashes replaced (integ-runner ignores them by default) and
    without the assertions' ``salt`` (the synthesis time, so that every deployment runs them again)."""
    text = _ASSET_HASH.sub("<asset-hash>", path.read_text(encoding="utf-8"))
    return _without_salt(json.loads(text))


def _without_salt(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_salt(item) for key, item in value.items() if key != "salt"}
    if isinstance(value, list):
        return [_without_salt(item) for item in value]
    return value


def kept_files(directory: Path) -> list[str]:
    """The names of the files a snapshot keeps, sorted."""
    return sorted(p.name for p in directory.iterdir() if p.is_file() and KEPT.fullmatch(p.name))


def write_snapshot() -> None:
    """Replace the snapshot with a fresh synthesis."""
    with tempfile.TemporaryDirectory(prefix="integ-snapshot-") as tmp:
        fresh = synthesize(Path(tmp))
        if SNAPSHOT.exists():
            shutil.rmtree(SNAPSHOT)
        SNAPSHOT.mkdir()
        for name in kept_files(fresh):
            shutil.copy(fresh / name, SNAPSHOT / name)


if __name__ == "__main__":
    write_snapshot()
    print(f"Wrote {SNAPSHOT.relative_to(HERE.parents[1])}")
