"""The ``neo-recommender`` command line.

Exit codes: 0 success (``validate``: valid, warnings allowed), 1 ``validate`` found errors,
2 usage errors (bad arguments, unreadable files).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="neo-recommender",
                                     description="SageMaker Inference Recommender with Neo, as infrastructure.")
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
    rank.add_argument("--max-latency-ms", type=_positive, help="recommend only configurations at most this slow")
    rank.add_argument("--min-invocations", type=_positive, help="recommend only configurations with at least this "
                                                                "many invocations per minute")
    rank.add_argument("--instance-type", action="append", default=[], dest="instance_types",
                      help="allowed instance type (repeatable)")

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


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a subcommand; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from neo_recommender.demo import run_demo  # noqa: PLC0415 - keeps other subcommands free of moto

        return run_demo()
    if args.command == "validate":
        return _validate(args)
    if args.command == "rank":
        return _rank(args)
    return _init(args)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def _rank(args: argparse.Namespace) -> int:
    from neo_runtime.decision import Constraints, decide
    from neo_runtime.formats import decision_rows, render
    from neo_runtime.ranking import Recommendation

    try:
        document = json.loads(args.describe.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"neo-recommender rank: cannot read {args.describe}: {error}", file=sys.stderr)
        return EXIT_USAGE
    items = document.get("InferenceRecommendations") if isinstance(document, dict) else document
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        print(f"neo-recommender rank: {args.describe} has no InferenceRecommendations list "
              "(give the output of describe-inference-recommendations-job)", file=sys.stderr)
        return EXIT_USAGE
    constraints = Constraints(args.max_latency_ms, args.min_invocations, tuple(args.instance_types))
    decision = decide([Recommendation.from_ir(item) for item in items], constraints)
    notes = decision.explanation() + [c.summary() for c in decision.comparisons]
    print(render(decision_rows(decision), args.format, notes))
    return EXIT_OK


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
