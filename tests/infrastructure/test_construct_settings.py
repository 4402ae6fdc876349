"""The construct's key, job settings and VPC props, and the synth-time checks of every prop.

One stack is synthesized for the module (with cdk-nag): a pipeline using a customer-managed key, an
imported VPC and Advanced job settings; one with an imported key; pipelines whose props are legal
but unwise, each of which must carry its warning; and one with tuned functions and no dashboard or model
registry write-back. The invalid props fail before anything is synthesized.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from neo_recommender import InferenceRecommenderPipeline, JobPolling, JobSettings, NeoRecommenderStack

TRAFFIC = {"TrafficType": "PHASES",
           "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}]}
STOPPING = {"MaxInvocations": 300, "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}]}
ADVANCED = JobSettings(job_type="Advanced", instance_types=["ml.c5.xlarge", "ml.m5.large"],
                       job_duration=Duration.hours(1), traffic_pattern=TRAFFIC, stopping_conditions=STOPPING,
                       resource_limit={"MaxNumberOfTests": 4, "MaxParallelOfTests": 2})


@dataclass
class Synthesized:
    template: Template
    resources: dict[str, Any]
    annotations: Annotations
    secured: InferenceRecommenderPipeline
    tuned: InferenceRecommenderPipeline
    key_id: str

    def of(self, pipeline: str, resource_type: str) -> dict[str, Any]:
        """The resources of one type under one pipeline's construct id."""
        return {name: resource for name, resource in self.resources.items()
                if resource["Type"] == resource_type and name.startswith(pipeline)}

    def function_environment(self, pipeline: str, step: str) -> dict[str, Any]:
        (function,) = [resource for name, resource in self.of(pipeline, "AWS::Lambda::Function").items()
                       if name.startswith(pipeline + step)]
        return function["Properties"]["Environment"]["Variables"]


@pytest.fixture(scope="module")
def synthesized() -> Synthesized:
    app = App()
    stack = Stack(app, "Settings", env={"account": "111122223333", "region": "eu-west-1"})
    key = kms.Key(stack, "PlatformKey", enable_key_rotation=True)
    vpc = ec2.Vpc.from_vpc_attributes(stack, "PlatformVpc", vpc_id="vpc-0abc", availability_zones=["eu-west-1a",
                                                                                                   "eu-west-1b"],
                                      private_subnet_ids=["subnet-0aaa", "subnet-0bbb"])
    secured = InferenceRecommenderPipeline(stack, "Secured", encryption_key=key, vpc=vpc, job_settings=ADVANCED,
                                           name_prefix="sec-", max_concurrent_jobs=3)
    InferenceRecommenderPipeline(stack, "ImportedKey", name_prefix="imp-", encryption_key=kms.Key.from_key_arn(
        stack, "SharedKey", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
    InferenceRecommenderPipeline(stack, "Unwise", watched_prefix="", poll_interval=Duration.minutes(15),
                                 job_deadline=Duration.minutes(40), name_prefix="unw-",
                                 job_settings=JobSettings(traffic_pattern=TRAFFIC))
    InferenceRecommenderPipeline(stack, "AdvancedOnly", name_prefix="adv-", job_settings=JobSettings(
        job_type="Advanced"), sagemaker_full_access=True)
    InferenceRecommenderPipeline(stack, "PerRun", name_prefix="per-", job_polling=JobPolling.PER_RUN,
                                 poll_interval=Duration.seconds(90))
    tuned = InferenceRecommenderPipeline(
        stack, "Tuned", name_prefix="tun-", runtime=lambda_.Runtime.PYTHON_3_12,
        function_props=lambda_.FunctionOptions(memory_size=512, timeout=Duration.minutes(5)), log_level="debug",
        log_retention=logs.RetentionDays.ONE_YEAR, tracing=lambda_.Tracing.PASS_THROUGH, dashboard=False,
        record_in_model_registry=False)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # a finding fails the synthesis below
    annotations = Annotations.from_stack(stack)
    template = Template.from_stack(stack)
    return Synthesized(template, template.to_json()["Resources"], annotations, secured, tuned,
                       stack.resolve(key.node.default_child.logical_id))


def _key_arn(synthesized: Synthesized) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesized.key_id, "Arn"]}


def test_one_key_encrypts_bucket_table_topic_and_logs(synthesized: Synthesized) -> None:
    key_arn = _key_arn(synthesized)
    (bucket,) = [b for name, b in synthesized.of("Secured", "AWS::S3::Bucket").items() if "Submission" in name]
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}
    (table,) = synthesized.of("Secured", "AWS::DynamoDB::Table").values()
    assert table["Properties"]["SSESpecification"] == {"KMSMasterKeyId": key_arn, "SSEEnabled": True,
                                                       "SSEType": "KMS"}
    topics = synthesized.of("Secured", "AWS::SNS::Topic").values()  # the results topic and the alarm topic
    assert [topic["Properties"]["KmsMasterKeyId"] for topic in topics] == [key_arn, key_arn]
    log_groups = synthesized.of("Secured", "AWS::Logs::LogGroup")
    functions = synthesized.of("Secured", "AWS::Lambda::Function")
    assert len(log_groups) == len(functions) + 1  # one per function, and the state machine's
    assert all(group["Properties"]["KmsKeyId"] == key_arn for group in log_groups.values())
    # Without a key: SSE-S3 and the AWS-managed keys, and unencrypted-by-CMK log groups.
    (plain_table,) = synthesized.of("AdvancedOnly", "AWS::DynamoDB::Table").values()
    assert plain_table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    plain_logs = synthesized.of("AdvancedOnly", "AWS::Logs::LogGroup").values()
    assert plain_logs and not any("KmsKeyId" in group["Properties"] for group in plain_logs)


def test_every_step_that_reads_or_writes_the_table_may_use_its_key(synthesized: Synthesized) -> None:
    # The emulator does not model DynamoDB's use of the key, so the mutation suite cannot show these grants needed:
    # this checks them instead. RegisterModel never touches the table and gets no key.
    key_arn = _key_arn(synthesized)
    policies = synthesized.of("Secured", "AWS::IAM::Policy")
    table_actions = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"}
    for step in ("ValidateSubmission", "RegisterModel", "StartRecommendationJob", "AwaitJobSlot",
                 "CheckRecommendationJob", "PublishResults", "RecordFailure", "RecordEndedRun"):
        (policy,) = [p for name, p in policies.items() if name.startswith(f"Secured{step}RoleDefaultPolicy")]
        granted = {a for st in policy["Properties"]["PolicyDocument"]["Statement"] if st["Resource"] == key_arn
                   for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
        reads_table = step != "RegisterModel"
        assert (table_actions <= granted) == reads_table, (step, granted)


def test_the_key_policy_lets_cloudwatch_logs_use_it(synthesized: Synthesized) -> None:
    statements = synthesized.resources[synthesized.key_id]["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}]
    assert "kms:GenerateDataKey" in logs["Action"] and not any(a.endswith("*") for a in logs["Action"])
    (arn_parts,) = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Join"][1:]
    assert arn_parts == ["arn:", {"Ref": "AWS::Partition"}, ":logs:eu-west-1:111122223333:log-group:*"]


def test_ir_gets_the_key_for_its_volumes_and_may_create_grants_for_aws_resources_only(
        synthesized: Synthesized) -> None:
    environment = synthesized.function_environment("Secured", "StartRecommendationJob")
    assert environment["VOLUME_KMS_KEY_ID"] == _key_arn(synthesized)
    role_policy = json.dumps([p for name, p in synthesized.of("Secured", "AWS::IAM::Policy").items()
                              if name.startswith("SecuredRecommenderRole")])
    assert '"kms:CreateGrant"' in role_policy and '"kms:GrantIsForAWSResource": "true"' in role_policy
    for step in ("ValidateSubmission", "RegisterModel", "CheckRecommendationJob"):
        assert "VOLUME_KMS_KEY_ID" not in synthesized.function_environment("Secured", step)


def test_per_run_polling_loops_in_the_run_and_has_no_shared_poller(synthesized: Synthesized) -> None:
    (machine,) = synthesized.of("PerRun", "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    states = json.loads("".join(p if isinstance(p, str) else "ref" for p in parts))["States"]
    assert states["JobStarted?"]["Choices"][0]["Next"] == "WaitForJob"
    assert states["WaitForJob"] == {"Type": "Wait", "Seconds": 90, "Next": "CheckRecommendationJob"}
    assert states["CheckRecommendationJob"]["Next"] == "JobFinished?"
    assert states["JobFinished?"]["Default"] == "WaitForJob"
    assert "AwaitRecommendationJob" not in states
    assert not [name for name in synthesized.of("PerRun", "AWS::Lambda::Function") if "WatchJobs" in name]
    assert not [r for r in synthesized.of("PerRun", "AWS::Events::Rule").values()
                if "ScheduleExpression" in r["Properties"]]
    assert "WATCH_SCHEDULE_RULE" not in synthesized.function_environment("PerRun", "StartRecommendationJob")
    assert synthesized.function_environment("PerRun", "CheckRecommendationJob")["JOB_DEADLINE_SECONDS"] == "10800"


def test_no_policy_grants_a_kms_wildcard_action(synthesized: Synthesized) -> None:
    policies = json.dumps(synthesized.template.find_resources("AWS::IAM::Policy"))
    assert "kms:" in policies
    assert not re.search(r'"kms:[A-Za-z]*\*"', policies)


def test_ir_runs_in_the_given_vpc_with_its_own_security_group(synthesized: Synthesized) -> None:
    groups = synthesized.of("Secured", "AWS::EC2::SecurityGroup")
    ((group_id, group),) = groups.items()
    assert "SecurityGroupIngress" not in group["Properties"] and group["Properties"]["VpcId"] == "vpc-0abc"
    joined = synthesized.function_environment("Secured", "StartRecommendationJob")["VPC_CONFIG"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "<sg>" for part in joined)
    assert json.loads(text) == {"SecurityGroupIds": ["<sg>"], "Subnets": ["subnet-0aaa", "subnet-0bbb"]}
    assert {"Fn::GetAtt": [group_id, "GroupId"]} in joined
    role_policy = json.dumps([p for name, p in synthesized.of("Secured", "AWS::IAM::Policy").items()
                              if name.startswith("SecuredRecommenderRole")])
    assert ":subnet/subnet-0aaa" in role_policy and "ec2:CreateNetworkInterface" in role_policy
    # Pipelines without a VPC get no VPC_CONFIG and no EC2 permissions.
    assert "VPC_CONFIG" not in synthesized.function_environment("AdvancedOnly", "StartRecommendationJob")
    assert "ec2:" not in json.dumps(synthesized.of("AdvancedOnly", "AWS::IAM::Policy"))


def test_job_settings_travel_to_the_validation_step(synthesized: Synthesized) -> None:
    defaults = json.loads(synthesized.function_environment("Secured", "ValidateSubmission")["JOB_DEFAULTS"])
    assert defaults == {"JobType": "Advanced", "InstanceTypes": ["ml.c5.xlarge", "ml.m5.large"],
                        "JobDurationInSeconds": 3600, "TrafficPattern": TRAFFIC, "StoppingConditions": STOPPING,
                        "ResourceLimit": {"MaxNumberOfTests": 4, "MaxParallelOfTests": 2}}
    assert json.loads(synthesized.function_environment("AdvancedOnly", "ValidateSubmission")["JOB_DEFAULTS"]) == {
        "JobType": "Advanced"}
    assert synthesized.secured.job_settings is ADVANCED


def test_max_concurrent_jobs_configures_the_queue(synthesized: Synthesized) -> None:
    environment = synthesized.function_environment("Secured", "StartRecommendationJob")
    run_timeout = (3 + 1) * 3600 + 24 * 3600  # deadline, an hour to publish, a day of queueing
    assert environment["MAX_CONCURRENT_JOBS"] == "3" and environment["MAX_QUEUE_WAIT_SECONDS"] == str(24 * 3600)
    assert environment["JOB_SLOT_HOLDER_EXPIRY_SECONDS"] == str((3 + 1) * 3600)  # counted from the grant
    assert environment["JOB_SLOT_RECHECK_SECONDS"] == "3600"  # an unwoken queued run asks again after an hour a wave
    assert environment["JOB_SLOT_WAITER_GRACE_SECONDS"] == str(2 * 3600 + 300)  # silent two rechecks past its promise
    (machine,) = synthesized.of("Secured", "AWS::StepFunctions::StateMachine").values()
    assert f'"TimeoutSeconds":{run_timeout}' in json.dumps(machine["Properties"]["DefinitionString"],
                                                            separators=(",", ":")).replace("\\", "")
    slot_readers = {name.removeprefix("Secured").split("Role")[0]
                    for name, policy in synthesized.of("Secured", "AWS::IAM::Policy").items()
                    if "dynamodb:GetItem" in json.dumps(policy)}
    # The shared poller reads the slots too: each pass wakes a queued run whose wake-up was lost.
    assert slot_readers == {"StartRecommendationJob", "AwaitJobSlot", "PublishResults", "RecordFailure",
                            "RecordEndedRun", "WatchJobs"}
    # The steps that wake queued runs may answer task tokens, and only those steps. SendTaskSuccess has no resource
    # type in the Service Authorization Reference: it can only be allowed on "*" (the token names the execution).
    (responses,) = [p for name, p in synthesized.of("Secured", "AWS::IAM::Policy").items()
                    if "TaskResponsePolicy" in name]
    (statement,) = responses["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "states:SendTaskSuccess" and statement["Resource"] == "*"
    assert {role["Ref"].removeprefix("Secured").split("Role")[0] for role in responses["Properties"]["Roles"]} == {
        "AwaitJobSlot", "PublishResults", "RecordFailure", "RecordEndedRun"}
    # Without a limit: no queue settings, no slot access, the run lives as long as its deadline plus an hour.
    assert "MAX_CONCURRENT_JOBS" not in synthesized.function_environment("AdvancedOnly", "StartRecommendationJob")
    readers = {name for name, policy in synthesized.of("AdvancedOnly", "AWS::IAM::Policy").items()
               if "dynamodb:GetItem" in json.dumps(policy)}
    assert [name.removeprefix("AdvancedOnly").split("Role")[0] for name in readers] == ["RecordEndedRun"]


@pytest.mark.parametrize(("pipeline", "warning"), [
    ("ImportedKey", "encryption_key is imported"),
    ("Unwise", "watched_prefix is empty"),
    ("Unwise", "poll_interval is 15 minutes: results arrive up to that long"),
    ("Unwise", "Default Inference Recommender jobs usually take about 45 minutes"),
    ("Unwise", "they apply only to manifests that ask for JobType Advanced"),
    ("AdvancedOnly", "every manifest must then list EndpointConfigurations"),
])
def test_legal_but_unwise_props_carry_a_warning(synthesized: Synthesized, pipeline: str, warning: str) -> None:
    synthesized.annotations.has_warning(f"/Settings/{pipeline}", Match.string_like_regexp(re.escape(warning)))


def test_sensible_props_carry_no_warning(synthesized: Synthesized) -> None:
    synthesized.annotations.has_no_warning("/Settings/Secured", Match.any_value())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"poll_interval": Duration.seconds(10)}, "poll_interval is 10 seconds; give at least 30 seconds"),
    ({"job_deadline": Duration.minutes(50), "job_settings": JobSettings(job_duration=Duration.hours(1))},
     "job_deadline (50 minutes) is not longer than job_settings.job_duration (1 hour)"),
    ({"job_deadline": Duration.seconds(50)}, "job_deadline (50 seconds) must be longer than poll_interval"),
    ({"job_deadline": Duration.days(2), "job_polling": JobPolling.PER_RUN},
     "more than one Step Functions execution's 25,000 history events hold"),
    ({"poll_interval": Duration.seconds(90)}, "poll_interval is 1 minute 30 seconds; the shared poller runs on an "
                                              "EventBridge schedule, so give whole minutes"),
    ({"poll_interval": Duration.minutes(10), "job_deadline": Duration.days(4), "max_queue_wait": Duration.days(20)},
     "together they may last at most 443 hours at this poll_interval"),
    ({"results_retention": Duration.minutes(90)}, "results_retention is 1 hour 30 minutes; give whole days"),
    ({"watched_prefix": "/models/"}, "watched_prefix '/models/' starts with '/'"),
    ({"watched_prefix": "models"}, "watched_prefix 'models' must end with '/'"),
    ({"watched_prefix": "models/*/"}, "contains a wildcard"),
    ({"watched_prefix": "neo-compiled/"}, "overlaps 'neo-compiled/', where Neo writes"),
    ({"job_settings": JobSettings(instance_types=["ml.c5.xlarge", "ml.c99.huge"])},
     "job_settings.instance_types[1] 'ml.c99.huge' is not a SageMaker real-time instance type"),
    ({"job_settings": JobSettings(job_type="advanced")}, 'job_settings.job_type must be one of "Default", "Advanced"'),
    ({"job_settings": JobSettings(job_duration=Duration.hours(3))},
     "job_settings.job_duration must be, in seconds, at most 7200"),
    ({"job_settings": JobSettings(traffic_pattern={"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 0, "SpawnRate": 1, "DurationInSeconds": 120}]})},
     "job_settings.traffic_pattern.Phases[0].InitialNumberOfUsers must be at least 1"),
    ({"job_settings": JobSettings(stopping_conditions={"MaxInvocations": 0})},
     "job_settings.stopping_conditions.MaxInvocations must be at least 1"),
    ({"name_prefix": "nr_"}, "name_prefix 'nr_' must be 1-20 lower-case letters, digits and single hyphens"),
    ({"name_prefix": "nr--"}, "name_prefix 'nr--' must be 1-20 lower-case letters, digits and single hyphens"),
    # SageMaker lower-cases job ARNs; IAM matches case-sensitively, so "NR-*" would never match a job.
    ({"name_prefix": "NR-"}, "name_prefix 'NR-' must be 1-20 lower-case letters"),
    ({"model_approval_status": "approved"}, "model_approval_status 'approved' must be one of"),
    ({"results_retention": Duration.hours(12)}, "results_retention is 12 hours; give whole days"),
    ({"security_groups": ["sg"]}, "vpc_subnets and security_groups need vpc"),
    ({"max_concurrent_jobs": 0}, "max_concurrent_jobs must be a whole number of at least 1, not 0"),
    ({"max_concurrent_jobs": 2, "max_queue_wait": Duration.seconds(30)},
     "max_queue_wait (30 seconds) must be at least poll_interval (1 minute)"),
])
def test_invalid_props_fail_at_synth_naming_the_prop(kwargs: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "Bad")
    with pytest.raises(ValueError, match=re.escape(message)):
        InferenceRecommenderPipeline(stack, "P", **kwargs)


def test_the_functions_can_be_tuned_and_stay_nag_clean(synthesized: Synthesized) -> None:
    functions = synthesized.of("Tuned", "AWS::Lambda::Function")
    timeouts = {}
    for name, function in functions.items():
        props = function["Properties"]
        assert (props["Runtime"], props["MemorySize"], props["TracingConfig"]) == (
            "python3.12", 512, {"Mode": "PassThrough"})
        assert props["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
        assert props["LoggingConfig"]["SystemLogLevel"] == "DEBUG"
        timeouts[name] = props["Timeout"]
    assert {timeout for name, timeout in timeouts.items() if not name.startswith("TunedWatchJobs")} == {300}
    assert [timeout for name, timeout in timeouts.items() if name.startswith("TunedWatchJobs")] == [50]
    retention = {group["Properties"].get("RetentionInDays")
                 for group in synthesized.of("Tuned", "AWS::Logs::LogGroup").values()}
    assert retention == {365}  # the functions' and the state machine's logs
    # The default pipeline's functions keep theirs.
    assert {f["Properties"]["MemorySize"] for f in synthesized.of("Secured", "AWS::Lambda::Function").values()} == {256}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"runtime": lambda_.Runtime.PYTHON_3_10}, "runtime python3.10 is not one the Lambda code is tested on; use one "
                                               "of lambda_.Runtime.PYTHON_3_11, "),
    ({"log_level": "TRACE"}, "log_level 'TRACE' must be one of DEBUG, INFO, WARN, ERROR"),
    ({"function_props": {"memory_size": 64}}, "function_props memory_size 64 must be a whole number of MB from 128"),
    ({"function_props": {"timeout": Duration.seconds(5)}}, "function_props timeout must be a Duration from 30 seconds"),
    ({"function_props": {"timeout": 60}}, "function_props timeout must be a Duration"),
    ({"function_props": {"handler": "x.y"}}, "function_props takes memory_size and timeout only, not handler"),
    ({"function_props": lambda_.FunctionOptions(memory_size=64)},
     "function_props memory_size 64 must be a whole number of MB from 128"),
    ({"function_props": lambda_.FunctionOptions(memory_size=512, tracing=lambda_.Tracing.DISABLED)},
     "function_props takes memory_size and timeout only, not tracing"),
])
def test_function_props_outside_their_bounds_fail_at_synth(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        InferenceRecommenderPipeline(Stack(App(), "Bad"), "P", **kwargs)


def test_function_props_take_a_function_options_struct_or_a_dict_of_its_arguments() -> None:
    from neo_recommender.function_settings import function_settings

    def tuned(props: Any) -> tuple[int, float | None]:
        settings = function_settings(runtime=None, function_props=props, log_level="INFO", log_retention=None,
                                     tracing=None)
        return settings.memory_size, settings.timeout and settings.timeout.to_seconds()

    assert tuned(lambda_.FunctionOptions(memory_size=512, timeout=Duration.minutes(5))) == (512, 300)
    assert tuned({"memory_size": 512, "timeout": Duration.minutes(5)}) == (512, 300)
    assert tuned(lambda_.FunctionOptions(memory_size=1024)) == (1024, None)  # a field left out keeps its default
    with pytest.raises(TypeError, match=re.escape(
            "function_props must be a lambda_.FunctionOptions or a dict of its keyword arguments, not list")):
        InferenceRecommenderPipeline(Stack(App(), "Bad"), "P", function_props=[("memory_size", 512)])
    # A FunctionProps is a FunctionOptions too: its code, handler and runtime are refused, not silently dropped.
    with pytest.raises(ValueError, match="function_props takes memory_size and timeout only, not code, handler, "
                                         "runtime"):
        tuned(lambda_.FunctionProps(code=lambda_.Code.from_inline("x"), handler="a.b",
                                    runtime=lambda_.Runtime.PYTHON_3_12, memory_size=512))


def test_dashboard_false_leaves_the_dashboard_out(synthesized: Synthesized) -> None:
    assert synthesized.tuned.dashboard is None and not synthesized.of("Tuned", "AWS::CloudWatch::Dashboard")
    assert synthesized.secured.dashboard is not None and synthesized.of("Secured", "AWS::CloudWatch::Dashboard")


def test_record_in_model_registry_false_leaves_the_model_package_alone(synthesized: Synthesized) -> None:
    def publishing(pipeline: str) -> tuple[str, bool]:
        (policy,) = [p for name, p in synthesized.of(pipeline, "AWS::IAM::Policy").items()
                     if name.startswith(f"{pipeline}PublishResultsRoleDefaultPolicy")]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        updates = any("sagemaker:UpdateModelPackage" in json.dumps(statement["Action"]) for statement in statements)
        return synthesized.function_environment(pipeline, "PublishResults")["RECORD_IN_MODEL_REGISTRY"], updates

    assert publishing("Tuned") == ("false", False)
    assert publishing("Secured") == ("true", True)
    assert synthesized.tuned.record_in_model_registry is False


def test_metric_runs_refuses_a_status_it_has_no_metric_for(synthesized: Synthesized) -> None:
    with pytest.raises(ValueError, match=re.escape(
            "metric_runs: status must be one of STARTED, QUEUED, COMPLETED, FAILED, TIMED_OUT, not 'RUNNING'")):
        synthesized.secured.metric_runs("RUNNING")
    assert synthesized.secured.metric_runs("QUEUED").metric_name == "RunsQueued"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValueError) as raised:
        InferenceRecommenderPipeline(Stack(App(), "Bad"), "P", watched_prefix="/in", poll_interval=Duration.seconds(5),
                                     name_prefix="")
    message = str(raised.value)
    for part in ("starts with '/'", "must end with '/'", "poll_interval is 5 seconds", "name_prefix ''"):
        assert part in message


def test_too_many_security_groups_are_rejected() -> None:
    stack = Stack(App(), "Bad", env={"account": "111122223333", "region": "eu-west-1"})
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-west-1a"],
                                      private_subnet_ids=["subnet-1"])
    groups = [ec2.SecurityGroup.from_security_group_id(stack, f"G{i}", f"sg-{i}") for i in range(6)]
    with pytest.raises(ValueError, match="security_groups has 6; Inference Recommender takes 1 to 5"):
        InferenceRecommenderPipeline(stack, "P", vpc=vpc, security_groups=groups)


@pytest.mark.parametrize(("context", "message"), [
    ({"neo-recommender:pollIntervalSeconds": "ten"},
     "context neo-recommender:pollIntervalSeconds must be a whole number, not 'ten'"),
    ({"neo-recommender:pollIntervalSeconds": 10},
     "poll_interval is 10 seconds; give at least 30 seconds"),
    ({"neo-recommender:trafficPattern": "{not json"}, "context neo-recommender:trafficPattern is not valid JSON"),
    ({"neo-recommender:kmsKeyArn": "alias/mine"}, "context neo-recommender:kmsKeyArn must be a KMS key ARN"),
    ({"neo-recommender:jobPolling": "perrun"}, "context neo-recommender:jobPolling must be 'shared'"),
    ({"neo-recommender:removalPolicy": "keep"}, "context neo-recommender:removalPolicy must be 'retain' or 'destroy'"),
    ({"neo-recommender:instanceTypes": "ml.c5.xlarge,ml.nope"}, "job_settings.instance_types[1] 'ml.nope'"),
    ({"neo-recommender:instanceTypes": '["ml.c5.xlarge", "ml.nope"]'}, "job_settings.instance_types[1] 'ml.nope'"),
    ({"neo-recommender:logRetentionDays": 10},
     "context neo-recommender:logRetentionDays must be one of CloudWatch Logs' retention periods in days (1, 3, 5"),
    ({"neo-recommender:logLevel": "verbose"},
     "log_level 'verbose' must be one of DEBUG, INFO, WARN, ERROR (NeoRecommenderStack reads these from cdk.json "
     "context: log_level = neo-recommender:logLevel)"),
    ({"neo-recommender:recordInModelRegistry": "yes"},
     "context neo-recommender:recordInModelRegistry must be true or false, not 'yes'"),
    ({"neo-recommender:pythonRuntime": "python3.10"},
     "(by name: python3.11, python3.12, python3.13, python3.14) (NeoRecommenderStack reads these from cdk.json "
     "context: runtime = neo-recommender:pythonRuntime)"),
    ({"neo-recommender:functionMemoryMb": 64}, "function_props memory_size 64 must be a whole number of MB"),
    ({"neo-recommender:functionTimeoutSeconds": 5}, "function_props timeout must be a Duration from 30 seconds"),
    ({"neo-recommender:tracing": "on"},
     "context neo-recommender:tracing must be one of 'active', 'passThrough', 'disabled', not 'on'"),
    ({"neo-recommender:dashboard": "no"}, "context neo-recommender:dashboard must be true or false, not 'no'"),
])
def test_the_stack_names_the_context_key_of_a_bad_setting(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        NeoRecommenderStack(App(context=context), "NeoRecommenderStack")
    if "context " not in message:
        assert "neo-recommender:" in str(raised.value)  # the prop's context key is named too


def test_the_stack_tunes_its_functions_from_context() -> None:
    # cdk deploy users (no construct code) pick a runtime their region or partition offers, memory, timeout,
    # tracing and the dashboard through context keys, as construct users do through props.
    stack = NeoRecommenderStack(App(context={
        "neo-recommender:pythonRuntime": "python3.12", "neo-recommender:functionMemoryMb": "512",
        "neo-recommender:functionTimeoutSeconds": 120, "neo-recommender:tracing": "passThrough",
        "neo-recommender:dashboard": "false"}), "NeoRecommenderStack")
    template = Template.from_stack(stack)
    functions = template.find_resources("AWS::Lambda::Function")
    assert len(functions) == 9
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.12" and properties["MemorySize"] == 512
        assert properties["TracingConfig"] == {"Mode": "PassThrough"}
    timeouts = sorted(f["Properties"]["Timeout"] for f in functions.values())
    assert timeouts.count(120) == 8  # the poller keeps its own: a pass must end before the next one starts
    assert not template.find_resources("AWS::CloudWatch::Dashboard")


def test_given_security_groups_are_used_instead_of_a_new_one() -> None:
    stack = Stack(App(), "OwnGroups", env={"account": "111122223333", "region": "eu-west-1"})
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["eu-west-1a"],
                                      private_subnet_ids=["subnet-1"])
    group = ec2.SecurityGroup.from_security_group_id(stack, "Given", "sg-given")
    pipeline = InferenceRecommenderPipeline(stack, "P", vpc=vpc, security_groups=[group])
    template = Template.from_stack(stack)
    assert not template.find_resources("AWS::EC2::SecurityGroup") and pipeline.security_groups == [group]
    (start,) = [r for name, r in template.find_resources("AWS::Lambda::Function").items()
                if name.startswith("PStartRecommendationJob")]
    config = start["Properties"]["Environment"]["Variables"]["VPC_CONFIG"]
    assert json.loads(config) == {"SecurityGroupIds": ["sg-given"], "Subnets": ["subnet-1"]}
    assert ":security-group/sg-given" in json.dumps(template.find_resources("AWS::IAM::Policy"))


def test_sagemaker_full_access_attaches_awss_documented_policy_beside_the_pipelines_own(
        synthesized: Synthesized) -> None:
    # AWS documents only AmazonSageMakerFullAccess for the IR role; asked for, it is attached (and acknowledged for
    # cdk-nag's IAM4, or the synthesis above would have failed), the scoped statements stay.
    roles = {name: r for name, r in synthesized.resources.items()
             if r["Type"] == "AWS::IAM::Role" and "RecommenderRole" in name}
    managed = {name.split("RecommenderRole")[0]: json.dumps(r["Properties"].get("ManagedPolicyArns"))
               for name, r in roles.items()}
    assert "policy/AmazonSageMakerFullAccess" in managed["AdvancedOnly"]
    assert all(value == "null" for pipeline, value in managed.items() if pipeline != "AdvancedOnly")
    assert synthesized.of("AdvancedOnlyRecommenderRoleDefaultPolicy", "AWS::IAM::Policy")
