"""``make demo``: the whole pipeline on the embedded AWS emulator, ending with the ranked table."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from neo_recommender import samples
from neo_recommender.assembly import STACK_NAME, synthesize_project
from neo_recommender.chart import ChartUnavailable, write_chart
from neo_recommender.emulator import REGION, EmbeddedAws
from neo_recommender.report import markdown_report
from neo_recommender.results import ranked_recommendations, run_decision, run_notes, run_summary
from neo_runtime.ranking import format_rows

#: Where ``make demo`` writes its report and chart (relative to the working directory).
DEFAULT_OUTPUT_DIR = Path("demo-output")


def run_demo(out: TextIO = sys.stdout, model_name: str = "xgb-churn",
             output_dir: Path = DEFAULT_OUTPUT_DIR) -> int:
    """Synthesize, deploy into the emulator, submit the sample model, print the outcome. Returns an exit code.

    Ends by writing ``<model>-report.md`` and ``<model>-chart.png`` into ``output_dir``.
    """
    started = time.monotonic()
    # The handlers' JSON logs are for CloudWatch; the demo shows only warnings from them.
    logging.getLogger("neo_runtime").setLevel(logging.WARNING)

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say("neo-recommender demo: running on the EMBEDDED AWS EMULATOR (moto + an Inference Recommender")
    say("simulator, in this process). No AWS account is used and nothing is billed; job time is simulated.")
    say()
    with tempfile.TemporaryDirectory(prefix="neo-recommender-demo-") as workdir:
        say("1. Synthesizing NeoRecommenderStack (the real CDK app) as `cdk synth` does ...")
        _, assembly, cdk_json = synthesize_project(Path(workdir) / "cdk.out")
        say(f"   with the context of {cdk_json or 'no cdk.json (CDK defaults)'}")
        with EmbeddedAws() as aws:
            say("2. Deploying the synthesized template into the emulator ...")
            stack = aws.deploy(assembly, STACK_NAME)
            say(f"   {len(stack.physical_ids)} resources created; {len(stack.skipped)} that moto does not create "
                "were completed by the emulator; IAM is enforced.")
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
            status_calls = (aws.recommender.calls["DescribeInferenceRecommendationsJob"]
                            + aws.recommender.calls["ListInferenceRecommendationsJobs"])
            say(f"   execution {execution['status']}; run {run_id}; "
                f"{sum(aws.lambdas.invocations.values())} Lambda invocations; {status_calls} IR status calls; "
                f"{sum(aws.iam.checked.values())} IAM authorizations, {len(aws.iam.denials)} denied.")
            for denial in aws.iam.denials:
                say(f"   DENIED: {denial.message}")
            if execution["status"] != "SUCCEEDED" or not summary:
                say(f"The run did not complete: {execution.get('error')} {execution.get('cause')}")
                return 1
            rows = ranked_recommendations(dynamodb, table, run_id)
            say()
            say(f"Ranked recommendations for {model_name} (cheapest per inference first; "
                "MaxInvocations per minute, ModelLatency in ms), read back from DynamoDB:")
            say()
            say(format_rows(rows))
            decision = run_decision(summary, rows)
            say()
            for line in run_notes(summary, decision):
                say(f"* {line}")
            say(f"* Notification sent to {stack.outputs['NotificationTopicArn']}")
            say()
            say(_write_outputs(output_dir, model_name, summary, decision))
    say()
    say(f"Done in {time.monotonic() - started:.1f} s.")
    return 0


def _write_outputs(output_dir: Path, model_name: str, summary: dict[str, Any], decision: Any) -> str:
    """Write the Markdown report and the chart; returns a line saying where they are."""
    output_dir.mkdir(parents=True, exist_ok=True)
    chart_path = output_dir / f"{model_name}-chart.png"
    try:
        write_chart(decision, chart_path, f"{model_name}: cost per inference vs model latency")
        chart_note = f"chart {chart_path}"
    except ChartUnavailable as unavailable:
        chart_path, chart_note = None, f"no chart ({unavailable})"
    report_path = output_dir / f"{model_name}-report.md"
    report_path.write_text(markdown_report(summary, decision, chart_path.name if chart_path else None),
                           encoding="utf-8")
    return f"Wrote the report {report_path} and the {chart_note}."
