"""boto3 clients shared by the handlers of one Lambda container."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

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
