"""neo-recommender: SageMaker Inference Recommender with Neo compilation, as CDK infrastructure.

``InferenceRecommenderPipeline`` is the construct to compose into your own app;
``NeoRecommenderStack`` is a ready-made stack holding one, configured from cdk.json context.

The CDK classes are imported on first use, so the command line's ``validate`` and ``init``
start without loading aws-cdk-lib (and its Node.js runtime).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The package's version: the one source pyproject.toml and ``neo-recommender --version`` read.
__version__ = "0.1.0"

if TYPE_CHECKING:
    from neo_recommender.job_settings import JobSettings
    from neo_recommender.pipeline import InferenceRecommenderPipeline
    from neo_recommender.stack import NeoRecommenderStack, StackSettings
    from neo_recommender.workflow import JobPolling

__all__ = ["InferenceRecommenderPipeline", "JobPolling", "JobSettings", "NeoRecommenderStack", "StackSettings",
           "__version__"]


def __getattr__(name: str) -> Any:
    if name == "InferenceRecommenderPipeline":
        from neo_recommender.pipeline import InferenceRecommenderPipeline

        return InferenceRecommenderPipeline
    if name == "JobSettings":
        from neo_recommender.job_settings import JobSettings

        return JobSettings
    if name == "JobPolling":
        from neo_recommender.workflow import JobPolling

        return JobPolling
    if name in ("NeoRecommenderStack", "StackSettings"):
        from neo_recommender import stack

        return getattr(stack, name)
    raise AttributeError(f"module 'neo_recommender' has no attribute {name!r}")
