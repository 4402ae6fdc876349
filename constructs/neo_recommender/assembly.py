"""Synthesize the stack in-process into a cloud assembly (what ``cdk synth`` writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk

from neo_recommender.stack import NeoRecommenderStack

STACK_NAME = "NeoRecommenderStack"


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> tuple[NeoRecommenderStack, Path]:
    """Synthesize ``NeoRecommenderStack`` into ``outdir``; return the stack and the assembly folder."""
    app = cdk.App(outdir=str(outdir), context=context or {})
    stack = NeoRecommenderStack(app, STACK_NAME)
    assembly = app.synth()
    return stack, Path(assembly.directory)
