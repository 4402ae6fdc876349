"""The ``neo-recommender`` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a subcommand; returns the exit code."""
    parser = argparse.ArgumentParser(prog="neo-recommender",
                                     description="SageMaker Inference Recommender with Neo, as infrastructure.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the whole pipeline on the embedded AWS emulator")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from neo_recommender.demo import run_demo  # noqa: PLC0415 - keeps other subcommands free of moto

        return run_demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
