"""The ``neo-recommender`` command line: submit a model, follow its run, read and chart its results.

``commands`` parses the arguments and dispatches; each other module does one command's work
(``submit``, ``follow``, ``results``, ``report``, ``chart``, ``preflight``, ``starter``). Exit
codes are listed in ``exit_codes``.
"""

from neo_recommender.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
