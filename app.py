#!/usr/bin/env python3
"""The CDK app: one NeoRecommenderStack, configured from cdk.json context."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "constructs"))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from neo_recommender import NeoRecommenderStack  # noqa: E402

app = cdk.App()
NeoRecommenderStack(
    app, "NeoRecommenderStack",
    description="neo-recommender: SageMaker Inference Recommender with Neo compilation for models uploaded to S3",
)
# cdk-nag's AwsSolutions pack runs on every synth and deploy: a new unacknowledged finding fails it.
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
