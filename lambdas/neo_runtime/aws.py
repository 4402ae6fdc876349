"""boto3 clients shared by the handlers of one Lambda container."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from neo_runtime.errors import TransientAwsError

#: Error codes of throttling and transient failures, as botocore's standard retry mode classifies them.
TRANSIENT_ERROR_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout",
    "RequestTimeoutException", "InternalError", "InternalServerError", "InternalFailure",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalServerException",
})

# Standard retry mode backs off with jitter on throttling and transient errors.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="neo-recommender",
)


@cache
def _client(service: str, region: str | None) -> Any:
    return boto3.client(service, region_name=region, config=_CLIENT_CONFIG)


def client(service: str) -> Any:
    """A client for ``service`` in the function's region, created once per container."""
    return _client(service, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


def reset_clients() -> None:
    """Forget cached clients (tests switch regions and emulators)."""
    _client.cache_clear()


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError, e.g. ``ConditionalCheckFailedException``."""
    return str(error.response.get("Error", {}).get("Code", ""))


def is_transient(error: Exception) -> bool:
    """Throttling, a 5xx answer, or a broken connection: worth trying the whole step again later."""
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(error) in TRANSIENT_ERROR_CODES or status >= 500
    return isinstance(error, (ConnectionError, HTTPClientError))


def retried_when_transient(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Report an AWS error that outlasted boto3's retries as ``TransientAwsError``.

    The state machine retries that error name with a long backoff; other errors keep their own
    names and go to the failure path.
    """
    @functools.wraps(handler)
    def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        try:
            return handler(event, context)
        except (ClientError, ConnectionError, HTTPClientError) as error:
            if not is_transient(error):
                raise
            operation = getattr(error, "operation_name", None) or "a request"
            raise TransientAwsError(f"{operation} failed after retries: {error}") from error

    return handle
