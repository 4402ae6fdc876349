"""Errors the emulated AWS answers the pipeline's own calls with, for fault-injection tests.

A fault names one operation (``("dynamodb", "BatchWriteItem")``, service as botocore's event
names spell it) and how many of its next calls fail (or all of them). The answer is a real
HTTP error response in the service's protocol, so botocore parses it, boto3's retry mode sees
a throttle or a 5xx, and the handler gets the ``ClientError`` it would get from AWS.

Only the pipeline's calls are hit: those carrying its user agent (``neo-recommender``), and
Step Functions' and EventBridge's calls of the Lambda functions. The test's own calls are not.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

#: How each service says "slow down": error code and HTTP status.
THROTTLING = {"s3": ("SlowDown", 503), "sns": ("Throttling", 400), "lambda": ("TooManyRequestsException", 429),
              "dynamodb": ("ThrottlingException", 400), "sagemaker": ("ThrottlingException", 400),
              "sqs": ("ThrottlingException", 400), "sfn": ("ThrottlingException", 400)}
#: Error-response formats of the services whose protocol is not JSON.
_PROTOCOLS = {"s3": "rest-xml", "sns": "query", "lambda": "rest-json"}


@dataclass
class _Fault:
    code: str
    status: int
    remaining: int | None  # None: every call


class AwsFaults:
    """Planned errors per operation; install around an emulator (``EmbeddedAws`` does)."""

    def __init__(self) -> None:
        self.injected: Counter[tuple[str, str]] = Counter()
        self._faults: dict[tuple[str, str], _Fault] = {}
        self._lock = threading.Lock()
        self._original: Callable[..., Any] | None = None

    def throttle(self, service: str, operation: str, times: int = 3) -> None:
        """Answer the next ``times`` calls of the operation with the service's throttling error."""
        code, status = THROTTLING.get(service, ("ThrottlingException", 400))
        self.fail(service, operation, code, status, times)

    def fail(self, service: str, operation: str, code: str = "InternalFailure", status: int = 500,
             times: int | None = None) -> None:
        """Answer the next ``times`` calls (None: all of them) with ``code`` and HTTP ``status``."""
        with self._lock:
            self._faults[(service, operation)] = _Fault(code, status, times)

    def clear(self) -> None:
        """Forget every planned fault."""
        with self._lock:
            self._faults.clear()

    def install(self) -> None:
        """Answer planned faults before moto sees the request."""
        if self._original is not None:
            return
        self._original = BotocoreStubber.__call__
        original, faults = self._original, self

        def answer(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
            if stubber.enabled:
                response = faults._answer(event_name, request)
                if response is not None:
                    return response
            return original(stubber, event_name, request, **kwargs)

        BotocoreStubber.__call__ = answer  # type: ignore[method-assign]

    def uninstall(self) -> None:
        """Restore moto."""
        if self._original is not None:
            BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]
            self._original = None

    def _answer(self, event_name: str, request: Any) -> AWSResponse | None:
        _, service, operation = (event_name.split(".") + ["", ""])[:3]
        if service != "lambda" and "neo-recommender" not in str(request.headers.get("User-Agent", "")):
            return None
        with self._lock:
            fault = self._faults.get((service, operation))
            if fault is None or fault.remaining == 0:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
            self.injected[(service, operation)] += 1
        headers, body = _error_response(service, fault.code)
        return AWSResponse(request.url, fault.status, headers, MockRawResponse(body))  # type: ignore[arg-type]


def _error_response(service: str, code: str) -> tuple[dict[str, str], bytes]:
    message = f"injected fault: {code}"
    protocol = _PROTOCOLS.get(service, "json")
    if protocol == "rest-xml":
        return {"Content-Type": "application/xml"}, (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
            "<RequestId>fault</RequestId></Error>").encode()
    if protocol == "query":
        return {"Content-Type": "text/xml"}, (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault</RequestId></ErrorResponse>").encode()
    return ({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code},
            json.dumps({"__type": code, "message": message}).encode())
