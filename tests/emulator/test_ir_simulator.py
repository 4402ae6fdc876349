"""Tests of the Inference Recommender simulator, driven through a real boto3 client in moto."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard
from botocore.validate import ParamValidator
from moto import mock_aws
from moto.iam.models import iam_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from neo_recommender.emulator.clock import SimulatedClock
from neo_recommender.emulator.ir_simulator import (
    FaultPlan,
    InferenceRecommenderSimulator,
    active_simulator,
    neo_eligible,
)
from neo_recommender.emulator.prices import (
    DEFAULT_INSTANCE_TYPES,
    ON_DEMAND_PRICES,
    hourly_price,
)

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/ir-role"
GROUP = "churn-xgboost"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1"
FOREIGN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-xgboost:latest"
NEO_AND_PLAIN = ["ml.c5.xlarge", "ml.m5.xlarge", "ml.c6i.xlarge"]  # c6i is not Neo-supported
JOB_SECONDS = 600
START = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

DESCRIBE = "DescribeInferenceRecommendationsJob"
CREATE = "CreateInferenceRecommendationsJob"
LIST_STEPS = "ListInferenceRecommendationsJobSteps"


class ManualClock(SimulatedClock):
    """A SimulatedClock that only moves when told to, for exact state-machine tests."""

    def __init__(self) -> None:
        super().__init__(speedup=1.0, start=START)
        self._now = START

    def now(self) -> datetime:
        return self._now

    def sleep(self, simulated_seconds: float) -> None:
        self._now += timedelta(seconds=simulated_seconds)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mocked_client() -> Iterator[Any]:
    """One moto session and client for the module: starting either costs ~0.1 s each."""
    with mock_aws():
        yield boto3.client(
            "sagemaker", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
        )


@pytest.fixture
def sm(mocked_client: Any) -> Any:
    """A botocore-validated SageMaker client inside moto, without retries, on a clean backend."""
    for account_backends in sagemaker_backends.values():
        account_backends.reset()
    return mocked_client


@pytest.fixture
def sim() -> Iterator[InferenceRecommenderSimulator]:
    """An installed simulator on a manual clock."""
    with InferenceRecommenderSimulator(ManualClock(), job_duration_seconds=JOB_SECONDS) as s:
        yield s


def container(**overrides: Any) -> dict[str, Any]:
    """A Neo-eligible XGBoost ModelPackageContainerDefinition."""
    base: dict[str, Any] = {
        "Image": XGBOOST_IMAGE,
        "ModelDataUrl": "s3://models-bucket/churn/model.tar.gz",
        "Framework": "XGBOOST",
        "FrameworkVersion": "1.2.0",
        "NearestModelName": "xgboost",
        "ModelInput": {"DataInputConfig": '{"data": [1, 50]}'},
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def register_package(
    sm: Any,
    group: str = GROUP,
    instance_types: list[str] | None = None,
    **container_overrides: Any,
) -> str:
    """Register a model package group (if needed) and one package version; return its ARN."""
    with contextlib.suppress(ClientError):  # the group may exist from an earlier call
        sm.create_model_package_group(ModelPackageGroupName=group)
    spec: dict[str, Any] = {
        "Containers": [container(**container_overrides)],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    if instance_types:
        spec["SupportedRealtimeInferenceInstanceTypes"] = instance_types
    return sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec)[
        "ModelPackageArn"
    ]


def create_job(sm: Any, name: str, package_arn: str, **extra: Any) -> str:
    input_config = {"ModelPackageVersionArn": package_arn, **extra.pop("InputConfig", {})}
    return sm.create_inference_recommendations_job(
        JobName=name,
        JobType=extra.pop("JobType", "Default"),
        RoleArn=ROLE_ARN,
        InputConfig=input_config,
        **extra,
    )["JobArn"]


def describe(sm: Any, name: str) -> dict[str, Any]:
    response = sm.describe_inference_recommendations_job(JobName=name)
    assert_matches_model(sm, DESCRIBE, response)
    return response


def list_steps(sm: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    response = sm.list_inference_recommendations_job_steps(JobName=name, **kwargs)
    assert_matches_model(sm, LIST_STEPS, response)
    return response


def assert_matches_model(sm: Any, operation: str, response: dict[str, Any]) -> None:
    """Check a parsed response against botocore's output shape (required keys, ranges)."""
    shape = sm.meta.service_model.operation_model(operation).output_shape
    body = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    report = ParamValidator().validate(_without_wire_nan(body), shape)
    assert not report.has_errors(), report.generate_report()


def _without_wire_nan(value: Any) -> Any:
    """The response with IR's "NaN" metrics left out: the JSON protocol sends a value that is not a number as that
    string (RecommendationMetrics: "NaN indicates that the value is not available"), which botocore hands over
    unchanged and its validator, written for requests, would call a type error."""
    if isinstance(value, dict):
        return {k: _without_wire_nan(v) for k, v in value.items() if v != "NaN"}
    if isinstance(value, list):
        return [_without_wire_nan(v) for v in value]
    return value


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return info.value.response["Error"]["Code"]


def is_compiled(row: dict[str, Any]) -> bool:
    return "CompilationJobName" in row["ModelConfiguration"]


# ------------------------------------------------------------------------- clock


def test_clock_runs_speedup_times_faster_than_real_time() -> None:
    clock = SimulatedClock(speedup=5000)
    before = clock.now()
    clock.sleep(50)  # 10 ms real
    elapsed = (clock.now() - before).total_seconds()
    assert 50 <= elapsed < 50 + 5000 * 0.5
    assert clock.speedup == 5000
    assert clock.real_seconds(1000) == pytest.approx(0.2)
    assert before.tzinfo is not None and before.utcoffset() == timedelta(0)


def test_clock_start_defaults_to_now_and_accepts_naive_utc() -> None:
    real_now = datetime.now(UTC)
    assert abs((SimulatedClock().now() - real_now).total_seconds()) < 1
    naive = SimulatedClock(speedup=1, start=datetime(2024, 1, 1))
    assert naive.now().tzinfo is not None and naive.now().year == 2024
    with pytest.raises(ValueError):
        SimulatedClock(speedup=0)


# ------------------------------------------------------------------------ prices


def test_price_table_covers_the_required_instances() -> None:
    required = {
        "ml.t2.medium", "ml.t2.large", "ml.m4.xlarge", "ml.m4.2xlarge", "ml.m4.4xlarge",
        "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c4.xlarge",
        "ml.c4.2xlarge", "ml.c5.large", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge",
        "ml.c5.9xlarge", "ml.c6i.xlarge", "ml.c6i.2xlarge", "ml.m6i.xlarge", "ml.g4dn.xlarge",
        "ml.g4dn.2xlarge", "ml.p3.2xlarge", "ml.inf1.xlarge",
    }  # fmt: skip
    assert required <= set(ON_DEMAND_PRICES)
    assert set(DEFAULT_INSTANCE_TYPES) <= set(ON_DEMAND_PRICES)
    assert all(
        p.hourly_usd > 0 and p.vcpus > 0 and p.memory_gib > 0 for p in ON_DEMAND_PRICES.values()
    )
    assert hourly_price("ml.c5.xlarge") == ON_DEMAND_PRICES["ml.c5.xlarge"].hourly_usd
    with pytest.raises(KeyError, match=re.escape("ml.x9.huge")):
        hourly_price("ml.x9.huge")


# ------------------------------------------------------------------ eligibility


@pytest.mark.parametrize(
    ("overrides", "content_types", "problem"),
    [
        ({}, ["text/csv"], ""),
        ({"FrameworkVersion": "1.2-1"}, ["text/csv"], ""),
        ({"FrameworkVersion": "1.3.3"}, ["text/csv"], ""),
        ({"FrameworkVersion": "1.5.0"}, ["text/csv"], "not supported by Neo"),
        ({"Framework": "xgboost"}, ["text/csv"], "upper case"),
        ({"Framework": "SKLEARN"}, ["text/csv"], "not supported by Neo"),
        ({"Framework": None}, ["text/csv"], "no Framework"),
        ({"Image": FOREIGN_IMAGE}, ["text/csv"], "SageMaker-owned"),
        ({"Image": "docker.io/library/xgboost:1"}, ["text/csv"], "not an ECR image"),
        ({"ModelInput": None}, ["text/csv"], "DataInputConfig"),
        ({"ModelInput": {"DataInputConfig": "{data: [1"}}, ["text/csv"], "not valid JSON"),
        ({"NearestModelName": None}, ["text/csv"], "NearestModelName"),
        ({}, [], "SupportedContentTypes"),
        (
            {
                "Framework": "PYTORCH",
                "FrameworkVersion": "1.12.1",
                "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.12",
            },
            ["application/x-npy"],
            "",
        ),
        ({"Framework": "PYTORCH", "FrameworkVersion": "1.9"}, ["text/csv"], "not supported"),
        ({"Framework": "TENSORFLOW", "FrameworkVersion": "1.15.3"}, ["text/csv"], ""),
        ({"Framework": "TENSORFLOW", "FrameworkVersion": "1.15.2"}, ["text/csv"], "1.15.2"),
    ],
)
def test_neo_eligible(overrides: dict[str, Any], content_types: list[str], problem: str) -> None:
    package = {"InferenceSpecification": {"SupportedContentTypes": content_types}}
    eligible, reason = neo_eligible(container(**overrides), package)
    assert eligible == (problem == "")
    assert problem in reason
    if eligible:
        assert reason == ""


# -------------------------------------------------------------------- lifecycle


def test_lifecycle_follows_a_fast_real_clock(sm: Any) -> None:
    clock = SimulatedClock(speedup=2000)  # 120 simulated seconds = 60 ms real
    with InferenceRecommenderSimulator(clock, job_duration_seconds=120) as sim:
        arn = create_job(sm, "lifecycle", register_package(sm))
        assert arn == (
            "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/lifecycle"
        )
        created = sim.jobs()[0]["CreationTime"]

        def expected(moment: datetime) -> str:
            elapsed = (moment - created).total_seconds()
            return "PENDING" if elapsed < 60 else "IN_PROGRESS" if elapsed < 120 else "COMPLETED"

        observed = []
        for target in (0, 90, 125):  # simulated seconds after creation
            clock.sleep(target - (clock.now() - created).total_seconds())
            before = clock.now()
            status = describe(sm, "lifecycle")["Status"]
            # The real clock keeps running during the call: accept either side of it.
            assert status in {expected(before), expected(clock.now())}
            observed.append(status)
        assert observed[-1] == "COMPLETED"
        assert observed == sorted(observed, key=["PENDING", "IN_PROGRESS", "COMPLETED"].index)


def test_status_boundaries_and_timestamps(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    create_job(sm, "boundaries", register_package(sm), JobDescription="nightly")
    first = describe(sm, "boundaries")
    assert first["Status"] == "PENDING"
    assert first["JobDescription"] == "nightly"
    assert first["CreationTime"] == START
    assert "CompletionTime" not in first and "InferenceRecommendations" not in first
    assert list_steps(sm, "boundaries")["Steps"] == []

    sim.clock.sleep(59.9)
    assert describe(sm, "boundaries")["Status"] == "PENDING"
    sim.clock.sleep(0.1)
    in_progress = describe(sm, "boundaries")
    assert in_progress["Status"] == "IN_PROGRESS"
    assert in_progress["LastModifiedTime"] == START + timedelta(seconds=60)
    steps = list_steps(sm, "boundaries")["Steps"]
    assert steps and {step["Status"] for step in steps} == {"IN_PROGRESS"}

    sim.clock.sleep(JOB_SECONDS - 60)
    done = describe(sm, "boundaries")
    assert done["Status"] == "COMPLETED"
    assert done["CompletionTime"] == done["LastModifiedTime"] == START + timedelta(seconds=600)
    assert done["InputConfig"] == {
        "ModelPackageVersionArn": sim.jobs()[0]["ModelPackageVersionArn"]
    }


def test_job_duration_is_fixed_at_create_time(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    arn = register_package(sm)
    create_job(sm, "long", arn)
    sim.job_duration_seconds = 120
    create_job(sm, "short", arn)
    sim.clock.sleep(150)
    assert describe(sm, "long")["Status"] == "IN_PROGRESS"
    assert describe(sm, "short")["Status"] == "COMPLETED"


# -------------------------------------------------------------- recommendations


def test_neo_instances_get_compiled_and_uncompiled_recommendations(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    create_job(sm, "neo-job", register_package(sm, instance_types=NEO_AND_PLAIN))
    sim.clock.sleep(JOB_SECONDS)
    rows = describe(sm, "neo-job")["InferenceRecommendations"]

    per_instance: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_instance.setdefault(row["EndpointConfiguration"]["InstanceType"], []).append(row)
    assert {t: len(r) for t, r in per_instance.items()} == {
        "ml.c5.xlarge": 2, "ml.m5.xlarge": 2, "ml.c6i.xlarge": 1,
    }  # fmt: skip

    # IR's order, not sorted by cost: ranking is the pipeline's job (a pre-sorted simulator hid its bugs).
    assert [row["EndpointConfiguration"]["InstanceType"] for row in rows] == [
        "ml.c5.xlarge", "ml.c5.xlarge", "ml.m5.xlarge", "ml.m5.xlarge", "ml.c6i.xlarge"]
    costs = [row["Metrics"]["CostPerInference"] for row in rows]
    assert costs != sorted(costs)
    for row in rows:
        metrics, endpoint = row["Metrics"], row["EndpointConfiguration"]
        assert metrics["CostPerHour"] == pytest.approx(hourly_price(endpoint["InstanceType"]))
        assert metrics["CostPerInference"] == pytest.approx(
            metrics["CostPerHour"] / (metrics["MaxInvocations"] * 60), rel=1e-9
        )
        assert endpoint["InitialInstanceCount"] == 1
        assert endpoint["EndpointName"].startswith("sm-epc-")
        vcpus = ON_DEMAND_PRICES[endpoint["InstanceType"]].vcpus
        assert row["ModelConfiguration"]["EnvironmentParameters"] == [
            {"Key": "OMP_NUM_THREADS", "ValueType": "string", "Value": str(vcpus)}
        ]
        assert row["RecommendationId"].startswith("neo-job/")
        assert row["InvocationStartTime"] < row["InvocationEndTime"]

    for instance_type in ("ml.c5.xlarge", "ml.m5.xlarge"):
        compiled = next(r for r in per_instance[instance_type] if is_compiled(r))
        plain = next(r for r in per_instance[instance_type] if not is_compiled(r))
        assert compiled["ModelConfiguration"]["InferenceSpecificationName"].startswith("neo-")
        assert "InferenceSpecificationName" not in plain["ModelConfiguration"]
        speedup = compiled["Metrics"]["MaxInvocations"] / plain["Metrics"]["MaxInvocations"]
        latency = compiled["Metrics"]["ModelLatency"] / plain["Metrics"]["ModelLatency"]
        assert 1.14 <= speedup <= 1.61
        assert 0.58 <= latency <= 0.87
        assert compiled["Metrics"]["CostPerInference"] < plain["Metrics"]["CostPerInference"]

    # Deterministic: asking again gives the very same numbers.
    assert describe(sm, "neo-job")["InferenceRecommendations"] == rows


def test_ineligible_package_gets_only_uncompiled_recommendations(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    arn = register_package(sm, instance_types=NEO_AND_PLAIN, Image=FOREIGN_IMAGE)
    create_job(sm, "custom-image", arn)
    sim.clock.sleep(JOB_SECONDS)
    rows = describe(sm, "custom-image")["InferenceRecommendations"]
    assert len(rows) == 3 and not any(is_compiled(row) for row in rows)
    assert not sim.jobs()[0]["NeoEligible"]
    assert "SageMaker-owned" in sim.jobs()[0]["NeoIneligibleReason"]


def test_default_instance_types_when_package_lists_none(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    create_job(sm, "defaults", register_package(sm))
    sim.clock.sleep(JOB_SECONDS)
    rows = describe(sm, "defaults")["InferenceRecommendations"]
    assert {row["EndpointConfiguration"]["InstanceType"] for row in rows} == set(
        DEFAULT_INSTANCE_TYPES
    )
    assert sim.jobs()[0]["InstanceTypes"] == list(DEFAULT_INSTANCE_TYPES)
    assert sim.jobs()[0]["NeoEligible"]


def test_recommendations_are_capped_at_the_model_maximum(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    six_neo = ["ml.c5.large", "ml.c5.xlarge", "ml.c5.2xlarge",
               "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge"]  # fmt: skip
    create_job(sm, "many", register_package(sm, instance_types=six_neo))
    sim.clock.sleep(JOB_SECONDS)
    rows = describe(sm, "many")["InferenceRecommendations"]
    assert len(rows) == 10
    assert len(list_steps(sm, "many")["Steps"]) == 12


def test_advanced_job_benchmarks_its_own_endpoint_configurations(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    arn = register_package(sm, instance_types=NEO_AND_PLAIN)
    create_job(
        sm,
        "advanced",
        arn,
        JobType="Advanced",
        InputConfig={
            "EndpointConfigurations": [
                {"InstanceType": "ml.c5.2xlarge"},
                {"InstanceType": "ml.inf1.xlarge"},
            ]
        },
        StoppingConditions={"MaxInvocations": 3000},
    )
    sim.clock.sleep(JOB_SECONDS)
    result = describe(sm, "advanced")
    types = {
        row["EndpointConfiguration"]["InstanceType"] for row in result["InferenceRecommendations"]
    }
    assert types == {"ml.c5.2xlarge", "ml.inf1.xlarge"}
    assert len(result["InferenceRecommendations"]) == 4
    assert result["StoppingConditions"] == {"MaxInvocations": 3000}
    assert "EndpointPerformances" not in result  # only jobs that benchmark existing endpoints (InputConfig.Endpoints)


def test_environment_parameter_ranges_are_each_benchmarked_and_shown(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    # The Developer Guide's Advanced job example tunes OMP_NUM_THREADS over 1, 2 and 4.
    ranges = {"CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["1", "2", "4"]}]}
    create_job(sm, "tuned", register_package(sm, instance_types=NEO_AND_PLAIN), JobType="Advanced",
               InputConfig={"EndpointConfigurations": [{"InstanceType": "ml.c5.xlarge",
                                                        "EnvironmentParameterRanges": ranges}]})
    sim.clock.sleep(JOB_SECONDS)
    rows = describe(sm, "tuned")["InferenceRecommendations"]
    tried = sorted((row["ModelConfiguration"]["EnvironmentParameters"][0]["Value"],
                    "CompilationJobName" in row["ModelConfiguration"]) for row in rows)
    assert tried == [("1", False), ("1", True), ("2", False), ("2", True), ("4", False), ("4", True)]


def test_an_inference_specification_the_package_does_not_have_is_refused(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    arn = register_package(sm)
    with pytest.raises(ClientError, match="Inference specification default does not exist"):
        create_job(sm, "named", arn, JobType="Advanced", InputConfig={"EndpointConfigurations": [
            {"InstanceType": "ml.c5.xlarge", "InferenceSpecificationName": "default"}]})


# ------------------------------------------------------------------------ faults


def test_failed_job(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    sim.faults.fail_jobs[GROUP] = "Benchmark endpoint failed health checks"
    create_job(sm, "doomed", register_package(sm, instance_types=NEO_AND_PLAIN))
    assert describe(sm, "doomed")["Status"] == "PENDING"
    sim.clock.sleep(JOB_SECONDS)
    result = describe(sm, "doomed")
    assert result["Status"] == "FAILED"
    assert result["FailureReason"] == "Benchmark endpoint failed health checks"
    assert result["CompletionTime"] == START + timedelta(seconds=JOB_SECONDS)
    assert "InferenceRecommendations" not in result
    steps = list_steps(sm, "doomed")["Steps"]
    assert steps and {step["Status"] for step in steps} == {"FAILED"}


def test_failed_job_outcome_is_frozen_once_observed(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    create_job(sm, "lucky", register_package(sm))
    sim.clock.sleep(JOB_SECONDS)
    assert describe(sm, "lucky")["Status"] == "COMPLETED"
    sim.faults.fail_jobs[GROUP] = "too late"
    assert describe(sm, "lucky")["Status"] == "COMPLETED"


def test_failed_compilation(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    sim.faults.fail_compilation[GROUP] = "Unsupported operator"
    create_job(sm, "no-neo", register_package(sm, instance_types=NEO_AND_PLAIN))
    sim.clock.sleep(JOB_SECONDS)
    result = describe(sm, "no-neo")
    assert result["Status"] == "COMPLETED"
    rows = result["InferenceRecommendations"]
    assert len(rows) == 3 and not any(is_compiled(row) for row in rows)

    steps = list_steps(sm, "no-neo")["Steps"]
    failed = [s for s in steps if s["Status"] == "FAILED"]
    completed = [s for s in steps if s["Status"] == "COMPLETED"]
    assert len(failed) == 2 and len(completed) == 3
    for step in failed:
        benchmark = step["InferenceBenchmark"]
        name = benchmark["ModelConfiguration"]["CompilationJobName"]
        assert benchmark["FailureReason"] == f"Compilation job {name} failed: Unsupported operator"
        assert "Metrics" not in benchmark
    assert all("Metrics" in step["InferenceBenchmark"] for step in completed)


def test_throttling_is_a_retryable_throttling_error(
    sm: Any, sim: InferenceRecommenderSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_job(sm, "busy", register_package(sm))
    sim.faults.throttle[DESCRIBE] = 3
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            sm.describe_inference_recommendations_job(JobName="busy")
        assert error_code(info) == "ThrottlingException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # botocore's standard retry mode must classify it as throttling and retry it.
    scales: list[float] = []

    def no_wait(self: standard.ExponentialBackoff, context: Any) -> float:
        scales.append(self._get_base_scale(context))
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", no_wait)
    retrying = boto3.client(
        "sagemaker", region_name=REGION, config=Config(retries={"mode": "standard"})
    )
    response = retrying.describe_inference_recommendations_job(JobName="busy")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert scales == [1]  # the throttling base scale, not the 50 ms transient one
    assert sim.faults.throttle[DESCRIBE] == 0
    assert sim.calls[DESCRIBE] == 4


def test_resource_limit_exceeded(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    arn = register_package(sm)
    sim.faults = FaultPlan(resource_limit=1)
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        create_job(sm, "limited", arn)
    assert sim.jobs() == []
    create_job(sm, "limited", arn)
    assert [job["JobName"] for job in sim.jobs()] == ["limited"]
    assert sim.calls[CREATE] == 2


# ------------------------------------------------------------------------ errors


def test_duplicate_job_name(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    arn = register_package(sm)
    create_job(sm, "twice", arn)
    with pytest.raises(sm.exceptions.ResourceInUse, match="Job twice already exists"):
        create_job(sm, "twice", arn)


def test_unknown_job(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    for call in (
        sm.describe_inference_recommendations_job,
        sm.list_inference_recommendations_job_steps,
        sm.stop_inference_recommendations_job,
    ):
        with pytest.raises(sm.exceptions.ResourceNotFound):
            call(JobName="ghost")


def test_unknown_package_and_model_name_jobs_are_rejected(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    missing = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nope/1"
    with pytest.raises(ClientError, match=re.escape(missing)) as info:
        create_job(sm, "orphan", missing)
    assert error_code(info) == "ValidationException"
    with pytest.raises(ClientError, match="model-package jobs only") as info:
        sm.create_inference_recommendations_job(
            JobName="by-model", JobType="Default", RoleArn=ROLE_ARN,
            InputConfig={"ModelName": "some-model"},
        )  # fmt: skip
    assert error_code(info) == "ValidationException"
    assert sim.jobs() == []


# -------------------------------------------------------------------------- stop


def test_stop_in_progress_job(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    create_job(sm, "halt", register_package(sm))
    sim.clock.sleep(120)
    sm.stop_inference_recommendations_job(JobName="halt")
    stop_time = START + timedelta(seconds=120)
    assert sim.jobs()[0]["Status"] == "STOPPING"
    stopping = describe(sm, "halt")
    assert stopping["Status"] == "STOPPING"
    assert stopping["LastModifiedTime"] == stop_time
    sim.clock.sleep(JOB_SECONDS)
    stopped = describe(sm, "halt")
    assert stopped["Status"] == "STOPPED"
    assert stopped["CompletionTime"] == stop_time
    assert "InferenceRecommendations" not in stopped
    assert {s["Status"] for s in list_steps(sm, "halt")["Steps"]} == {"STOPPED"}
    with pytest.raises(ClientError) as info:
        sm.stop_inference_recommendations_job(JobName="halt")
    assert error_code(info) == "ValidationException"


def test_stop_pending_job_has_no_steps(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    create_job(sm, "early", register_package(sm))
    sm.stop_inference_recommendations_job(JobName="early")
    assert describe(sm, "early")["Status"] == "STOPPING"
    assert describe(sm, "early")["Status"] == "STOPPED"
    assert list_steps(sm, "early")["Steps"] == []


def test_stop_finished_job_is_rejected(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    create_job(sm, "finished", register_package(sm))
    sim.clock.sleep(JOB_SECONDS)
    with pytest.raises(ClientError, match="COMPLETED") as info:
        sm.stop_inference_recommendations_job(JobName="finished")
    assert error_code(info) == "ValidationException"


# ------------------------------------------------------------------------- steps


def test_steps_pagination_and_status_filter(sm: Any, sim: InferenceRecommenderSimulator) -> None:
    sim.faults.fail_compilation[GROUP] = "boom"
    create_job(sm, "paged", register_package(sm, instance_types=list(DEFAULT_INSTANCE_TYPES)))
    sim.clock.sleep(JOB_SECONDS)
    everything = list_steps(sm, "paged")["Steps"]
    assert len(everything) == 9  # 5 uncompiled + 4 compiled (c6i is not Neo-supported)
    assert {step["StepType"] for step in everything} == {"BENCHMARK"}
    assert {step["JobName"] for step in everything} == {"paged"}

    pages, token = [], None
    while True:
        page = list_steps(sm, "paged", MaxResults=4, **({"NextToken": token} if token else {}))
        pages.append(page["Steps"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(page) for page in pages] == [4, 4, 1]
    assert [step for page in pages for step in page] == everything

    paginator = sm.get_paginator("list_inference_recommendations_job_steps")
    via_paginator = [
        step
        for page in paginator.paginate(JobName="paged", PaginationConfig={"PageSize": 2})
        for step in page["Steps"]
    ]
    assert via_paginator == everything

    completed = list_steps(sm, "paged", Status="COMPLETED")["Steps"]
    assert len(completed) == 5 and not any(is_compiled(s["InferenceBenchmark"]) for s in completed)
    assert len(list_steps(sm, "paged", Status="FAILED")["Steps"]) == 4
    with pytest.raises(ClientError) as info:
        list_steps(sm, "paged", NextToken="not-a-token")
    assert error_code(info) == "ValidationException"


# ----------------------------------------------------------------- installation


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    methods = (
        "create_inference_recommendations_job",
        "describe_inference_recommendations_job",
        "list_inference_recommendations_job_steps",
        "stop_inference_recommendations_job",
    )
    assert not any(name in SageMakerResponse.__dict__ for name in methods)
    outer = InferenceRecommenderSimulator(ManualClock())
    inner = InferenceRecommenderSimulator(ManualClock())
    outer.install()
    outer.install()
    assert active_simulator() is outer
    with inner:
        assert active_simulator() is inner
    assert active_simulator() is outer
    assert all(name in SageMakerResponse.__dict__ for name in methods)
    outer.uninstall()
    outer.uninstall()
    assert active_simulator() is None
    assert not any(name in SageMakerResponse.__dict__ for name in methods)


def test_jobs_are_per_simulator_and_in_creation_order(sm: Any) -> None:
    with InferenceRecommenderSimulator(ManualClock(), job_duration_seconds=60) as first:
        arn = register_package(sm)
        for name in ("b-job", "a-job"):
            create_job(sm, name, arn)
        snapshot = first.jobs()
        assert [job["JobName"] for job in snapshot] == ["b-job", "a-job"]
        assert {job["Status"] for job in snapshot} == {"PENDING"}
        assert snapshot[0]["JobType"] == "Default"
        assert snapshot[0]["ModelPackageVersionArn"] == arn
        assert snapshot[0]["JobArn"].endswith("/b-job")
    with InferenceRecommenderSimulator(ManualClock()) as second:
        assert second.jobs() == []
        create_job(sm, "b-job", arn)  # no clash: state belongs to the simulator instance
    assert first.calls[CREATE] == 2 and second.calls[CREATE] == 1


def test_suite_stays_fast() -> None:
    """Guard against accidental real sleeps in the simulator (e.g. a slow clock)."""
    started = time.monotonic()
    SimulatedClock(speedup=1e6).sleep(JOB_SECONDS)
    assert time.monotonic() - started < 0.05


# ------------------------------------------------------------------ real shapes


def test_a_metric_ir_cannot_measure_arrives_as_the_string_nan_and_is_read_as_absent(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    from neo_runtime.ranking import Recommendation

    create_job(sm, "nan-job", register_package(sm, instance_types=["ml.c5.xlarge"]))
    sim.clock.sleep(JOB_SECONDS)
    row = describe(sm, "nan-job")["InferenceRecommendations"][0]
    # Over the JSON protocol, through botocore's parser: a string, not a float.
    assert row["Metrics"]["ModelSetupTime"] == "NaN"
    assert Recommendation.from_ir(row).model_setup_time is None


def test_a_serverless_configuration_gets_a_row_without_an_instance(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    create_job(sm, "serverless", register_package(sm), JobType="Advanced", InputConfig={
        "JobDurationInSeconds": 3600, "EndpointConfigurations": [
            {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}, {"InstanceType": "ml.c5.xlarge"}]})
    sim.clock.sleep(JOB_SECONDS)
    rows = describe(sm, "serverless")["InferenceRecommendations"]
    (serverless,) = [row for row in rows if "ServerlessConfig" in row["EndpointConfiguration"]]
    assert "InstanceType" not in serverless["EndpointConfiguration"]
    assert serverless["EndpointConfiguration"]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 1}
    metrics = serverless["Metrics"]
    assert metrics["CpuUtilization"] == metrics["MemoryUtilization"] == "NaN"
    assert metrics["ModelSetupTime"] > 0  # measured for serverless endpoints (microseconds)
    assert metrics["CostPerInference"] == pytest.approx(metrics["CostPerHour"] / (metrics["MaxInvocations"] * 60))
    assert "CompilationJobName" not in serverless["ModelConfiguration"]  # Neo compiles for instances only


def test_endpoint_performances_come_only_from_jobs_that_benchmark_existing_endpoints(
    sm: Any, sim: InferenceRecommenderSimulator
) -> None:
    create_job(sm, "existing", register_package(sm), JobType="Advanced", InputConfig={
        "JobDurationInSeconds": 3600, "Endpoints": [{"EndpointName": "prod-endpoint"}],
        "EndpointConfigurations": [{"InstanceType": "ml.c5.xlarge"}]})
    sim.clock.sleep(JOB_SECONDS)
    (performance,) = describe(sm, "existing")["EndpointPerformances"]
    assert performance["EndpointInfo"] == {"EndpointName": "prod-endpoint"}


# --------------------------------------------------- what IR checks of its role


@pytest.fixture
def enforced(sim: InferenceRecommenderSimulator) -> Iterator[Any]:
    """The simulator authorizing IR's use of the job's role against the emulated account's IAM."""
    from neo_recommender.emulator.iam_enforcement import IamEnforcement

    for account_backends in iam_backends.values():
        account_backends.reset()
    sim.iam = IamEnforcement("123456789012", REGION)
    yield boto3.client("iam", region_name=REGION)
    sim.iam = None


def _ir_role(iam: Any, name: str, statements: list[dict[str, Any]], service: str = "sagemaker.amazonaws.com") -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    return str(arn)


def test_ir_refuses_a_role_arn_that_is_not_a_role_or_not_one_it_may_assume(sm: Any, enforced: Any) -> None:
    package = register_package(sm)
    with pytest.raises(ClientError) as not_a_role:
        sm.create_inference_recommendations_job(JobName="bad-arn", JobType="Default",
                                                RoleArn="neo-recommender-results-table",
                                                InputConfig={"ModelPackageVersionArn": package})
    assert error_code(not_a_role) == "ValidationException"
    assert "failed to satisfy constraint: Member must satisfy regular expression pattern" in str(not_a_role.value)
    lambda_role = _ir_role(enforced, "LambdaRole", [], service="lambda.amazonaws.com")
    with pytest.raises(ClientError) as untrusted:
        sm.create_inference_recommendations_job(JobName="untrusted", JobType="Default", RoleArn=lambda_role,
                                                InputConfig={"ModelPackageVersionArn": package})
    assert error_code(untrusted) == "ValidationException" and "Could not assume role" in str(untrusted.value)


def test_a_role_that_may_not_pull_the_image_fails_the_job_with_awss_message(
    sm: Any, sim: InferenceRecommenderSimulator, enforced: Any
) -> None:
    everything_but_ecr = [{"Effect": "Allow", "NotAction": ["ecr:BatchGetImage"], "Resource": "*"}]
    role = _ir_role(enforced, "NoImagePull", everything_but_ecr)
    package = register_package(sm, instance_types=["ml.c5.xlarge"])
    sm.create_inference_recommendations_job(JobName="no-pull", JobType="Default", RoleArn=role,
                                            InputConfig={"ModelPackageVersionArn": package})
    sim.clock.sleep(JOB_SECONDS)
    job = describe(sm, "no-pull")
    assert job["Status"] == "FAILED"
    assert job["FailureReason"].startswith("AccessDeniedException: Inference Recommender could not pull the "
                                           "container image (ecr:BatchGetImage): User: arn:aws:sts::123456789012:"
                                           "assumed-role/NoImagePull/SageMaker is not authorized to perform: "
                                           "ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:")
    allowed = _ir_role(enforced, "Everything", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    sm.create_inference_recommendations_job(JobName="all-allowed", JobType="Default", RoleArn=allowed,
                                            InputConfig={"ModelPackageVersionArn": package})
    sim.clock.sleep(JOB_SECONDS)
    assert describe(sm, "all-allowed")["Status"] == "COMPLETED"


def test_a_volume_key_needs_create_grant_for_aws_resources(
    sm: Any, sim: InferenceRecommenderSimulator, enforced: Any
) -> None:
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["Arn"]  # KMS's default key policy: the account's IAM policies decide
    without_grant = _ir_role(enforced, "NoGrant", [{"Effect": "Allow", "NotAction": "kms:CreateGrant",
                                                    "Resource": "*"}])
    package = register_package(sm, instance_types=["ml.c5.xlarge"])
    sm.create_inference_recommendations_job(JobName="no-grant", JobType="Default", RoleArn=without_grant,
                                            InputConfig={"ModelPackageVersionArn": package, "VolumeKmsKeyId": key})
    sim.clock.sleep(JOB_SECONDS)
    assert "kms:CreateGrant" in describe(sm, "no-grant")["FailureReason"]


def test_in_a_vpc_the_role_must_manage_the_endpoints_network_interfaces(
    sm: Any, sim: InferenceRecommenderSimulator, enforced: Any
) -> None:
    # The mutation suite's stacks have no VPC (a construct prop only), so the IR role's EC2 statements are shown
    # needed here: without ec2:CreateNetworkInterface on the given subnets, the job fails.
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0aaa", "subnet-0bbb"]}
    no_interfaces = _ir_role(enforced, "NoEni", [{"Effect": "Allow", "NotAction": "ec2:CreateNetworkInterface",
                                                  "Resource": "*"}])
    package = register_package(sm, instance_types=["ml.c5.xlarge"])
    sm.create_inference_recommendations_job(JobName="no-eni", JobType="Default", RoleArn=no_interfaces,
                                            InputConfig={"ModelPackageVersionArn": package, "VpcConfig": vpc})
    sim.clock.sleep(JOB_SECONDS)
    reason = describe(sm, "no-eni")["FailureReason"]
    assert "ec2:CreateNetworkInterface" in reason and "network-interface/*" in reason
    scoped = _ir_role(enforced, "ScopedEni", [
        {"Effect": "Allow", "NotAction": "ec2:CreateNetworkInterface", "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": [
            "arn:aws:ec2:us-east-1:123456789012:network-interface/*",
            "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0aaa",
            "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0bbb",
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"]}])
    sm.create_inference_recommendations_job(JobName="scoped-eni", JobType="Default", RoleArn=scoped,
                                            InputConfig={"ModelPackageVersionArn": package, "VpcConfig": vpc})
    sim.clock.sleep(JOB_SECONDS)
    assert describe(sm, "scoped-eni")["Status"] == "COMPLETED"


def test_peak_concurrency_counts_overlapping_jobs_only() -> None:
    from neo_recommender.emulator.ir_simulator import peak_concurrency

    def job(start: int, end: int | None) -> dict[str, Any]:
        described: dict[str, Any] = {"CreationTime": START + timedelta(minutes=start)}
        if end is not None:
            described["CompletionTime"] = START + timedelta(minutes=end)
        return described

    assert peak_concurrency([]) == 0
    assert peak_concurrency([job(0, 5), job(5, 10), job(10, 15)]) == 1  # one ends as the next starts
    assert peak_concurrency([job(0, 10), job(2, 4), job(3, 12), job(11, 20)]) == 3
    assert peak_concurrency([job(0, None), job(0, 5)]) == 1  # not ended: counted as ended when created
