"""Real-account integration test, the CDK ecosystem's way (aws-cdk.integ-tests-alpha, run by @aws-cdk/integ-runner).

It deploys the pipeline, submits the sample XGBoost model (the AWS IR notebook's, in miniature: ``samples``), waits
for the run, and asserts a COMPLETED run summary in DynamoDB with at least one compiled and uncompiled pair.

``make integ`` deploys it into the account of ``AWS_PROFILE`` (and destroys it after); ``make test`` only
synthesizes it and compares the snapshot in ``integ_pipeline.py.snapshot/`` (no credentials). The bucket is the
test's own, emptied and deleted with the stack, so nothing is left behind.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "constructs"))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import Duration, RemovalPolicy, Stack  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest, InvocationType, Match  # noqa: E402

from neo_recommender import InferenceRecommenderPipeline, samples  # noqa: E402

MODEL = "xgb-integ"
#: How long to wait for the run: a Default IR job takes about 45 minutes, plus registration and publishing.
RUN_TIMEOUT = Duration.hours(2)

UPLOADER = '''"""Uploads the sample submission: the archives first, recommend.json last (its upload starts the run)."""
import json
import os

import boto3

import samples


def handler(event, context):
    s3 = boto3.client("s3")
    bucket, folder = os.environ["BUCKET"], f"{os.environ['WATCHED_PREFIX']}{os.environ['MODEL']}/"
    s3.put_object(Bucket=bucket, Key=folder + "model.tar.gz", Body=samples.xgboost_model_archive())
    s3.put_object(Bucket=bucket, Key=folder + "payload.tar.gz", Body=samples.csv_payload_archive())
    manifest = samples.xgboost_manifest(os.environ["MODEL"], region=os.environ["AWS_REGION"])
    s3.put_object(Bucket=bucket, Key=folder + "recommend.json", Body=json.dumps(manifest).encode())
    return {"submitted": folder}
'''


def uploader_code(staging: Path) -> lambda_.Code:
    """The uploader's code: its handler and the library's ``samples`` module (standard library only)."""
    (staging / "index.py").write_text(UPLOADER, encoding="utf-8")
    shutil.copy(Path(samples.__file__), staging / "samples.py")
    return lambda_.Code.from_asset(str(staging))


def build(app: cdk.App, staging: Path) -> None:
    """The stack under test and its assertions."""
    stack = Stack(app, "NeoRecommenderInteg")
    bucket = s3.Bucket(stack, "Submissions", versioned=True, enforce_ssl=True,
                       encryption=s3.BucketEncryption.S3_MANAGED,
                       block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                       removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True)
    pipeline = InferenceRecommenderPipeline(stack, "Pipeline", bucket=bucket, removal_policy=RemovalPolicy.DESTROY,
                                            name_prefix="nr-integ-")
    uploader = lambda_.Function(stack, "SampleUploader", runtime=lambda_.Runtime.PYTHON_3_14,
                                handler="index.handler", code=uploader_code(staging), timeout=Duration.minutes(1),
                                environment={"BUCKET": bucket.bucket_name, "WATCHED_PREFIX": pipeline.watched_prefix,
                                             "MODEL": MODEL})
    pipeline.grant_submit(uploader)

    test = IntegTest(app, "NeoRecommenderIntegTest", test_cases=[stack])
    submit = test.assertions.invoke_function(function_name=uploader.function_name,
                                             invocation_type=InvocationType.REQUEST_RESPONSE)
    runs = test.assertions.aws_api_call("DynamoDB", "query", {
        "TableName": pipeline.table.table_name, "IndexName": "ByModel",
        "KeyConditionExpression": "model_name = :model", "ExpressionAttributeValues": {":model": {"S": MODEL}}})
    # COMPLETED, with a compiled recommendation and its uncompiled twin (a comparison pairs the two).
    runs.expect(ExpectedResult.object_like({"Items": Match.array_with([Match.object_like({
        "status": {"S": "COMPLETED"},
        "compiled_count": {"N": Match.string_like_regexp("^[1-9]")},
        "comparisons": {"L": Match.array_with([Match.object_like({"M": Match.object_like({
            "instance_type": {"S": Match.string_like_regexp("^ml\\.")}})})])},
    })])}))
    runs.wait_for_assertions(total_timeout=RUN_TIMEOUT, interval=Duration.minutes(5), backoff_rate=1)
    submit.next(runs)


def main(outdir: str | None = None) -> None:
    """Synthesize the app into ``outdir``, else where the CDK CLI or integ-runner says (``CDK_OUTDIR``)."""
    with tempfile.TemporaryDirectory(prefix="neo-recommender-integ-") as staging_dir:
        integ_app = cdk.App(outdir=outdir)
        build(integ_app, Path(staging_dir))
        integ_app.synth()


if __name__ == "__main__":
    main()
