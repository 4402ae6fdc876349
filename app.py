#!/usr/bin/env python3
"""The CDK app: one NeoRecommenderStack, configured from cdk.json context."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "constructs"))

import aws_cdk as cdk  # noqa: E402

from neo_recommender import NeoRecommenderStack  # noqa: E402

app = cdk.App()
NeoRecommenderStack(
    app, "NeoRecommenderStack",
    description="neo-recommender: SageMaker Inference Recommender with Neo compilation for models uploaded to S3",
)
app.synth()
