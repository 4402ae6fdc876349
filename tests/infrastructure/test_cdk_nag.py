"""cdk-nag's AwsSolutions pack: no unacknowledged finding, and a new wildcard is still caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from neo_recommender import NeoRecommenderStack

CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]


def _checked_app(tmp_path: Path) -> tuple[cdk.App, NeoRecommenderStack]:
    app = cdk.App(context=CONTEXT, outdir=str(tmp_path))
    stack = NeoRecommenderStack(app, "NeoRecommenderStack")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def test_aws_solutions_pack_reports_nothing_unacknowledged(tmp_path: Path) -> None:
    app, _ = _checked_app(tmp_path)
    app.synth()  # a policy-validation plugin violation raises here


def test_a_new_wildcard_permission_still_fails_synthesis(tmp_path: Path) -> None:
    app, stack = _checked_app(tmp_path)
    stack.pipeline.functions.check_job.add_to_role_policy(
        iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    with pytest.raises(Exception, match="ValidationFailed") as raised:
        app.synth()
    assert "CheckRecommendationJobRole" in str(raised.value)
    assert "AwsSolutions-IAM5[Action::s3:*]" in str(raised.value)


def test_every_acknowledgment_gives_a_reason_of_substance(synthesized: Any) -> None:
    acknowledged = {finding: reason for construct in synthesized.stack.node.find_all()
                    for entry in construct.node.metadata if entry.type == "aws:cdk:acknowledged-rules"
                    for finding, reason in entry.data.items()}
    assert len(acknowledged) >= 10, "acknowledgments are recorded as construct metadata"
    for finding, reason in acknowledged.items():
        assert finding.startswith("AwsSolutions::AwsSolutions-IAM5[") and len(reason) >= 60, (finding, reason)
