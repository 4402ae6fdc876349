"""SageMaker Inference Recommender (IR) simulator that plugs into moto.

moto emulates SageMaker in-process but has no Inference Recommender.  This module adds
``CreateInferenceRecommendationsJob``, ``DescribeInferenceRecommendationsJob``,
``ListInferenceRecommendationsJobSteps``, ``ListInferenceRecommendationsJobs`` and
``StopInferenceRecommendationsJob`` to moto's
``SageMakerResponse`` so that an ordinary boto3 ``sagemaker`` client inside
``moto.mock_aws()`` can drive IR jobs.  Requests are parsed and responses serialized by
moto with botocore's service model, so shapes are checked exactly as for real AWS calls.

How the simulation works:

* Job status is a pure function of a :class:`SimulatedClock`: ``PENDING`` for the first
  60 simulated seconds, ``IN_PROGRESS`` until ``CreationTime + job_duration_seconds``,
  then ``COMPLETED`` (or ``FAILED`` when the :class:`FaultPlan` says so).
* The model package is read from moto's SageMaker backend.  When its first container is
  Neo-eligible (see :func:`neo_eligible`), every Neo-supported instance gets a compiled
  benchmark next to the uncompiled one.
* Metrics are deterministic: variation comes from a hash of the model (its package group)
  and instance type, never from a random generator, so tests and demos can rely on them.
* Results have IR's shapes: recommendations in the order benchmarked (IR does not sort them by cost;
  the pipeline must), a metric IR cannot measure as the string ``"NaN"`` as the JSON protocol sends it
  (``ModelSetupTime`` on instance rows, utilization on serverless rows: the API reference's
  RecommendationMetrics says "NaN indicates that the value is not available"), serverless rows with a
  ``ServerlessConfig`` and no ``InstanceType`` for ``EndpointConfigurations`` that ask for them, and
  compiled rows carrying ``CompilationJobName``.
* Fault injection (failed jobs, failed Neo compilation, throttling, resource limits) is
  driven by a mutable :class:`FaultPlan`.
* With IAM enforcement (``iam``), the role in ``RoleArn`` must exist and trust
  ``sagemaker.amazonaws.com`` (else the create call fails, as SageMaker's does), and everything IR
  does with it (``ir_role``) is authorized: the first refusal fails the job with AWS's message.
  The caller's own ``iam:PassRole`` is authorized with the call itself (a dependent action).
"""

from __future__ import annotations

import collections
import copy
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.serialize import ResponseSerializer
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.utilities.utils import get_partition

from .clock import SimulatedClock
from .ir_role import Benchmark, first_refusal, role_needs
from .prices import (
    DEFAULT_INSTANCE_TYPES,
    ON_DEMAND_PRICES,
    SERVERLESS_MEMORY_SIZES_MB,
    instance_price,
    serverless_price_per_second,
)

CREATE = "CreateInferenceRecommendationsJob"
DESCRIBE = "DescribeInferenceRecommendationsJob"
LIST_STEPS = "ListInferenceRecommendationsJobSteps"
STOP = "StopInferenceRecommendationsJob"
LIST = "ListInferenceRecommendationsJobs"

# API operation -> the SageMakerResponse method moto dispatches it to.
_OPERATIONS: dict[str, str] = {
    CREATE: "create_inference_recommendations_job",
    DESCRIBE: "describe_inference_recommendations_job",
    LIST_STEPS: "list_inference_recommendations_job_steps",
    STOP: "stop_inference_recommendations_job",
    LIST: "list_inference_recommendations_jobs",
}

PENDING_SECONDS = 60.0
#: How long a stalled job (``FaultPlan.stall_jobs``) runs: "forever", as far as any test can tell.
STALLED_SECONDS = 10 * 365 * 86400.0
#: How long a job whose model archive cannot be read takes to fail.
UNREADABLE_MODEL_SECONDS = PENDING_SECONDS + 60.0
"""Simulated seconds a new job stays PENDING (capped at the job duration)."""

MAX_RECOMMENDATIONS = 10
"""botocore's model allows at most 10 InferenceRecommendations; IR returns the cheapest."""

MAX_STEPS_PAGE = 100
"""Page size for ListInferenceRecommendationsJobSteps when MaxResults is not given."""

INSTANCE_COUNT = 1
"""IR benchmarks a single instance per endpoint configuration."""

NEO_INSTANCE_FAMILIES: frozenset[str] = frozenset(
    {"ml.c4", "ml.c5", "ml.m4", "ml.m5", "ml.p2", "ml.p3", "ml.g4dn", "ml.inf1"}
)
"""Instance families Neo can compile for, in the simulator's model."""

NEO_FRAMEWORK_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "XGBOOST": ("1.0", "1.1", "1.2", "1.3"),
    "PYTORCH": ("1.4", "1.5", "1.6", "1.7", "1.8", "1.12", "1.13", "2.0"),
    "TENSORFLOW": ("1.15.3", "2.9"),
    "MXNET": ("1.8.0",),
    "ONNX": ("1.7.0",),
    "KERAS": ("2.2.4",),
}
"""Framework -> versions Neo compiles.  A two-part entry also accepts patch/build suffixes."""

XGBOOST_IMAGE_ACCOUNTS: Mapping[str, str] = {
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
    "ca-central-1": "341280168497",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-south-1": "720646828776",
    "sa-east-1": "737474898029",
}
"""Region -> account of the SageMaker first-party XGBoost (1.0+) container registry."""

DLC_IMAGE_ACCOUNT = "763104351884"
"""Account of the AWS Deep Learning Containers registry (PyTorch, TensorFlow, MXNet, ...)."""

SAGEMAKER_IMAGE_ACCOUNTS: frozenset[str] = frozenset(XGBOOST_IMAGE_ACCOUNTS.values()) | {
    DLC_IMAGE_ACCOUNT
}
"""Registry accounts whose images the simulator treats as SageMaker-owned."""

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
)
_VERSION = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)(?P<rest>[.-].*)?$")
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")

# Relative throughput of instance families (GPU/Inferentia >> burstable CPU).  Only the
# shape of the numbers matters: bigger/faster instances serve more, cost more.
_FAMILY_SPEED: Mapping[str, float] = {
    "ml.t2": 0.55,
    "ml.m4": 0.8,
    "ml.c4": 0.85,
    "ml.m5": 1.0,
    "ml.r5": 0.95,
    "ml.c5": 1.1,
    "ml.m6i": 1.1,
    "ml.c6i": 1.2,
    "ml.p2": 1.6,
    "ml.g4dn": 2.0,
    "ml.inf1": 2.2,
    "ml.g5": 2.4,
    "ml.p3": 2.6,
}
_INVOCATIONS_PER_VCPU_MINUTE = 850.0
_BASE_LATENCY_MS = 60.0


@dataclass
class FaultPlan:
    """What the simulator should get wrong, so tests can drive failure paths.

    Job and compilation faults are keyed by model package group name (the package name
    for unversioned packages) and are looked up the first time a job is observed finished
    (describe, list steps or ``jobs()``); the outcome is then frozen for that job.
    """

    fail_jobs: dict[str, str] = field(default_factory=dict)
    """Group name -> FailureReason; that group's jobs end FAILED."""
    fail_compilation: dict[str, str] = field(default_factory=dict)
    """Group name -> reason; compiled benchmark steps FAIL, no compiled recommendations."""
    throttle: dict[str, int] = field(default_factory=dict)
    """Operation name -> number of next calls answered with ThrottlingException."""
    resource_limit: int = 0
    """Next N CreateInferenceRecommendationsJob calls answered with ResourceLimitExceeded."""
    stall_jobs: set[str] = field(default_factory=set)
    """Group names whose jobs never finish (they run until stopped)."""
    replay: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Group name -> a recorded DescribeInferenceRecommendationsJob output: a COMPLETED job of that group
    returns its ``InferenceRecommendations`` and ``EndpointPerformances`` as the service would send them: the
    members the Developer Guide prints under other names are renamed to the API's (see ``_API_NAMES``), and
    the response serializer drops any other key the API does not have."""


def neo_eligible(container: dict[str, Any], package: dict[str, Any]) -> tuple[bool, str]:
    """Decide whether Neo could compile `container` of `package` (the simulator's rule).

    Args:
        container: a ModelPackageContainerDefinition (normally the package's first one).
        package: a DescribeModelPackage-shaped dict holding ``InferenceSpecification``;
            a bare InferenceSpecification dict is accepted too.

    Returns:
        ``(True, "")`` when eligible, else ``(False, reason)``.
    """
    spec = package.get("InferenceSpecification", package) or {}
    problem = (
        _framework_problem(container)
        or _image_problem(container.get("Image"))
        or _data_input_problem(container.get("ModelInput"))
        or (None if container.get("NearestModelName") else "container has no NearestModelName")
        or (
            None
            if spec.get("SupportedContentTypes")
            else "InferenceSpecification has no SupportedContentTypes"
        )
    )
    if problem:
        return False, problem
    return True, ""


def _framework_problem(container: Mapping[str, Any]) -> str | None:
    """Why the container's Framework/FrameworkVersion is not Neo-compilable, if it is not."""
    framework = container.get("Framework")
    if not framework:
        return "container has no Framework"
    if framework != framework.upper():
        return f"Framework {framework!r} must be upper case"
    supported = NEO_FRAMEWORK_VERSIONS.get(framework)
    if supported is None:
        return f"Framework {framework} is not supported by Neo"
    version = container.get("FrameworkVersion")
    if not version:
        return "container has no FrameworkVersion"
    if not _version_supported(version, supported):
        return (
            f"{framework} version {version} is not supported by Neo "
            f"(supported: {', '.join(supported)})"
        )
    return None


def _version_supported(version: str, supported: tuple[str, ...]) -> bool:
    """True if `version` equals a listed version or extends a listed major.minor."""
    if version in supported:
        return True
    match = _VERSION.match(version)
    if match is None:
        return False
    major_minor = f"{int(match['major'])}.{int(match['minor'])}"
    return any(entry.count(".") == 1 and entry == major_minor for entry in supported)


def _image_problem(image: str | None) -> str | None:
    """Why `image` is not a SageMaker-owned ECR image, if it is not."""
    if not image:
        return "container has no Image"
    match = _ECR_IMAGE.match(image)
    if match is None:
        return f"Image {image!r} is not an ECR image URI"
    if match["account"] not in SAGEMAKER_IMAGE_ACCOUNTS:
        return f"Image {image!r} is not in a SageMaker-owned registry (account {match['account']})"
    return None


def _data_input_problem(model_input: Mapping[str, Any] | None) -> str | None:
    """Why ModelInput.DataInputConfig is unusable for Neo, if it is."""
    data_input = (model_input or {}).get("DataInputConfig")
    if not data_input:
        return "container has no ModelInput.DataInputConfig"
    try:
        json.loads(data_input)
    except ValueError as error:
        return f"ModelInput.DataInputConfig is not valid JSON ({error})"
    return None


@dataclass(frozen=True)
class _BenchmarkPlan:
    """One endpoint configuration the job benchmarks (decided at create time)."""

    instance_type: str | None
    compiled: bool
    benchmark_id: str  # deterministic, unique within the job
    serverless: tuple[int, int] | None = None
    """``(MemorySizeInMB, MaxConcurrency)`` of a serverless benchmark (no instance type)."""
    environment: tuple[tuple[str, str], ...] = ()
    """One combination of an Advanced job's ``EnvironmentParameterRanges`` (empty: IR tunes OMP_NUM_THREADS)."""

    @property
    def neo_name(self) -> str:
        """Name of the Neo compilation (and compiled inference specification)."""
        return f"neo-{self.benchmark_id}"


@dataclass(frozen=True)
class _Outcome:
    """How a finished job turned out; frozen the first time the job is seen finished."""

    failure_reason: str | None
    compilation_failure: str | None


@dataclass
class _Job:
    """Everything the simulator keeps about one job."""

    account: str
    region: str
    name: str
    arn: str
    job_type: str
    role_arn: str
    input_config: dict[str, Any]
    description: str | None
    stopping_conditions: dict[str, Any] | None
    output_config: dict[str, Any] | None
    tags: list[dict[str, str]]
    package_arn: str
    fault_key: str
    neo_eligible: bool
    neo_reason: str
    benchmarks: tuple[_BenchmarkPlan, ...]
    creation_time: datetime
    duration_seconds: float
    stop_time: datetime | None = None
    stop_reported: bool = False
    outcome: _Outcome | None = None

    @property
    def pending_seconds(self) -> float:
        """Length of the PENDING phase (never longer than the job itself)."""
        return min(PENDING_SECONDS, self.duration_seconds)

    @property
    def completion_time(self) -> datetime:
        """When the job finishes unless stopped."""
        return self.creation_time + timedelta(seconds=self.duration_seconds)


_FINISHED = frozenset({"COMPLETED", "FAILED", "STOPPED"})


class InferenceRecommenderSimulator:
    """In-process Inference Recommender for moto, with a simulated clock and fault injection.

    Use as a context manager (or call :meth:`install` / :meth:`uninstall`) around code
    that talks to SageMaker through boto3 inside ``moto.mock_aws()``.  Job state is
    kept per simulator instance, keyed by (account, region, JobName), and guarded by a
    lock because callers (e.g. Step Functions executions) may run in several threads.
    """

    def __init__(
        self,
        clock: SimulatedClock,
        job_duration_seconds: float = 45 * 60,
        faults: FaultPlan | None = None,
    ) -> None:
        """Create a simulator; it does nothing until installed.

        Args:
            clock: source of simulated time for job progress and timestamps.
            job_duration_seconds: simulated duration of jobs created from now on.
            faults: failures to inject; mutable, may be changed between calls.
        """
        self.clock = clock
        self.job_duration_seconds = job_duration_seconds
        self.faults = faults if faults is not None else FaultPlan()
        self.calls: collections.Counter[str] = collections.Counter()
        #: Model package group -> simulated duration of its jobs, overriding ``job_duration_seconds``.
        self.durations: dict[str, float] = {}
        #: Job name -> (simulated, real epoch) time a Describe or List call first reported it COMPLETED.
        self.first_reported_completed: dict[str, tuple[datetime, float]] = {}
        #: IAM enforcement of the emulated account (``EmbeddedAws`` sets it): IR's use of the job's role is checked.
        self.iam: Any = None
        self._jobs: dict[tuple[str, str, str], _Job] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ install

    def install(self) -> None:
        """Patch the IR operations onto moto's SageMakerResponse; idempotent.

        This instance becomes the active simulator (the one answering requests).
        """
        _install(self)

    def uninstall(self) -> None:
        """Stop answering requests; restores SageMakerResponse when no simulator is left."""
        _uninstall(self)

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.uninstall()

    # ------------------------------------------------------------ introspection

    def finish_stalled(self, group: str) -> None:
        """The stalled jobs of a model package group (``FaultPlan.stall_jobs``) finish now, as planned jobs do."""
        with self._lock:
            self.faults.stall_jobs.discard(group)
            now = self.clock.now()
            for job in self._jobs.values():
                if job.fault_key == group and job.duration_seconds == STALLED_SECONDS and job.stop_time is None:
                    job.duration_seconds = max(job.pending_seconds, (now - job.creation_time).total_seconds())

    def jobs(self) -> list[dict[str, Any]]:
        """Snapshot of all created jobs, in creation order, with their status as of now."""
        with self._lock:
            now = self.clock.now()
            return [
                {
                    "JobName": job.name,
                    "JobArn": job.arn,
                    "JobType": job.job_type,
                    "AccountId": job.account,
                    "Region": job.region,
                    "ModelPackageVersionArn": job.package_arn,
                    "Status": self._status(job, now, observe_stop=False),
                    "CreationTime": job.creation_time,
                    "NeoEligible": job.neo_eligible,
                    "NeoIneligibleReason": job.neo_reason,
                    "InstanceTypes": _unique(plan.instance_type for plan in job.benchmarks if plan.instance_type),
                    "OutputConfig": copy.deepcopy(job.output_config),
                }
                for job in self._jobs.values()
            ]

    # ----------------------------------------------------------------- dispatch

    def handle(self, operation: str, response: SageMakerResponse) -> ActionResult:
        """Answer one IR request that moto dispatched to SageMakerResponse."""
        handlers: dict[str, Callable[[SageMakerResponse], ActionResult]] = {
            CREATE: self._create,
            DESCRIBE: self._describe,
            LIST_STEPS: self._list_steps,
            STOP: self._stop,
            LIST: self._list,
        }
        with self._lock:
            self.calls[operation] += 1
            self._inject_call_faults(operation)
            return handlers[operation](response)

    def _inject_call_faults(self, operation: str) -> None:
        """Raise a throttling / resource-limit error if the fault plan asks for one."""
        remaining = self.faults.throttle.get(operation, 0)
        if remaining > 0:
            self.faults.throttle[operation] = remaining - 1
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        if operation == CREATE and self.faults.resource_limit > 0:
            self.faults.resource_limit -= 1
            raise JsonRESTError(
                "ResourceLimitExceeded",
                "The account-level service limit for concurrent Inference Recommender "
                "jobs has been exceeded.",
            )

    # ------------------------------------------------------------------- create

    def _create(self, response: SageMakerResponse) -> ActionResult:
        account, region = response.current_account, response.region
        name: str = response._get_param("JobName")
        input_config: dict[str, Any] = response._get_param("InputConfig") or {}
        package_arn = input_config.get("ModelPackageVersionArn")
        if not package_arn:
            raise _validation_error(
                "The Inference Recommender simulator supports model-package jobs only: "
                "InputConfig.ModelPackageVersionArn is required."
            )
        if (account, region, name) in self._jobs:
            raise JsonRESTError("ResourceInUse", f"Job {name} already exists")
        role_arn = str(response._get_param("RoleArn") or "")
        self._check_role(role_arn)
        package = _find_package(account, region, package_arn)
        spec = package.get("InferenceSpecification") or {}
        containers = spec.get("Containers") or []
        if not containers:
            raise _validation_error(
                f"Model package {package_arn} has no InferenceSpecification containers."
            )
        eligible, neo_reason = neo_eligible(containers[0], package)
        instance_types, serverless = _endpoint_choices(input_config, spec)
        _check_specification_names(input_config, package)
        fault_key = package.get("ModelPackageGroupName") or package["ModelPackageName"]
        benchmarks = _plan_benchmarks(name, instance_types, eligible, serverless,
                                      _environment_combinations(input_config))
        refused = self._role_refusal(response, containers[0], package, benchmarks)
        unreadable = refused or _unreadable_model(account, containers[0].get("ModelDataUrl"))
        duration = (UNREADABLE_MODEL_SECONDS if unreadable else
                    STALLED_SECONDS if fault_key in self.faults.stall_jobs
                    else float(self.durations.get(fault_key, self.job_duration_seconds)))
        job = _Job(
            account=account,
            region=region,
            name=name,
            arn=_job_arn(account, region, name),
            job_type=response._get_param("JobType"),
            role_arn=response._get_param("RoleArn"),
            input_config=copy.deepcopy(input_config),
            description=response._get_param("JobDescription"),
            stopping_conditions=response._get_param("StoppingConditions"),
            output_config=response._get_param("OutputConfig"),
            tags=response._get_param("Tags") or [],
            package_arn=package_arn,
            fault_key=fault_key,
            neo_eligible=eligible,
            neo_reason=neo_reason,
            benchmarks=benchmarks,
            creation_time=self.clock.now(),
            duration_seconds=duration,
            # IR copies the model when the job starts: one that cannot be read fails the job early.
            outcome=_Outcome(unreadable, None) if unreadable else None,
        )
        self._jobs[(account, region, name)] = job
        return ActionResult({"JobArn": job.arn})

    def _check_role(self, role_arn: str) -> None:
        """What SageMaker checks of ``RoleArn`` before it creates the job."""
        # botocore's model: RoleArn matches arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+ (checked by the
        # service, not by botocore).
        if not _ROLE_ARN.fullmatch(role_arn):
            raise _validation_error(f"1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy "
                                    "constraint: Member must satisfy regular expression pattern: " + _ROLE_ARN.pattern)
        if self.iam is not None and not self.iam.check_assume_role(role_arn, "sagemaker.amazonaws.com").allowed:
            raise _validation_error(f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
                                    "principal 'sagemaker.amazonaws.com' to assume the role.")

    def _role_refusal(self, response: SageMakerResponse, container: dict[str, Any], package: dict[str, Any],
                      benchmarks: tuple[_BenchmarkPlan, ...]) -> str | None:
        """The FailureReason of a job whose role may not do something IR does with it (None: it may do all)."""
        if self.iam is None:
            return None
        job = {"RoleArn": response._get_param("RoleArn"), "InputConfig": response._get_param("InputConfig") or {},
               "OutputConfig": response._get_param("OutputConfig") or {}}
        planned = [Benchmark(f"sm-epc-{plan.benchmark_id}", plan.neo_name if plan.compiled else None)
                   for plan in benchmarks]
        needs = role_needs(job, container, package["ModelPackageArn"], package.get("SamplePayloadUrl"), planned,
                           self.iam)
        return first_refusal(self.iam, job["RoleArn"], needs)

    # ----------------------------------------------------------------- describe

    def _describe(self, response: SageMakerResponse) -> ActionResult:
        job = self._get_job(response)
        status = self._reported(job, self._status(job, self.clock.now(), observe_stop=True))
        result: dict[str, Any] = {
            "JobName": job.name,
            "JobType": job.job_type,
            "JobArn": job.arn,
            "RoleArn": job.role_arn,
            "Status": status,
            "CreationTime": job.creation_time,
            "LastModifiedTime": self._last_modified(job, status),
            "InputConfig": copy.deepcopy(job.input_config),
        }
        if job.description is not None:
            result["JobDescription"] = job.description
        if job.stopping_conditions:
            result["StoppingConditions"] = copy.deepcopy(job.stopping_conditions)
        if status in _FINISHED:
            result["CompletionTime"] = job.stop_time or job.completion_time
        if status == "FAILED":
            result["FailureReason"] = self._outcome(job).failure_reason
        if status == "COMPLETED" and job.fault_key in self.faults.replay:
            result.update(_replayed(self.faults.replay[job.fault_key]))
        elif status == "COMPLETED":
            recommendations = self._recommendations(job)
            result["InferenceRecommendations"] = recommendations
            if job.input_config.get("Endpoints"):  # only jobs that benchmark existing endpoints report these
                result["EndpointPerformances"] = _endpoint_performances(job, recommendations)
        return ActionResult(result)

    # --------------------------------------------------------------- list steps

    def _list_steps(self, response: SageMakerResponse) -> ActionResult:
        job = self._get_job(response)
        steps = self._steps(job, self._status(job, self.clock.now(), observe_stop=False))
        wanted_status = response._get_param("Status")
        if wanted_status:
            steps = [step for step in steps if step["Status"] == wanted_status]
        wanted_type = response._get_param("StepType")
        if wanted_type:
            steps = [step for step in steps if step["StepType"] == wanted_type]
        start = _decode_token(response._get_param("NextToken"), len(steps))
        page_size = response._get_param("MaxResults") or MAX_STEPS_PAGE
        end = start + page_size
        result: dict[str, Any] = {"Steps": steps[start:end]}
        if end < len(steps):
            result["NextToken"] = str(end)
        return ActionResult(result)

    # --------------------------------------------------------------------- stop

    def _stop(self, response: SageMakerResponse) -> ActionResult:
        job = self._get_job(response)
        now = self.clock.now()
        status = self._status(job, now, observe_stop=False)
        if status in _FINISHED:
            raise _validation_error(f"Job {job.name} is {status} and cannot be stopped.")
        if job.stop_time is None:  # stopping an already STOPPING job is a no-op
            job.stop_time = now
        return EmptyResult()

    # --------------------------------------------------------------------- list

    def _list(self, response: SageMakerResponse) -> ActionResult:
        """The account's jobs in the region, filtered, sorted and paged as the API documents."""
        now = self.clock.now()
        rows = []
        for (account, region, _), job in self._jobs.items():
            if (account, region) != (response.current_account, response.region):
                continue
            status = self._reported(job, self._status(job, now, observe_stop=True))
            row: dict[str, Any] = {
                "JobName": job.name, "JobDescription": job.description or "", "JobType": job.job_type,
                "JobArn": job.arn, "Status": status, "CreationTime": job.creation_time,
                "RoleArn": job.role_arn, "LastModifiedTime": self._last_modified(job, status),
                "ModelPackageVersionArn": job.package_arn,
            }
            if status in _FINISHED:
                row["CompletionTime"] = job.stop_time or job.completion_time
            if status == "FAILED":
                row["FailureReason"] = self._outcome(job).failure_reason
            if _listed(row, response):
                rows.append(row)
        sort_key = {"Name": "JobName", "Status": "Status"}.get(response._get_param("SortBy"), "CreationTime")
        rows.sort(key=lambda row: row[sort_key], reverse=response._get_param("SortOrder") != "Ascending")
        start = _decode_token(response._get_param("NextToken"), len(rows))
        end = start + (response._get_param("MaxResults") or MAX_STEPS_PAGE)
        result: dict[str, Any] = {"InferenceRecommendationsJobs": rows[start:end]}
        if end < len(rows):
            result["NextToken"] = str(end)
        return ActionResult(result)

    # ------------------------------------------------------------------ helpers

    def _get_job(self, response: SageMakerResponse) -> _Job:
        name = response._get_param("JobName")
        job = self._jobs.get((response.current_account, response.region, name))
        if job is None:
            raise JsonRESTError("ResourceNotFound", f"Job {name} does not exist.")
        return job

    def _status(self, job: _Job, now: datetime, *, observe_stop: bool) -> str:
        """Job status at `now`; `observe_stop` lets a describe move STOPPING to STOPPED."""
        if job.stop_time is not None:
            if job.stop_reported:
                return "STOPPED"
            job.stop_reported = observe_stop
            return "STOPPING"
        elapsed = (now - job.creation_time).total_seconds()
        if elapsed < job.pending_seconds:
            return "PENDING"
        if elapsed < job.duration_seconds:
            return "IN_PROGRESS"
        return "FAILED" if self._outcome(job).failure_reason else "COMPLETED"

    def _reported(self, job: _Job, status: str) -> str:
        """Note the first time a job is reported COMPLETED; return the status."""
        if status == "COMPLETED" and job.name not in self.first_reported_completed:
            self.first_reported_completed[job.name] = (self.clock.now(), time.time())
        return status

    def _outcome(self, job: _Job) -> _Outcome:
        """Apply the fault plan the first time a job is seen finished, then keep it."""
        if job.outcome is None:
            has_compiled = any(plan.compiled for plan in job.benchmarks)
            job.outcome = _Outcome(
                failure_reason=self.faults.fail_jobs.get(job.fault_key),
                compilation_failure=(
                    self.faults.fail_compilation.get(job.fault_key) if has_compiled else None
                ),
            )
        return job.outcome

    def _last_modified(self, job: _Job, status: str) -> datetime:
        if status in ("STOPPING", "STOPPED"):
            assert job.stop_time is not None
            return job.stop_time
        if status == "PENDING":
            return job.creation_time
        if status == "IN_PROGRESS":
            return job.creation_time + timedelta(seconds=job.pending_seconds)
        return job.completion_time

    def _recommendations(self, job: _Job) -> list[dict[str, Any]]:
        """Successful benchmarks as InferenceRecommendations, in the order they were benchmarked.

        The API returns at most 10; the simulator keeps the 10 cheapest per inference, in benchmark order.
        """
        compilation_failed = self._outcome(job).compilation_failure is not None
        rows = [
            _recommendation(job, plan, index)
            for index, plan in enumerate(job.benchmarks)
            if not (plan.compiled and compilation_failed)
        ]
        kept = {id(row) for row in sorted(rows, key=lambda row: row["Metrics"]["CostPerInference"])[
            :MAX_RECOMMENDATIONS]}
        return [row for row in rows if id(row) in kept]

    def _steps(self, job: _Job, status: str) -> list[dict[str, Any]]:
        """One BENCHMARK step per planned benchmark, as far as the job has got."""
        if status == "PENDING" or (
            job.stop_time is not None
            and job.stop_time < job.creation_time + timedelta(seconds=job.pending_seconds)
        ):
            return []  # nothing was benchmarked yet
        if status in ("IN_PROGRESS", "STOPPING", "STOPPED"):
            step_status = "IN_PROGRESS" if status == "IN_PROGRESS" else "STOPPED"
            return [_step(job, step_status, _configuration(job, plan)) for plan in job.benchmarks]
        outcome = self._outcome(job)
        return [
            self._finished_step(job, plan, index, outcome)
            for index, plan in enumerate(job.benchmarks)
        ]

    def _finished_step(
        self, job: _Job, plan: _BenchmarkPlan, index: int, outcome: _Outcome
    ) -> dict[str, Any]:
        if outcome.failure_reason:
            return _step(job, "FAILED", _configuration(job, plan), outcome.failure_reason)
        if plan.compiled and outcome.compilation_failure:
            reason = f"Compilation job {plan.neo_name} failed: {outcome.compilation_failure}"
            return _step(job, "FAILED", _configuration(job, plan), reason)
        row = _recommendation(job, plan, index)
        benchmark = {
            "Metrics": row["Metrics"],
            "EndpointMetrics": {
                "MaxInvocations": row["Metrics"]["MaxInvocations"],
                "ModelLatency": row["Metrics"]["ModelLatency"],
            },
            "EndpointConfiguration": row["EndpointConfiguration"],
            "ModelConfiguration": row["ModelConfiguration"],
            "InvocationStartTime": row["InvocationStartTime"],
            "InvocationEndTime": row["InvocationEndTime"],
        }
        return {
            "StepType": "BENCHMARK",
            "JobName": job.name,
            "Status": "COMPLETED",
            "InferenceBenchmark": benchmark,
        }


# --------------------------------------------------------------------------- jobs


def _listed(row: dict[str, Any], response: SageMakerResponse) -> bool:
    """Whether a job passes ListInferenceRecommendationsJobs' filters."""
    for parameter, field_name, after in (("CreationTimeAfter", "CreationTime", True),
                                         ("CreationTimeBefore", "CreationTime", False),
                                         ("LastModifiedTimeAfter", "LastModifiedTime", True),
                                         ("LastModifiedTimeBefore", "LastModifiedTime", False)):
        bound = response._get_param(parameter)
        if bound is None:
            continue
        bound = _as_datetime(bound)
        if (row[field_name] <= bound) if after else (row[field_name] >= bound):
            return False
    name = response._get_param("NameContains")
    status = response._get_param("StatusEquals")
    package = response._get_param("ModelPackageVersionArnEquals")
    return ((not name or name in row["JobName"]) and (not status or row["Status"] == status)
            and (not package or row["ModelPackageVersionArn"] == package))


def _as_datetime(value: Any) -> datetime:
    """A timestamp parameter as moto hands it over (epoch seconds, ISO text or datetime), in UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _validation_error(message: str) -> JsonRESTError:
    return JsonRESTError("ValidationException", message)


def _unreadable_model(account: str, model_data_url: str | None) -> str | None:
    """IR's failure reason when the model archive is missing from its (emulated) bucket, e.g. deleted after upload.

    A bucket the emulator does not hold is not checked (simulator tests use made-up URLs).
    """
    if not model_data_url or not model_data_url.startswith("s3://"):
        return None
    bucket, _, key = model_data_url[len("s3://"):].partition("/")
    try:
        found = s3_backends[account][get_partition("us-east-1")].get_object(bucket, key)
    except Exception:  # noqa: BLE001 - moto raises its own missing-bucket errors
        return None
    if found is None:
        return (f"ClientError: Could not download the model data from {model_data_url}. "
                "Check that the object exists and that the role can read it.")
    return None


def _job_arn(account: str, region: str, name: str) -> str:
    partition = get_partition(region)
    return (
        f"arn:{partition}:sagemaker:{region}:{account}:inference-recommendations-job/{name.lower()}"
    )


def _find_package(account: str, region: str, package_arn: str) -> dict[str, Any]:
    """Fetch a model package from moto's SageMaker backend as a DescribeModelPackage dict."""
    backend = sagemaker_backends[account][region]
    package = backend.model_packages.get(package_arn)  # moto keys packages by ARN
    if package is None:
        raise _validation_error(f"Model package {package_arn} does not exist.")
    return {
        "ModelPackageArn": package.arn,
        "ModelPackageName": package.model_package_name,
        "ModelPackageGroupName": package.model_package_group_name,
        "InferenceSpecification": package.inference_specification,
        "SamplePayloadUrl": package.sample_payload_url,
    }


def _endpoint_choices(input_config: Mapping[str, Any], spec: Mapping[str, Any]
                      ) -> tuple[list[str], list[tuple[int, int]]]:
    """What to benchmark: the job's EndpointConfigurations (instance types and serverless configurations),
    else the package's instance types, else the defaults."""
    endpoint_configs = input_config.get("EndpointConfigurations") or []
    serverless: list[tuple[int, int]] = []
    if endpoint_configs:
        types = []
        for config in endpoint_configs:
            if config.get("InstanceType"):
                types.append(config["InstanceType"])
            elif config.get("ServerlessConfig"):
                memory = int(config["ServerlessConfig"]["MemorySizeInMB"])
                if memory not in SERVERLESS_MEMORY_SIZES_MB:
                    raise _validation_error(f"MemorySizeInMB {memory} is not one of {SERVERLESS_MEMORY_SIZES_MB}.")
                serverless.append((memory, int(config["ServerlessConfig"]["MaxConcurrency"])))
            else:
                raise _validation_error("Each EndpointConfigurations item needs InstanceType or ServerlessConfig.")
    else:
        types = list(spec.get("SupportedRealtimeInferenceInstanceTypes") or DEFAULT_INSTANCE_TYPES)
    unknown = [t for t in types if t not in ON_DEMAND_PRICES]
    if unknown:
        raise _validation_error(
            f"The Inference Recommender simulator has no price for instance types {unknown}."
        )
    return _unique(types), list(dict.fromkeys(serverless))


def _check_specification_names(input_config: Mapping[str, Any], package: Mapping[str, Any]) -> None:
    """An EndpointConfigurations[].InferenceSpecificationName must name one of the package's additional
    inference specifications (API reference, EndpointInputConfiguration.InferenceSpecificationName)."""
    known = {spec.get("Name") for spec in package.get("AdditionalInferenceSpecifications") or []}
    for config in input_config.get("EndpointConfigurations") or []:
        name = config.get("InferenceSpecificationName")
        if name is not None and name not in known:
            raise _validation_error(f"Inference specification {name} does not exist in model package "
                                    f"{package.get('ModelPackageArn')}.")


def _environment_combinations(input_config: Mapping[str, Any]) -> dict[str, list[tuple[tuple[str, str], ...]]]:
    """Instance type -> every combination of its EnvironmentParameterRanges' values (IR benchmarks each)."""
    combinations: dict[str, list[tuple[tuple[str, str], ...]]] = {}
    for config in input_config.get("EndpointConfigurations") or []:
        ranges = (config.get("EnvironmentParameterRanges") or {}).get("CategoricalParameterRanges") or []
        if config.get("InstanceType") and ranges:
            names = [item["Name"] for item in ranges]
            combinations[config["InstanceType"]] = [tuple(zip(names, values, strict=True)) for values in
                                                    itertools.product(*(item["Value"] for item in ranges))]
    return combinations


def _plan_benchmarks(
    job_name: str, instance_types: list[str], neo_ok: bool, serverless: Sequence[tuple[int, int]] = (),
    environments: Mapping[str, list[tuple[tuple[str, str], ...]]] | None = None,
) -> tuple[_BenchmarkPlan, ...]:
    """Uncompiled benchmark per instance (per environment combination), plus a compiled one where Neo applies;
    one per serverless configuration (Neo compiles for instances, not for serverless endpoints)."""
    plans = []
    for instance_type in instance_types:
        for environment in (environments or {}).get(instance_type) or [()]:
            tried = "".join(f"|{key}={value}" for key, value in environment)
            plans.append(_BenchmarkPlan(instance_type, False, _short_id(job_name, instance_type + tried, "base"),
                                        environment=environment))
            if neo_ok and _family(instance_type) in NEO_INSTANCE_FAMILIES:
                plans.append(_BenchmarkPlan(instance_type, True, _short_id(job_name, instance_type + tried, "neo"),
                                            environment=environment))
    for memory, concurrency in serverless:
        plans.append(_BenchmarkPlan(None, False, _short_id(job_name, f"serverless-{memory}", "base"),
                                    (memory, concurrency)))
    return tuple(plans)


def _decode_token(token: str | None, total: int) -> int:
    """Offset encoded in a NextToken we issued."""
    if not token:
        return 0
    if not token.isdigit() or int(token) > total:
        raise _validation_error(f"Invalid NextToken {token!r}.")
    return int(token)


# ------------------------------------------------------------------------ results


def _family(instance_type: str) -> str:
    """'ml.c5.xlarge' -> 'ml.c5'."""
    return instance_type.rsplit(".", 1)[0]


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _short_id(*parts: str) -> str:
    return _digest(*parts)[:10]


def _unit(*parts: str) -> float:
    """Deterministic pseudo-random number in [0, 1) derived from `parts`."""
    return int(_digest(*parts)[:13], 16) / float(16**13)


#: (where, printed name) -> the API's member. The Developer Guide's examples print ``MaximumInvocations``
#: (results page), ``MemorySizeInMb`` (serverless example) and an existing endpoint's ``EndpointConfiguration``
#: (EndpointPerformance has ``EndpointInfo``); the service sends the API's names.
_API_NAMES = {("Metrics", "MaximumInvocations"): "MaxInvocations",
              ("ServerlessConfig", "MemorySizeInMb"): "MemorySizeInMB",
              ("EndpointPerformances", "EndpointConfiguration"): "EndpointInfo"}


def _renamed(mapping: dict[str, Any], where: str) -> None:
    for (place, printed), api_name in _API_NAMES.items():
        if place == where and printed in mapping and api_name not in mapping:
            mapping[api_name] = mapping.pop(printed)


def _replayed(document: Mapping[str, Any]) -> dict[str, Any]:
    """The result lists of a recorded describe output, timestamps as datetimes for the response serializer."""
    replayed = {}
    for name in ("InferenceRecommendations", "EndpointPerformances"):
        if name in document:
            rows = copy.deepcopy(list(document[name]))
            for row in rows:
                _renamed(row, name)
                _renamed(row.get("Metrics") or {}, "Metrics")
                _renamed((row.get("EndpointConfiguration") or {}).get("ServerlessConfig") or {}, "ServerlessConfig")
                for stamp in ("InvocationStartTime", "InvocationEndTime"):
                    if isinstance(row.get(stamp), str):
                        row[stamp] = datetime.fromisoformat(row[stamp].replace("Z", "+00:00"))
            replayed[name] = rows
    return replayed


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _configuration(job: _Job, plan: _BenchmarkPlan) -> dict[str, Any]:
    """EndpointConfiguration and ModelConfiguration of one benchmark."""
    endpoint: dict[str, Any] = {"EndpointName": f"sm-epc-{plan.benchmark_id}",
                                "VariantName": f"sm-epc-variant-{plan.benchmark_id}"}
    if plan.serverless is not None:
        memory, concurrency = plan.serverless
        endpoint["ServerlessConfig"] = {"MemorySizeInMB": memory, "MaxConcurrency": concurrency}
        return {"EndpointConfiguration": endpoint, "ModelConfiguration": {}}
    assert plan.instance_type is not None
    vcpus = instance_price(plan.instance_type).vcpus
    tried = plan.environment or (("OMP_NUM_THREADS", str(vcpus)),)  # like IR, tune the thread pool to the vCPUs
    model_configuration: dict[str, Any] = {
        "EnvironmentParameters": [{"Key": key, "ValueType": "string", "Value": value} for key, value in tried],
    }
    if plan.compiled:
        model_configuration["InferenceSpecificationName"] = plan.neo_name
        model_configuration["CompilationJobName"] = plan.neo_name
    endpoint.update(InstanceType=plan.instance_type, InitialInstanceCount=INSTANCE_COUNT)
    return {"EndpointConfiguration": endpoint, "ModelConfiguration": model_configuration}


#: What IR reports as NaN ("not available", RecommendationMetrics in the API reference), as the JSON protocol
#: sends it: a string.
NAN = "NaN"


def _metrics(model_key: str, plan: _BenchmarkPlan) -> dict[str, Any]:
    """Deterministic RecommendationMetrics; a compiled twin is faster than its original.

    Seeded by the model (its package group) and instance type, so the same model gets the
    same numbers in every job, as a real model would measure roughly the same. ``ModelSetupTime``
    ("the time it takes to launch new compute resources for a serverless endpoint") is NaN on instance
    rows; a serverless row has no instance whose CPU and memory IR could measure.
    """
    if plan.serverless is not None:
        return _serverless_metrics(model_key, *plan.serverless)
    assert plan.instance_type is not None
    price = instance_price(plan.instance_type)
    seed = (model_key, plan.instance_type, *(f"{key}={value}" for key, value in plan.environment))
    speed = _FAMILY_SPEED.get(_family(plan.instance_type), 1.0)
    invocations = price.vcpus * _INVOCATIONS_PER_VCPU_MINUTE * speed
    invocations *= 0.85 + 0.3 * _unit(*seed, "throughput")
    latency = _BASE_LATENCY_MS / speed * (0.85 + 0.3 * _unit(*seed, "latency"))
    variant = "neo" if plan.compiled else "base"
    if plan.compiled:
        invocations *= 1.15 + 0.45 * _unit(*seed, "neo-throughput")
        latency *= 0.6 + 0.25 * _unit(*seed, "neo-latency")
    max_invocations = max(1, round(invocations))
    cost_per_hour = price.hourly_usd * INSTANCE_COUNT
    return {
        "CostPerHour": cost_per_hour,
        "CostPerInference": cost_per_hour / (max_invocations * 60),
        "MaxInvocations": max_invocations,
        "ModelLatency": max(1, round(latency)),
        "CpuUtilization": round(50.0 + 40.0 * _unit(*seed, variant, "cpu"), 2),
        "MemoryUtilization": round(15.0 + 45.0 * _unit(*seed, variant, "memory"), 2),
        "ModelSetupTime": NAN,
    }


def _serverless_metrics(model_key: str, memory_mb: int, concurrency: int) -> dict[str, Any]:
    """A serverless endpoint's metrics at ``MaxConcurrency`` 1 (as IR measures them, per "Get your inference
    recommendation job results"): throughput from latency, cost from the per-second price of its memory size."""
    seed = (model_key, f"serverless-{memory_mb}")
    latency = _BASE_LATENCY_MS * 1.4 * (2048 / memory_mb) ** 0.3 * (0.85 + 0.3 * _unit(*seed, "latency"))
    max_invocations = max(1, round(60_000 / latency))
    cost_per_hour = serverless_price_per_second(memory_mb) * 3600
    return {
        "CostPerHour": cost_per_hour,
        "CostPerInference": cost_per_hour / (max_invocations * 60),
        "MaxInvocations": max_invocations,
        "ModelLatency": max(1, round(latency)),
        "CpuUtilization": NAN,
        "MemoryUtilization": NAN,
        "ModelSetupTime": 2_000_000 + int(3_000_000 * _unit(*seed, "setup")),  # microseconds
    }


def _recommendation(job: _Job, plan: _BenchmarkPlan, index: int) -> dict[str, Any]:
    """InferenceRecommendation for the `index`-th benchmark of `job`."""
    # Benchmarks run one after another in the IN_PROGRESS phase of the job.
    running = job.duration_seconds - job.pending_seconds
    slot = running / max(1, len(job.benchmarks))
    start = job.creation_time + timedelta(seconds=job.pending_seconds + index * slot)
    return {
        "RecommendationId": f"{job.name}/{plan.benchmark_id[:8]}",
        "Metrics": _metrics(job.fault_key, plan),
        **_configuration(job, plan),
        "InvocationStartTime": start,
        "InvocationEndTime": start + timedelta(seconds=slot * 0.9),
    }


def _step(
    job: _Job, status: str, configuration: dict[str, Any], failure_reason: str | None = None
) -> dict[str, Any]:
    """A BENCHMARK step without metrics (in progress, stopped or failed)."""
    benchmark = dict(configuration)
    if failure_reason:
        benchmark["FailureReason"] = failure_reason
    return {
        "StepType": "BENCHMARK",
        "JobName": job.name,
        "Status": status,
        "InferenceBenchmark": benchmark,
    }


def _endpoint_performances(
    job: _Job, recommendations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Advanced jobs report the load test of the (single) endpoint they measured."""
    if not recommendations:
        return []
    best = recommendations[0]
    endpoints = job.input_config.get("Endpoints") or []
    endpoint_name = (
        endpoints[0]["EndpointName"]
        if endpoints and endpoints[0].get("EndpointName")
        else best["EndpointConfiguration"]["EndpointName"]
    )
    return [
        {
            "Metrics": {
                "MaxInvocations": best["Metrics"]["MaxInvocations"],
                "ModelLatency": best["Metrics"]["ModelLatency"],
            },
            "EndpointInfo": {"EndpointName": endpoint_name},
        }
    ]


# ---------------------------------------------------------------- moto patching

_MISSING = object()
_registry_lock = threading.Lock()
_installed: list[InferenceRecommenderSimulator] = []  # install order; the last one is active
_originals: dict[str, Any] = {}
_serializer_originals: dict[str, Any] = {}


def peak_concurrency(jobs: list[dict[str, Any]]) -> int:
    """Most jobs running at once, from ``DescribeInferenceRecommendationsJob`` outputs (``CreationTime`` to
    ``CompletionTime``; a job not yet ended counts as ended when it was created). A job ending as another starts
    at the same instant is not counted with it."""
    events = sorted([(job["CreationTime"], 1) for job in jobs]
                    + [(job.get("CompletionTime") or job["CreationTime"], -1) for job in jobs],
                    key=lambda event: (event[0], event[1]))
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def active_simulator() -> InferenceRecommenderSimulator | None:
    """The simulator currently answering IR requests, if any."""
    with _registry_lock:
        return _installed[-1] if _installed else None


def _make_handler(operation: str, method_name: str) -> Callable[[SageMakerResponse], Any]:
    """A SageMakerResponse method that forwards `operation` to the active simulator."""

    def handler(self: SageMakerResponse) -> ActionResult:
        simulator = active_simulator()
        if simulator is None:  # uninstalled while a request was in flight
            raise JsonRESTError("InternalFailure", "Inference Recommender simulator is gone")
        return simulator.handle(operation, self)

    # moto finds actions with inspect.isfunction on the class, so this must be a plain
    # function attribute named exactly like the snake_case action.
    handler.__name__ = method_name
    handler.__qualname__ = f"SageMakerResponse.{method_name}"
    handler.__doc__ = f"{operation}, answered by the active InferenceRecommenderSimulator."
    return handler


def _wire_nan(original: Callable[..., None]) -> Callable[..., None]:
    """moto's serializer writes a number member with ``float()``/``int()``; AWS's JSON protocol sends a value that is
    not a number as the string ``"NaN"`` (Smithy's awsJson1_1 "Shape serialization"), and so does this."""
    def serialize(serializer: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            serializer._default_serialize(serialized, value, shape, key)
        else:
            original(serializer, serialized, value, shape, key)
    return serialize


def _install(simulator: InferenceRecommenderSimulator) -> None:
    with _registry_lock:
        if not _installed:
            for operation, method_name in _OPERATIONS.items():
                _originals[method_name] = SageMakerResponse.__dict__.get(method_name, _MISSING)
                setattr(SageMakerResponse, method_name, _make_handler(operation, method_name))
            for member in ("_serialize_type_float", "_serialize_type_integer"):
                _serializer_originals[member] = getattr(ResponseSerializer, member)
                setattr(ResponseSerializer, member, _wire_nan(_serializer_originals[member]))
        if simulator in _installed:
            _installed.remove(simulator)
        _installed.append(simulator)


def _uninstall(simulator: InferenceRecommenderSimulator) -> None:
    with _registry_lock:
        if simulator not in _installed:
            return
        _installed.remove(simulator)
        if _installed:
            return  # an earlier simulator becomes active again
        for method_name, original in _originals.items():
            if original is _MISSING:
                delattr(SageMakerResponse, method_name)
            else:
                setattr(SageMakerResponse, method_name, original)
        _originals.clear()
        for member, original in _serializer_originals.items():
            setattr(ResponseSerializer, member, original)
        _serializer_originals.clear()
