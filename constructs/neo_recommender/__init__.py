"""neo-recommender: SageMaker Inference Recommender with Neo compilation, as CDK infrastructure.

``InferenceRecommenderPipeline`` is the construct to compose into your own app;
``NeoRecommenderStack`` is a ready-made stack holding one, configured from cdk.json context.
"""

from neo_recommender.pipeline import InferenceRecommenderPipeline
from neo_recommender.stack import NeoRecommenderStack, StackSettings

__all__ = ["InferenceRecommenderPipeline", "NeoRecommenderStack", "StackSettings"]
