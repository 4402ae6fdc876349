"""The per-thread environment the Lambda runner installs as ``os.environ``.

CI once failed here: a schedule thread created a boto3 client (which reads ``os.environ.items()``
for proxy settings) while pytest removed ``PYTEST_CURRENT_TEST`` between tests, and the lookup of
a key listed a moment before raised ``KeyError``.
"""

from __future__ import annotations

import threading

from neo_recommender.emulator.lambda_runner import _InvocationEnvironment


class _RemovingAfterListing(dict):  # type: ignore[type-arg]
    """A process environment from which another thread removes a key right after it is listed."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        keys = list(super().__iter__())
        self.pop("PYTEST_CURRENT_TEST", None)
        return iter(keys)


def test_items_survive_a_variable_removed_meanwhile() -> None:
    environment = _InvocationEnvironment(_RemovingAfterListing(HOME="/root", PYTEST_CURRENT_TEST="t (call)"))

    assert dict(environment.items()) == {"HOME": "/root"}


def test_a_thread_sees_its_function_variables_and_others_do_not() -> None:
    environment = _InvocationEnvironment({"HOME": "/root"})
    seen_elsewhere: list[dict[str, str]] = []
    _InvocationEnvironment.set_overlay({"TABLE_NAME": "results"})
    try:
        thread = threading.Thread(target=lambda: seen_elsewhere.append(environment.copy()))
        thread.start()
        thread.join()
        assert environment.copy() == {"HOME": "/root", "TABLE_NAME": "results"}
    finally:
        _InvocationEnvironment.set_overlay(None)

    assert seen_elsewhere == [{"HOME": "/root"}]
