"""AWS errors that outlast boto3's retries become ``TransientAwsError``, which the state machine retries."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from neo_runtime.aws import is_transient, retried_when_transient
from neo_runtime.errors import TransientAwsError


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutItem")


@pytest.mark.parametrize(("error", "transient"), [
    (_client_error("ThrottlingException"), True),
    (_client_error("ProvisionedThroughputExceededException"), True),
    (_client_error("SlowDown", 503), True),
    (_client_error("AnythingElse", 500), True),
    (EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), True),
    (_client_error("ConditionalCheckFailedException"), False),
    (_client_error("ValidationException"), False),
    (_client_error("AccessDeniedException", 403), False),
])
def test_throttling_5xx_and_lost_connections_are_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_handler_reports_transient_errors_by_name_and_keeps_the_others() -> None:
    @retried_when_transient
    def throttled(event: dict, context: object = None) -> dict:
        raise _client_error("ThrottlingException")

    @retried_when_transient
    def denied(event: dict, context: object = None) -> dict:
        raise _client_error("AccessDeniedException", 403)

    with pytest.raises(TransientAwsError, match="PutItem failed after retries"):
        throttled({})
    with pytest.raises(ClientError):
        denied({})
