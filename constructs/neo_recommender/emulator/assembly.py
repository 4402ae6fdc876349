"""Synthesize the stack in-process into a cloud assembly (what ``cdk synth`` writes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neo_recommender.stack import NeoRecommenderStack

STACK_NAME = "NeoRecommenderStack"
#: The checkout's cdk.json, when this package runs from a source checkout (``constructs/neo_recommender/emulator``).
_CHECKOUT_CDK_JSON = Path(__file__).resolve().parents[3] / "cdk.json"


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> tuple[NeoRecommenderStack, Path]:
    """Synthesize ``NeoRecommenderStack`` into ``outdir``; return the stack and the assembly folder."""
    import aws_cdk as cdk  # noqa: PLC0415 - the CDK (and its Node.js process) only when synthesizing

    from neo_recommender.stack import NeoRecommenderStack  # noqa: PLC0415

    app = cdk.App(outdir=str(outdir), context=context or {})
    stack = NeoRecommenderStack(app, STACK_NAME)
    assembly = app.synth()
    return stack, Path(assembly.directory)


def synthesize_project(outdir: Path, start: Path | None = None) -> tuple[NeoRecommenderStack, Path, Path | None]:
    """What ``cdk synth`` writes for this project: the stack with its cdk.json's context (settings and feature
    flags). Returns the stack, the assembly folder and the cdk.json read (None: none found, CDK's defaults)."""
    cdk_json = find_cdk_json(start)
    stack, assembly = synthesize(outdir, project_context(cdk_json))
    return stack, assembly, cdk_json


def find_cdk_json(start: Path | None = None) -> Path | None:
    """The cdk.json ``cdk synth`` would read: the working directory's, else this checkout's."""
    for candidate in ((start or Path.cwd()) / "cdk.json", _CHECKOUT_CDK_JSON):
        if candidate.is_file():
            return candidate
    return None


def project_context(cdk_json: Path | None) -> dict[str, Any]:
    """The ``context`` of a cdk.json (settings and feature flags), as ``cdk synth`` passes it to the app."""
    if cdk_json is None:
        return {}
    return dict(json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {}))
