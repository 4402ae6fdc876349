"""``make demo``: the whole pipeline on the embedded AWS emulator, ending with the ranked table."""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from neo_recommender import samples
from neo_recommender.cli.chart import ChartUnavailable, write_chart
from neo_recommender.cli.report import markdown_report
from neo_recommender.cli.results import ranked_recommendations, run_decision, run_notes, run_summary
from neo_recommender.cli.submit import Destination, LocalSubmission, UploadProgress, local_submission, upload
from neo_recommender.emulator import REGION, EmbeddedAws
from neo_recommender.emulator.assembly import STACK_NAME, find_cdk_json, project_context, synthesize
from neo_recommender.emulator.assembly_cache import cache_root, cached_assembly
from neo_recommender.emulator.collection_thresholds import FewerCollections
from neo_runtime.ranking import format_rows

#: Where ``make demo`` writes its report and chart (relative to the working directory).
DEFAULT_OUTPUT_DIR = Path("demo-output")
#: The services the deployed stack uses: moto's backends and the API models it routes requests with.
_SERVICES = ("cloudformation", "s3", "dynamodb", "sns", "sqs", "lambda", "stepfunctions", "events", "iam", "kms",
             "logs", "sagemaker", "cloudwatch", "ssm", "sts")


def run_demo(out: TextIO = sys.stdout, model_name: str = "xgb-churn",
             output_dir: Path = DEFAULT_OUTPUT_DIR) -> int:
    """Synthesize, deploy into the emulator, submit the sample model, print the outcome. Returns an exit code.

    Ends by writing ``<model>-report.md`` and ``<model>-chart.png`` into ``output_dir``. The collector's thresholds
    are raised from the start (``FewerCollections``): the warm-up's imports allocate as the emulator does.
    """
    with FewerCollections():
        return _run_demo(out, model_name, output_dir)


def _run_demo(out: TextIO, model_name: str, output_dir: Path) -> int:
    started = time.monotonic()

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say("neo-recommender demo: running on the EMBEDDED AWS EMULATOR (moto + an Inference Recommender")
    say("simulator, in this process). No AWS account is used and nothing is billed; job time is simulated.")
    say()
    # Synthesis runs in the CDK's Node.js process; meanwhile this one loads what deploying and charting will use.
    warm_up = threading.Thread(target=_warm_up, name="demo-warm-up", daemon=True)
    warm_up.start()
    with tempfile.TemporaryDirectory(prefix="neo-recommender-demo-") as workdir:
        say("1. Synthesizing NeoRecommenderStack (the real CDK app) as `cdk synth` does ...")
        assembly, cached, cdk_json = demo_assembly(Path(workdir))
        warm_up.join()
        say(f"   with the context of {cdk_json or 'no cdk.json (CDK defaults)'}"
            + (f"; the same inputs were synthesized before: reusing {assembly}" if cached else "")
            + (f" (cache: {cache_root()}, NEO_RECOMMENDER_CACHE=off turns it off)" if cached else ""))
        # Simulated time skips what nobody works through (the job's 45 minutes between polls).
        with EmbeddedAws(speedup=50, skip_idle=True) as aws:
            say("2. Deploying the synthesized template into the emulator ...")
            stack = aws.deploy(assembly, STACK_NAME)
            say(f"   {len(stack.physical_ids)} resources created; {len(stack.skipped)} that moto does not create "
                "were completed by the emulator; IAM is enforced.")
            bucket, prefix = stack.outputs["SubmissionBucketName"], stack.outputs["WatchedPrefix"]
            destination = Destination(bucket, prefix, model_name)
            say(f"3. Submitting the sample XGBoost model to {destination.url()} as `neo-recommender submit` does "
                "(recommend.json last) ...")
            submission = _write_sample_submission(Path(workdir) / model_name, model_name)
            submitted = upload(aws.client("s3"), submission, destination, UploadProgress(out, live=False))
            say("4. EventBridge started the workflow; waiting for the (simulated 45-minute) IR job ...")
            execution = aws.wait_for_executions(stack.outputs["StateMachineArn"])[0]
            output = json.loads(execution.get("output") or "{}")
            run_id = (output.get("submission") or {}).get("run_id")
            table = stack.outputs["ResultsTableName"]
            dynamodb = aws.client("dynamodb")
            if run_id != submitted.run_id:
                cause = str(execution.get("cause", ""))[:2000]
                recorded = run_summary(dynamodb, table, submitted.run_id) or {}
                say(f"The execution's run {run_id} is not the run {submitted.run_id} the upload started: the "
                    f"execution ended {execution['status']} {execution.get('error', '')} {cause}")
                if recorded.get("error"):
                    say(f"Run {submitted.run_id} is recorded {recorded.get('status')}: {recorded['error']}")
                return 1
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
            if summary.get("model_package_arn") and summary.get("registry_entries"):
                package = aws.client("sagemaker").describe_model_package(ModelPackageName=summary["model_package_arn"])
                metadata = package.get("CustomerMetadataProperties") or {}
                say(f"* Model registry: {len(metadata)} entries on {summary['model_package_arn']}, e.g. "
                    f"neo-recommender:recommended = {metadata.get('neo-recommender:recommended')}, "
                    f"neo-recommender:rank-01 = {metadata.get('neo-recommender:rank-01')}")
            say()
            say(_write_outputs(output_dir, model_name, summary, decision))
    say()
    say(f"Done in {time.monotonic() - started:.1f} s.")
    return 0


def demo_assembly(workdir: Path, start: Path | None = None) -> tuple[Path, bool, Path | None]:
    """What the demo deploys: NeoRecommenderStack with the context of the cdk.json ``cdk synth`` would read (from
    the assembly cache when the same inputs were synthesized before). Returns the assembly folder, whether it came
    from the cache, and the cdk.json read (None: CDK's defaults)."""
    cdk_json = find_cdk_json(start)
    assembly, cached = cached_assembly(project_context(cdk_json),
                                       lambda outdir, context: synthesize(outdir, context)[1], workdir)
    return assembly, cached, cdk_json


def _warm_up() -> None:
    """Import moto's backends and load the API models of the stack's services, and matplotlib if installed: the
    same work the deployment and the chart would do first, done while the CDK synthesizes."""
    from moto.backends import get_backend
    from moto.core.utils import get_service_model

    importlib.import_module("moto.cloudformation.models")
    for service in _SERVICES:
        get_backend(service)  # type: ignore[call-overload]
        get_service_model(service)
    try:
        importlib.import_module("matplotlib.pyplot")
    except ImportError:  # the chart extra is not installed: the demo says so at the end
        pass


def _write_sample_submission(folder: Path, model_name: str) -> LocalSubmission:
    """Write the sample model, payload and manifest into ``folder``, as a user's submission folder."""
    folder.mkdir(parents=True)
    (folder / "model.tar.gz").write_bytes(samples.xgboost_model_archive())
    (folder / "payload.tar.gz").write_bytes(samples.csv_payload_archive())
    manifest = samples.xgboost_manifest(model_name, region=REGION)
    (folder / "recommend.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return local_submission(manifest, folder / "recommend.json", {})


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
