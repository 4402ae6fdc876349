"""What can go wrong in a command, one exception per exit code (see ``exit_codes``)."""

from __future__ import annotations


class UsageError(Exception):
    """A problem with the command's input (exit 2); the message says what to do."""


class NotOk(Exception):
    """The answer is no (exit 1): nothing found, an invalid submission, a job that did not complete."""


class JobNotCompleted(NotOk):
    """The describe output is of a FAILED, STOPPED or unfinished job (or has nothing to chart)."""


class AwsProblem(Exception):
    """AWS refused the request or could not be reached (exit 3); the message says what to check."""
