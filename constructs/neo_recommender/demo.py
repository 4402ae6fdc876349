"""``make demo``: the whole pipeline on the embedded AWS emulator, ending with the ranked table."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from neo_recommender import samples
from neo_recommender.assembly import STACK_NAME, synthesize
from neo_recommender.emulator import REGION, EmbeddedAws
from neo_recommender.results import ranked_recommendations, run_summary
from neo_runtime.ranking import format_rows


def run_demo(out: TextIO = sys.stdout, model_name: str = "xgb-churn") -> int:
    """Synthesize, deploy into the emulator, submit the sample model, print the outcome. Returns an exit code."""
    started = time.monotonic()
    # The handlers' JSON logs are for CloudWatch; the demo shows only warnings from them.
    logging.getLogger("neo_runtime").setLevel(logging.WARNING)

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say("neo-recommender demo: running on the EMBEDDED AWS EMULATOR (moto + an Inference Recommender")
    say("simulator, in this process). No AWS account is used and nothing is billed; job time is simulated.")
    say()
    with tempfile.TemporaryDirectory(prefix="neo-recommender-demo-") as workdir:
        say("1. Synthesizing NeoRecommenderStack (the real CDK app) ...")
        _, assembly = synthesize(Path(workdir) / "cdk.out")
        with EmbeddedAws() as aws:
            say("2. Deploying the synthesized template into the emulator ...")
            stack = aws.deploy(assembly, STACK_NAME)
            bucket, prefix = stack.outputs["SubmissionBucketName"], stack.outputs["WatchedPrefix"]
            folder = f"{prefix}{model_name}/"
            say(f"3. Uploading the sample XGBoost model to s3://{bucket}/{folder} (recommend.json last) ...")
            s3 = aws.client("s3")
            s3.put_object(Bucket=bucket, Key=folder + "model.tar.gz", Body=samples.xgboost_model_archive())
            s3.put_object(Bucket=bucket, Key=folder + "payload.tar.gz", Body=samples.csv_payload_archive())
            manifest = samples.xgboost_manifest(model_name, region=REGION)
            s3.put_object(Bucket=bucket, Key=folder + "recommend.json", Body=json.dumps(manifest, indent=2).encode())
            say("4. EventBridge started the workflow; waiting for the (simulated 45-minute) IR job ...")
            execution = aws.wait_for_executions(stack.outputs["StateMachineArn"])[0]
            output = json.loads(execution.get("output") or "{}")
            run_id = (output.get("submission") or {}).get("run_id")
            table = stack.outputs["ResultsTableName"]
            dynamodb = aws.client("dynamodb")
            summary = run_summary(dynamodb, table, run_id) if run_id else None
            say(f"   execution {execution['status']}; run {run_id}; "
                f"{sum(aws.lambdas.invocations.values())} Lambda invocations; "
                f"{aws.recommender.calls['DescribeInferenceRecommendationsJob']} IR status checks.")
            if execution["status"] != "SUCCEEDED" or not summary:
                say(f"The run did not complete: {execution.get('error')} {execution.get('cause')}")
                return 1
            rows = ranked_recommendations(dynamodb, table, run_id)
            say()
            say(f"Ranked recommendations for {model_name} (cheapest per inference first; "
                "MaxInvocations per minute, ModelLatency in ms), read back from DynamoDB:")
            say()
            say(format_rows(rows))
            say()
            for line in summary.get("comparisons", []):
                say(f"* {line}")
            best = summary.get("best") or {}
            variant = best.get("InferenceSpecificationName")
            say(f"* Recommended: {best.get('InstanceType')} "
                f"({'Neo-compiled ' + str(variant) if variant else 'uncompiled'})")
            say(f"* Notification sent to {stack.outputs['NotificationTopicArn']}")
    say()
    say(f"Done in {time.monotonic() - started:.1f} s.")
    return 0
