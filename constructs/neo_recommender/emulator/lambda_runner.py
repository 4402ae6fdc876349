"""Run Lambda functions in-process: moto's Docker-free Lambda backend calls the real handler.

The handler named in the function's ``Handler`` is called with the event, in the function's
environment. Its code is the function's own code package (the zip moto received from the
deployed template): every file the handler can load is checked to be in the package and byte for
byte the file this process imports, and a package lacking one fails the way Lambda does. A
handler that raises answers the way Lambda does: an ``Unhandled`` function error whose payload
carries ``errorType`` and ``errorMessage``, which Step Functions turns into the error name its
Catch and Retry rules match.

With a simulated clock, the deployed code's ``neo_runtime.clock.utc_now`` reads it, so run
deadlines pass in simulated time as the IR simulator's jobs do.

With IAM enforcement, the handler acts as the function's role (every AWS call it makes is authorized
against that role's policies), and each invocation's log and trace delivery is authorized as Lambda
does it with the same role: a role that may not write its log group or send traces loses them, as in
AWS, and the emulator records the denial.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.botocore_stubber import BotocoreStubber

from neo_recommender.emulator.lambda_logging import LoggingConfig, RuntimeLogging
from neo_recommender.import_closure import closure
from neo_recommender.lambda_code import runtime_package_dir

if TYPE_CHECKING:
    from neo_recommender.emulator.clock import SimulatedClock
    from neo_recommender.emulator.iam_enforcement import IamEnforcement

# Handlers share module state (cached clients, boto3's default session): one invocation at a time.
_INVOKE_LOCK = threading.RLock()
#: The AWS calls of the invocation running in this thread (``_counting_calls``).
_calls_of_invocation = threading.local()


class LambdaContext:
    """The parts of the Lambda context object handlers may read."""

    def __init__(self, function: Any) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = function.memory_size
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's remaining-time API; in-process there is no deadline to report."""
        return 300_000


@dataclass(frozen=True)
class Invocation:
    """One invocation: which function; when (simulated time, if a clock was given, and real epoch seconds);
    how long (real seconds); the AWS calls it made (``"dynamodb.PutItem"`` -> count); and the thread that
    invoked it (Step Functions' task or EventBridge's delivery: ``threading.get_ident``)."""

    function_name: str
    module: str
    at: datetime | None
    started: float
    seconds: float
    failed: bool
    calls: dict[str, int]
    thread: int = 0
    #: Real seconds it waited for the invocation before it to end (the emulator runs one at a time).
    queued: float = 0.0


class InProcessLambdas:
    """Replaces moto's simple Lambda ``invoke`` with a call of the real handler."""

    def __init__(self, clock: SimulatedClock | None = None, iam: IamEnforcement | None = None) -> None:
        self.clock = clock
        self.iam = iam
        #: Function name -> the log group Lambda writes its logs to (its LoggingConfig).
        self.function_log_groups: dict[str, str] = {}
        #: Functions with active X-Ray tracing: Lambda sends their traces with the function's role.
        self.traced_functions: set[str] = set()
        #: Function name -> its LoggingConfig (format, application and system log levels).
        self.function_logging: dict[str, LoggingConfig] = {}
        #: What the runtime writes for each function (``RuntimeLogging.lines``).
        self.logging = RuntimeLogging()
        self.invocations: Counter[str] = Counter()
        #: Every invocation, in order.
        self.records: list[Invocation] = []
        #: Handler module (e.g. ``"check_job"``) -> how many of its next invocations raise (None: all).
        self.crashes: dict[str, int | None] = {}
        #: Handler module -> a callable run before each of its invocations (to change the world mid-run).
        self.before_invoke: dict[str, Callable[[], None]] = {}
        #: Handler module -> a callable run after each of its invocations succeeds, before its caller has the answer.
        self.after_invoke: dict[str, Callable[[], None]] = {}
        self._code_dirs: dict[str, Path] = {}
        self._checked: set[Path] = set()
        self._tmp = tempfile.TemporaryDirectory(prefix="neo-recommender-lambda-")
        self._original: Callable[..., Any] | None = None
        self._clock_module: Any = None
        self._real_utc_now: Callable[[], datetime] | None = None

    def install(self) -> None:
        """Patch moto's Docker-free Lambda backend (and count each invocation's AWS calls)."""
        if self._original is not None:
            return
        _InvocationEnvironment.install()
        self.logging.install()
        self._original_stubber = BotocoreStubber.__call__
        original_stubber = self._original_stubber

        def count_call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            calls = getattr(_calls_of_invocation, "calls", None)
            if calls is not None:
                _, service, operation = (event_name.split(".") + ["", ""])[:3]
                calls[f"{service}.{operation}"] += 1
                if (service, operation) == ("dynamodb", "BatchWriteItem"):  # items written, for request units
                    batches = json.loads(request.body or b"{}").get("RequestItems", {}).values()
                    calls["dynamodb.BatchWriteItem.items"] += sum(len(batch) for batch in batches)
            return original_stubber(stubber, event_name, request, **kwargs)

        BotocoreStubber.__call__ = count_call  # type: ignore[method-assign]
        self._original = LambdaSimpleBackend.invoke
        runner = self

        def invoke(backend: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any,
                   headers: Any, response_headers: Any) -> bytes:
            function = backend.get_function(function_name, qualifier)
            return runner.invoke(function, body, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    def uninstall(self) -> None:
        """Restore moto's own behaviour and delete extracted code."""
        if self._original is not None:
            LambdaSimpleBackend.invoke = self._original  # type: ignore[method-assign]
            BotocoreStubber.__call__ = self._original_stubber  # type: ignore[method-assign]
            self._original = None
            _InvocationEnvironment.uninstall()
            self.logging.uninstall()
        if self._clock_module is not None:
            self._clock_module.utc_now = self._real_utc_now
            self._clock_module = None
        self._tmp.cleanup()

    def invoke(self, function: Any, body: Any, response_headers: dict[str, str]) -> bytes:
        """Run one invocation and return the response payload."""
        event = json.loads(body) if body else {}
        self.invocations[function.handler] += 1
        module = function.handler.rsplit(".", 2)[-2]
        context = LambdaContext(function)
        config = self.function_logging.get(function.function_name, LoggingConfig())
        waited: list[float] = []
        with (_acquired(_INVOKE_LOCK, waited), _environment(self.environment_of(function)), _counting_calls() as calls,
              self._acting_as_role(function),
              self.logging.invocation(function.function_name, context.aws_request_id, config)):
            started, at, failed = time.perf_counter(), self.clock.now() if self.clock else None, False
            started_epoch = time.time()
            try:
                if module in self.before_invoke:  # a test changing the world: the account owner acts, not the role
                    from neo_recommender.emulator.iam_enforcement import acting_as

                    with acting_as(None):
                        self.before_invoke[module]()
                self._crash_if_planned(module)
                result = self._handler_of(function)(event, context)
                payload = json.dumps(result)
                if module in self.after_invoke:
                    from neo_recommender.emulator.iam_enforcement import acting_as

                    with acting_as(None):
                        self.after_invoke[module]()
            except Exception as error:  # noqa: BLE001 - reported to the caller, as Lambda does
                failed = True
                self.logging.unhandled(error)
                response_headers["x-amz-function-error"] = "Unhandled"
                payload = json.dumps({
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                })
            self.records.append(Invocation(function.function_name, module, at, started_epoch,
                                           time.perf_counter() - started, failed, dict(calls),
                                           threading.get_ident(), waited[0]))
        self._deliver_logs_and_traces(function)
        return payload.encode("utf-8")

    def _acting_as_role(self, function: Any) -> Any:
        from contextlib import nullcontext

        from neo_recommender.emulator.iam_enforcement import acting_as, role_principal

        if self.iam is None:
            return nullcontext()
        return acting_as(role_principal(function.role, function.function_name))

    def _deliver_logs_and_traces(self, function: Any) -> None:
        """What Lambda does with the function's role after each invocation: write its logs and send its traces
        (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html#monitoring-cloudwatchlogs-
        prereqs, https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html#services-xray-permissions)."""
        if self.iam is None:
            return
        from neo_recommender.emulator.iam_enforcement import role_principal
        from neo_recommender.emulator.iam_requests import plain_request

        group = self.function_log_groups.get(function.function_name, f"/aws/lambda/{function.function_name}")
        stream = f"arn:aws:logs:{function.region}:{self.iam.account}:log-group:{group}:log-stream:emulated"
        requests = [plain_request("logs:CreateLogStream", (stream,)), plain_request("logs:PutLogEvents", (stream,))]
        if function.function_name in self.traced_functions:
            requests += [plain_request("xray:PutTraceSegments", ("*",)),
                         plain_request("xray:PutTelemetryRecords", ("*",))]
        principal = role_principal(function.role, function.function_name)
        for request in requests:
            self.iam.check(principal, [request], delivered=False)

    def _crash_if_planned(self, module: str) -> None:
        if module not in self.crashes:
            return
        remaining = self.crashes[module]
        if remaining is not None:
            if remaining <= 0:
                return
            self.crashes[module] = remaining - 1
        raise RuntimeError(f"injected fault: {module} raised")

    def environment_of(self, function: Any) -> dict[str, str]:
        """The function's variables and those Lambda sets for its runtime (region, name, log format and level)."""
        return {
            **{key: str(value) for key, value in function.environment_vars.items()},
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            **self.function_logging.get(function.function_name, LoggingConfig()).environment(),
        }

    def _handler_of(self, function: Any) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = function.handler.rpartition(".")
        code_dir = self._code_dir(function)
        if code_dir not in self._checked:
            checked = (hashlib.sha256(function.code_bytes).hexdigest(), module_name)
            if checked not in _PACKAGES_CHECKED:  # the same code and handler, checked in an earlier emulator
                check_code_package(function.function_name, code_dir, module_name)
                _PACKAGES_CHECKED.add(checked)
            self._checked.add(code_dir)
        module = importlib.import_module(module_name)
        self._use_simulated_clock()
        return getattr(module, attribute)

    def _use_simulated_clock(self) -> None:
        """Let the deployed code's ``neo_runtime.clock`` read the simulated clock (undone by ``uninstall``)."""
        clock_module = sys.modules.get("neo_runtime.clock")
        if self.clock is None or clock_module is None or self._clock_module is not None:
            return
        self._clock_module, self._real_utc_now = clock_module, clock_module.utc_now
        clock_module.utc_now = self.clock.now

    def _code_dir(self, function: Any) -> Path:
        digest = hashlib.sha256(function.code_bytes).hexdigest()
        if digest not in self._code_dirs:
            target = Path(self._tmp.name) / digest
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(target)
            self._code_dirs[digest] = target
        return self._code_dirs[digest]


#: (SHA-256 of a code package, handler module) pairs ``check_code_package`` passed in this process: the check's result
#: depends only on them and on the running files, which do not change while it runs.
_PACKAGES_CHECKED: set[tuple[str, str]] = set()


def check_code_package(function_name: str, code_dir: Path, module_name: str) -> None:
    """Fail as Lambda would if the function's code package lacks a module its handler imports, and make
    sure the files this process runs for it are byte for byte the ones in the package.

    Every handler runs in this one process, so the modules are loaded once, from wherever
    ``neo_runtime`` is importable (the checkout's ``lambdas/`` or the installed wheel), rather than
    once per function as in separate Lambda runtimes. Each function's package is
    checked for everything its handler can load, lazy imports included (``import_closure``).
    """
    needed = closure(code_dir, module_name)
    if needed.missing:
        raise RuntimeError(f"{function_name}: Runtime.ImportModuleError: its code package lacks "
                           f"{', '.join(needed.missing)}, which {module_name} imports")
    running_root = runtime_package_dir().parent
    for name in needed.files:
        running = running_root / name
        if running.read_bytes() != (code_dir / name).read_bytes():
            raise RuntimeError(f"{function_name}: {running} differs from {name} in the deployed code package; "
                               "synthesize again")


class _InvocationEnvironment(MutableMapping[str, str]):
    """``os.environ`` as each thread sees it: the process's variables plus those of the function it runs.

    Executions run in threads. Setting a function's variables in the process environment and
    removing them afterwards races with other threads reading it: creating a boto3 client iterates
    ``os.environ`` (proxy settings), and a key removed mid-iteration raises ``KeyError`` there.
    Here nothing global changes during an invocation; the function's variables live in a
    thread-local overlay that only the invoking thread sees.
    """

    _local = threading.local()

    def __init__(self, process_environment: MutableMapping[str, str]) -> None:
        self.process_environment = process_environment

    @classmethod
    def install(cls) -> None:
        if not isinstance(os.environ, cls):
            os.environ = cls(os.environ)  # type: ignore[assignment]  # noqa: B003 - nothing is cleared

    @classmethod
    def uninstall(cls) -> None:
        if isinstance(os.environ, cls):
            os.environ = os.environ.process_environment  # type: ignore[assignment]  # noqa: B003

    @classmethod
    def overlay(cls) -> dict[str, str]:
        return getattr(cls._local, "values", None) or {}

    @classmethod
    def set_overlay(cls, values: dict[str, str] | None) -> None:
        cls._local.values = values

    def __getitem__(self, key: str) -> str:
        overlay = self.overlay()
        return overlay[key] if key in overlay else self.process_environment[key]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """``os.environ.get`` without raising ``KeyError`` inside (moto reads settings this way on every request)."""
        overlay = self.overlay()
        return overlay[key] if key in overlay else self.process_environment.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.overlay() or key in self.process_environment

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self.overlay()
        if key in overlay:
            overlay[key] = value
        else:
            self.process_environment[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = self.overlay()
        if key in overlay:
            del overlay[key]
        else:
            del self.process_environment[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._snapshot())

    def _snapshot(self) -> dict[str, str]:
        """The variables this thread sees, read once: another thread (pytest, between tests) may remove
        a process variable meanwhile, and iterating ``items()`` must not then raise ``KeyError``."""
        values: dict[str, str] = {}
        for key in list(self.process_environment):
            value = self.process_environment.get(key)
            if value is not None:
                values[key] = value
        return {**values, **self.overlay()}

    def items(self) -> ItemsView[str, str]:  # type: ignore[override]
        return self._snapshot().items()

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        return self._snapshot().keys()

    def values(self) -> ValuesView[str]:  # type: ignore[override]
        return self._snapshot().values()

    def __len__(self) -> int:
        return len(set(self.process_environment) | set(self.overlay()))

    def copy(self) -> dict[str, str]:
        """What ``os.environ.copy()`` returns: a plain dict."""
        return self._snapshot()


@contextmanager
def _acquired(lock: Any, waited: list[float]) -> Iterator[None]:
    """Hold ``lock``; append to ``waited`` how long acquiring it took."""
    entered = time.perf_counter()
    with lock:
        waited.append(time.perf_counter() - entered)
        yield


@contextmanager
def _counting_calls() -> Iterator[Counter[str]]:
    """Count the AWS calls this thread makes meanwhile (nested invocations keep their own counts)."""
    saved = getattr(_calls_of_invocation, "calls", None)
    calls: Counter[str] = Counter()
    _calls_of_invocation.calls = calls
    try:
        yield calls
    finally:
        _calls_of_invocation.calls = saved


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The function's variables, visible to the invoking thread only (see ``_InvocationEnvironment``)."""
    saved = _InvocationEnvironment.overlay()
    _InvocationEnvironment.set_overlay(dict(values))
    try:
        yield
    finally:
        _InvocationEnvironment.set_overlay(saved or None)
