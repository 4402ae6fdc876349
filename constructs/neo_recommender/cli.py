"""The ``neo-recommender`` command line.

Exit codes: 0 success (``validate``: valid, warnings allowed), 1 ``validate`` found errors,
``results`` found no run, or ``rank``/``chart`` were given a job that did not complete (or has
nothing to plot), 2 usage errors (bad arguments, unreadable files, AWS errors).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo_runtime.run_status import RUN_STATUSES

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_NOT_FOUND = EXIT_NOT_COMPLETED = 1
DEFAULT_STACK = "NeoRecommenderStack"
#: Columns of ``results --model`` and ``results --status`` (one row per run).
RUN_COLUMNS = ("RunId", "Status", "ModelName", "CreatedAt", "UpdatedAt", "Recommended", "CostPerInference",
               "Recommendations", "JobName")


class UsageError(Exception):
    """A problem with the command's input; the message says what to do."""


class JobNotCompleted(Exception):
    """The describe output is of a FAILED, STOPPED or unfinished job (or has nothing to chart): exit 1."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from neo_recommender import __version__  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="neo-recommender",
                                     description="SageMaker Inference Recommender with Neo, as infrastructure.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the whole pipeline on the embedded AWS emulator")

    validate = commands.add_parser(
        "validate", help="check a submission before uploading it (the pipeline's own preflight checks)",
        description="Check recommend.json and its archives with the checks the pipeline's first step runs. "
                    "Archives not given are looked for next to the manifest. Exit 0: valid; 1: invalid; "
                    "2: usage error.")
    validate.add_argument("manifest", type=Path, help="recommend.json")
    validate.add_argument("--model", type=Path, help="model.tar.gz to check")
    validate.add_argument("--payload", type=Path, help="payload.tar.gz to check")
    validate.add_argument("--region", help="region the pipeline runs in (default: AWS_REGION or AWS_DEFAULT_REGION)")
    validate.add_argument("--json", action="store_true", help="print the JSON report")

    rank = commands.add_parser(
        "rank", help="rank the output of describe-inference-recommendations-job offline",
        description="Rank the JSON that `aws sagemaker describe-inference-recommendations-job` prints (or a boto3 "
                    "response dumped as JSON): cheapest per inference first, with constraints, the Pareto "
                    "frontier and the compiled-vs-uncompiled comparison.")
    rank.add_argument("describe", type=Path, help="the job description as JSON")
    rank.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table")
    _add_constraint_arguments(rank)

    results = commands.add_parser(
        "results", help="show a finished run (or a model's runs) from the deployed results table",
        description="Read the results table of a deployed stack: a run's ranked recommendations, a model's "
                    "latest runs, or runs in a status. The table comes from --table, or from the "
                    "ResultsTableName output of --stack. Exit 0: found; 1: nothing found; 2: usage or AWS error.")
    which = results.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_ID", help="one run, by its run id")
    which.add_argument("--job", metavar="JOB_NAME", help="the run of an Inference Recommender job")
    which.add_argument("--execution", metavar="ARN", help="the run of a Step Functions execution")
    which.add_argument("--model", metavar="NAME", help="the latest runs of a model (ModelName)")
    which.add_argument("--status", choices=RUN_STATUSES, help="the latest runs in this status")
    results.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table",
                         help="markdown of one run is the full report")
    results.add_argument("--limit", type=int, default=10, help="runs to list for --model/--status (default 10)")
    _add_table_arguments(results)

    chart = commands.add_parser(
        "chart", help="draw cost per inference vs latency (PNG or SVG)",
        description="Chart a job description (as `rank` reads it) or a stored run: compiled and uncompiled "
                    "marked apart, pairs joined, the Pareto frontier and the recommended point highlighted. "
                    "Needs the chart extra: pip install 'neo-recommender[chart]'.")
    chart.add_argument("describe", type=Path, nargs="?", help="the job description as JSON")
    chart.add_argument("--run", metavar="RUN_ID", help="chart a stored run instead of a file")
    chart.add_argument("-o", "--output", type=Path, required=True, help="chart.png or chart.svg")
    chart.add_argument("--title", help="chart title (default: the model or file name)")
    _add_constraint_arguments(chart)
    _add_table_arguments(chart)

    init = commands.add_parser("init", help="write a starter recommend.json for a framework",
                               description="Write a starter manifest with a correct DataInputConfig example.")
    init.add_argument("--framework", required=True, type=str.upper,
                      choices=["XGBOOST", "PYTORCH", "TENSORFLOW", "MXNET", "ONNX", "KERAS"],
                      help="the model's framework (any case)")
    init.add_argument("--model-name", default="my-model", help="ModelName (letters, digits, hyphens)")
    init.add_argument("--image", help="container image URI (required for ONNX and KERAS)")
    init.add_argument("-o", "--output", default="recommend.json", help="file to write, or - for stdout")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    return parser


def _add_constraint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-latency-ms", type=_positive, help="recommend only configurations at most this slow")
    parser.add_argument("--min-invocations", type=_positive, help="recommend only configurations with at least "
                                                                  "this many invocations per minute")
    parser.add_argument("--instance-type", action="append", default=[], dest="instance_types",
                        help="allowed instance type (repeatable)")


def _add_table_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", help="results table name (default: the --stack's ResultsTableName output)")
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"deployed stack name (default {DEFAULT_STACK})")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a subcommand; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo()
    if args.command == "validate":
        return _validate(args)
    if args.command == "rank":
        return _rank(args)
    if args.command in ("results", "chart"):
        try:
            return _results(args) if args.command == "results" else _chart(args)
        except (UsageError, JobNotCompleted) as error:
            print(f"neo-recommender {args.command}: {error}", file=sys.stderr)
            return EXIT_USAGE if isinstance(error, UsageError) else EXIT_NOT_COMPLETED
    return _init(args)


def _demo() -> int:
    try:
        from neo_recommender.demo import run_demo  # noqa: PLC0415 - keeps other subcommands free of moto
    except ModuleNotFoundError as error:  # moto, policy_sentry or one of moto's service dependencies
        if (error.name or "").split(".")[0] in ("neo_recommender", "neo_runtime"):
            raise
        print(f"neo-recommender demo: {error.name} is not installed; the demo runs on an embedded AWS emulator "
              "that needs the demo extra: pip install 'neo-recommender[demo]'", file=sys.stderr)
        return EXIT_USAGE
    return run_demo()


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a number greater than 0")
    return value


def _constraints(args: argparse.Namespace) -> Any:
    from neo_runtime.decision import Constraints  # noqa: PLC0415

    return Constraints(args.max_latency_ms, args.min_invocations, tuple(args.instance_types))


def _describe_decision(path: Path, constraints: Any) -> tuple[Any, list[str]]:
    """The decision over a describe-inference-recommendations-job document, and the notes on reading it.

    ``UsageError`` if the file is unreadable; ``JobNotCompleted`` for a job that did not complete.
    """
    from neo_runtime.decision import decide  # noqa: PLC0415
    from neo_runtime.ir_results import MalformedResults, read_job  # noqa: PLC0415

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    try:
        job = read_job(document)
    except MalformedResults as error:
        raise UsageError(f"{path}: {error}") from None
    unfinished = job.unfinished()
    if unfinished:
        raise JobNotCompleted(f"{unfinished}; nothing to rank until it is COMPLETED")
    return decide(job.recommendations, constraints, job.baselines), job.notes


def _rank(args: argparse.Namespace) -> int:
    from neo_runtime.formats import decision_rows, render  # noqa: PLC0415

    try:
        decision, reading_notes = _describe_decision(args.describe, _constraints(args))
    except UsageError as error:
        print(f"neo-recommender rank: {error}", file=sys.stderr)
        return EXIT_USAGE
    except JobNotCompleted as error:
        print(f"neo-recommender rank: {error}", file=sys.stderr)
        return EXIT_NOT_COMPLETED
    notes = (decision.explanation() + [c.summary() for c in decision.comparisons]
             + [baseline.describe() for baseline in decision.baselines])
    if args.format in ("json", "csv"):  # stdout stays machine-readable
        for note in reading_notes:
            print(f"neo-recommender rank: note: {note}", file=sys.stderr)
    else:
        notes += reading_notes
    print(render(decision_rows(decision), args.format, notes))
    return EXIT_OK


def _results(args: argparse.Namespace) -> int:
    from neo_recommender import results  # noqa: PLC0415

    dynamodb, table = _open_table(args)
    with _aws_errors():
        if args.model or args.status:
            runs = (results.runs_of_model(dynamodb, table, args.model, args.limit) if args.model
                    else results.runs_by_status(dynamodb, table, args.status, args.limit))
            return _print_runs(runs, args.format, args.model or args.status)
        if args.run:
            summary = results.run_summary(dynamodb, table, args.run)
        elif args.job:
            summary = results.run_by_job_name(dynamodb, table, args.job)
        else:
            summary = results.run_by_execution(dynamodb, table, args.execution)
        if summary is None:
            print(f"neo-recommender results: no run found in table {table}", file=sys.stderr)
            return EXIT_NOT_FOUND
        rows = results.ranked_recommendations(dynamodb, table, summary["run_id"])
    _print_run(summary, results.run_decision(summary, rows), args.format)
    return EXIT_OK


def _print_runs(runs: list[dict[str, Any]], fmt: str, what: str) -> int:
    from neo_runtime.formats import render  # noqa: PLC0415

    rows = []
    for run in runs:
        chosen = run.get("recommended") or {}
        variant = "Neo" if chosen.get("Compiled") else "uncompiled"
        rows.append({"RunId": run.get("run_id"), "Status": run.get("status"), "ModelName": run.get("model_name"),
                     "CreatedAt": run.get("created_at"), "UpdatedAt": run.get("updated_at"),
                     "Recommended": f"{chosen['InstanceType']} ({variant})" if chosen else None,
                     "CostPerInference": chosen.get("CostPerInference"),
                     "Recommendations": run.get("recommendation_count"), "JobName": run.get("job_name")})
    if not rows:
        print(f"neo-recommender results: no runs for {what}", file=sys.stderr)
        return EXIT_NOT_FOUND
    print(render(rows, fmt, columns=RUN_COLUMNS))
    return EXIT_OK


def _print_run(summary: dict[str, Any], decision: Any, fmt: str) -> None:
    from neo_recommender.report import markdown_report  # noqa: PLC0415
    from neo_recommender.results import run_notes  # noqa: PLC0415
    from neo_runtime.formats import decision_rows, render  # noqa: PLC0415

    if fmt == "markdown":
        print(markdown_report(summary, decision), end="")
        return
    heading = (f"Run {summary['run_id']}: {summary.get('model_name')} {summary.get('status')}"
               + (f", job {summary['job_name']}" if summary.get("job_name") else ""))
    error = summary.get("error")
    if fmt != "table":
        print(heading + (f" in {error['step']}: {error['message']}" if error else ""), file=sys.stderr)
        print(render(decision_rows(decision), fmt))
        return
    print(heading)
    if error:
        print(f"Failed in {error['step']}: {error['message']}\nWhat to do: {error['advice']}")
        for finding in summary.get("findings") or []:
            print(f"- {finding['severity']}: {finding['field']}: {finding['message']} -> {finding['action']}")
        return
    if summary.get("status") != "COMPLETED":
        print("No results yet: the run has not completed.")
        return
    print()
    print(render(decision_rows(decision), "table", run_notes(summary, decision)))


def _chart(args: argparse.Namespace) -> int:
    from neo_recommender.chart import ChartUnavailable, write_chart  # noqa: PLC0415

    if (args.describe is None) == (args.run is None):
        raise UsageError("give either a describe JSON file or --run RUN_ID")
    if args.run and _constraints(args).any:
        raise UsageError("a stored run is charted with its own constraints; the constraint flags apply to a "
                         "describe file")
    if args.describe is not None:
        decision, reading_notes = _describe_decision(args.describe, _constraints(args))
        for note in reading_notes:
            print(f"neo-recommender chart: note: {note}", file=sys.stderr)
        title = args.title or f"{args.describe.stem}: cost per inference vs model latency"
    else:
        from neo_recommender import results  # noqa: PLC0415

        dynamodb, table = _open_table(args)
        with _aws_errors():
            summary = results.run_summary(dynamodb, table, args.run)
            if summary is None:
                print(f"neo-recommender chart: no run {args.run} in table {table}", file=sys.stderr)
                return EXIT_NOT_FOUND
            if summary.get("status") != "COMPLETED":
                why = (summary.get("error") or {}).get("message")
                raise JobNotCompleted(f"run {args.run} is {summary.get('status')}" + (f": {why}" if why else ""))
            decision = results.run_decision(summary, results.ranked_recommendations(dynamodb, table, args.run))
        title = args.title or f"{summary.get('model_name')}: cost per inference vs model latency"
    plotted = sum(1 for rec in decision.ranked if rec.cost_per_inference is not None and rec.model_latency is not None)
    if not plotted:
        raise JobNotCompleted(f"nothing to plot: none of the {len(decision.ranked)} recommendation(s) reports both "
                              "CostPerInference and ModelLatency; no chart written")
    try:
        written = write_chart(decision, args.output, title)
    except ChartUnavailable as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror or error}") from None
    missing = f"; {len(decision.ranked) - plotted} without cost or latency not plotted" if plotted < len(
        decision.ranked) else ""
    print(f"Wrote {written} ({written.stat().st_size} bytes, {plotted} of {len(decision.ranked)} "
          f"recommendations plotted{missing})")
    return EXIT_OK


def _open_table(args: argparse.Namespace) -> tuple[Any, str]:
    """A DynamoDB client and the results table's name (from --table, or the stack's output)."""
    import boto3  # noqa: PLC0415

    from neo_recommender.results import table_from_stack  # noqa: PLC0415

    with _aws_errors():
        session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
        if args.table:
            return session.client("dynamodb"), args.table
        try:
            table = table_from_stack(session.client("cloudformation"), args.stack)
        except LookupError as error:
            raise UsageError(f"{error}; pass --table") from None
        return session.client("dynamodb"), table


@contextmanager
def _aws_errors() -> Iterator[None]:
    """Turn AWS errors (no credentials, no region, missing stack or table) into ``UsageError``."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        yield
    except ClientError as error:
        raise UsageError(f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')} "
                         "(check --table/--stack, --region and your credentials)") from None
    except BotoCoreError as error:
        raise UsageError(f"{error} (check --region and your AWS credentials)") from None


def _validate(args: argparse.Namespace) -> int:
    from neo_recommender.preflight import default_region, validate_files  # noqa: PLC0415

    for path in (args.manifest, args.model, args.payload):
        if path is not None and not path.is_file():
            print(f"neo-recommender validate: {path} is not a file", file=sys.stderr)
            return EXIT_USAGE
    report = validate_files(args.manifest, model=args.model, payload=args.payload,
                            region=args.region or default_region())
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_text())
    return EXIT_OK if report.valid else EXIT_INVALID


def _init(args: argparse.Namespace) -> int:
    from neo_recommender.starter import STARTERS, starter_manifest  # noqa: PLC0415

    try:
        manifest = starter_manifest(args.framework, args.model_name, args.image)
    except ValueError as error:
        print(f"neo-recommender init: {error}", file=sys.stderr)
        return EXIT_USAGE
    text = json.dumps(manifest, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        output = Path(args.output)
        if output.exists() and not args.force:
            print(f"neo-recommender init: {output} exists; use --force to overwrite", file=sys.stderr)
            return EXIT_USAGE
        output.write_text(text, encoding="utf-8")
        print(f"Wrote {output}. Next: neo-recommender validate {output}")
    print(f"Note: {STARTERS[args.framework].hint}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
