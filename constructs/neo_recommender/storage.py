"""The pipeline's storage, created with secure defaults when the user does not bring their own.

Each ``create_*`` function takes ``overrides``: keyword arguments of the CDK class merged over the
defaults (AWS Solutions Constructs' ``*Props`` pattern), e.g. ``{"lifecycle_rules": [...]}``.
"""

from __future__ import annotations

import inspect
import keyword
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from constructs import Construct

#: Key schema and indexes the results table must have (``neo_runtime.records`` writes and reads them).
TABLE_PARTITION_KEY, TABLE_SORT_KEY = "pk", "sk"
TABLE_INDEXES = (
    ("ByModel", "model_name", "created_at", dynamodb.ProjectionType.ALL),
    ("ByJobName", "job_name", None, dynamodb.ProjectionType.ALL),
    ("ByExecution", "execution_arn", None, dynamodb.ProjectionType.KEYS_ONLY),
    ("ByStatus", "status", "updated_at", dynamodb.ProjectionType.ALL),
)
TTL_ATTRIBUTE = "expires_at"


def struct_overrides(props: Any, struct: type, prop_name: str) -> dict[str, Any]:
    """The fields set in ``props``, a CDK props struct (``s3.BucketProps``, ...) or a dict of its keyword arguments.

    A struct gives only the fields it was built with (the public attributes its constructor takes),
    so the pipeline's defaults stay wherever the struct is silent. A subclass of ``struct`` (``lambda_.FunctionProps``
    of ``FunctionOptions``) gives the fields of its own constructor, so that the caller's checks see every field set,
    not only ``struct``'s.
    """
    if props is None:
        return {}
    if isinstance(props, dict):
        return dict(props)
    if isinstance(props, struct):
        fields = [name for name in inspect.signature(type(props).__init__).parameters if name != "self"]
        return {name: getattr(props, name) for name in fields if getattr(props, name) is not None}
    module = struct.__module__.split(".")[-1].removeprefix("aws_")  # s3, dynamodb, sns: as the docs import them
    module = f"{module}_" if keyword.iskeyword(module) else module  # lambda_
    raise TypeError(f"InferenceRecommenderPipeline: {prop_name} must be a {module}.{struct.__name__} or a dict of its "
                    f"keyword arguments, not {type(props).__name__}")


def table_overrides(props: Any) -> dict[str, Any]:
    """``table_props`` as overrides; a ``dynamodb.TableProps`` (whose keys are required) must keep the layout."""
    overrides = struct_overrides(props, dynamodb.TableProps, "table_props")
    for field_name, expected in (("partition_key", TABLE_PARTITION_KEY), ("sort_key", TABLE_SORT_KEY)):
        attribute = overrides.get(field_name)
        if attribute is None:
            continue
        if attribute.name != expected or attribute.type != dynamodb.AttributeType.STRING:
            raise ValueError(f"InferenceRecommenderPipeline: table_props.{field_name} must be the string attribute "
                             f"'{expected}' (the pipeline's layout); leave it out of a dict, or give "
                             f"dynamodb.Attribute(name='{expected}', type=dynamodb.AttributeType.STRING)")
    return overrides


def submission_bucket(scope: Construct, given: s3.IBucket | None, overrides: dict[str, Any] | None,
                      removal_policy: RemovalPolicy,
                      encryption_key: kms.IKey | None) -> tuple[s3.IBucket, s3.IBucket | None]:
    """The user's bucket (and no access-logs bucket), or a new one with its access-logs bucket."""
    if given is None:
        return create_submission_bucket(scope, removal_policy, overrides, encryption_key)
    if overrides:
        raise ValueError("InferenceRecommenderPipeline: give bucket or bucket_props, not both")
    return given, None


def results_table(scope: Construct, given: dynamodb.ITable | None, overrides: dict[str, Any] | None,
                  removal_policy: RemovalPolicy, encryption_key: kms.IKey | None) -> dynamodb.ITable:
    """The user's results table, checked for the pipeline's layout, or a new one."""
    if given is None:
        return create_results_table(scope, removal_policy, overrides, encryption_key)
    if overrides:
        raise ValueError("InferenceRecommenderPipeline: give table or table_props, not both")
    check_results_table(given)
    return given


def notification_topic(scope: Construct, given: sns.ITopic | None, overrides: dict[str, Any] | None,
                       encryption_key: kms.IKey | None) -> sns.ITopic:
    """The user's topic, or a new one."""
    if given is None:
        return create_topic(scope, overrides, encryption_key)
    if overrides:
        raise ValueError("InferenceRecommenderPipeline: give topic or topic_props, not both")
    return given


def create_submission_bucket(scope: Construct, removal_policy: RemovalPolicy,
                             overrides: dict[str, Any] | None = None,
                             encryption_key: kms.IKey | None = None) -> tuple[s3.Bucket, s3.Bucket]:
    """The versioned, encrypted, TLS-only submission bucket and the bucket of its access logs.

    With ``encryption_key`` the submission bucket uses SSE-KMS with that key (and an S3 Bucket Key,
    which cuts KMS requests); the access-logs bucket stays SSE-S3, the only encryption S3 server
    access logging can deliver to.
    """
    access_logs = s3.Bucket(
        scope, "AccessLogsBucket",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        removal_policy=removal_policy,
    )
    encryption: dict[str, Any] = (
        {"encryption": s3.BucketEncryption.KMS, "encryption_key": encryption_key, "bucket_key_enabled": True}
        if encryption_key is not None else {"encryption": s3.BucketEncryption.S3_MANAGED})
    settings: dict[str, Any] = {
        **encryption,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "versioned": True,
        "server_access_logs_bucket": access_logs,
        "server_access_logs_prefix": "submission-bucket/",
        "removal_policy": removal_policy,
        **(overrides or {}),
    }
    return s3.Bucket(scope, "SubmissionBucket", **settings), access_logs


def deliver_events_to_eventbridge(bucket: s3.IBucket) -> None:
    """Turn on the bucket's EventBridge delivery; for an imported bucket, warn that it must be on.

    A bucket defined in this app gets ``EventBridgeConfiguration`` on its own CloudFormation
    resource (no custom resource), keeping any other notification settings it has.
    """
    cfn_bucket = bucket.node.default_child
    if not isinstance(cfn_bucket, s3.CfnBucket):
        Annotations.of(bucket).add_warning_v2(
            "neo-recommender:bucket-eventbridge",
            "The pipeline starts a run on the S3 'Object Created' event through EventBridge. Make sure this "
            "imported bucket sends events to EventBridge: aws s3api put-bucket-notification-configuration "
            "--bucket <name> --notification-configuration '{\"EventBridgeConfiguration\": {}}' "
            "(this replaces the bucket's notification configuration; merge it with what is there).")
        return
    current = cfn_bucket.notification_configuration
    enabled = s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    if current is None:
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=enabled)
    elif isinstance(current, s3.CfnBucket.NotificationConfigurationProperty):
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=enabled,
            lambda_configurations=current.lambda_configurations,
            queue_configurations=current.queue_configurations,
            topic_configurations=current.topic_configurations)
    else:
        Annotations.of(bucket).add_warning_v2(
            "neo-recommender:bucket-eventbridge",
            "The bucket's NotificationConfiguration is set in a form the pipeline cannot extend; make sure it "
            "includes EventBridgeConfiguration, or no run will start.")


def create_results_table(scope: Construct, removal_policy: RemovalPolicy,
                         overrides: dict[str, Any] | None = None,
                         encryption_key: kms.IKey | None = None) -> dynamodb.Table:
    """The on-demand, encrypted results table with point-in-time recovery, TTL and the query indexes.

    Encrypted with ``encryption_key`` when given, else with the AWS-managed DynamoDB key.
    """
    encryption: dict[str, Any] = (
        {"encryption": dynamodb.TableEncryption.CUSTOMER_MANAGED, "encryption_key": encryption_key}
        if encryption_key is not None else {"encryption": dynamodb.TableEncryption.AWS_MANAGED})
    settings: dict[str, Any] = {
        "partition_key": dynamodb.Attribute(name=TABLE_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
        "sort_key": dynamodb.Attribute(name=TABLE_SORT_KEY, type=dynamodb.AttributeType.STRING),
        "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
        **encryption,
        "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
        "time_to_live_attribute": TTL_ATTRIBUTE,
        "removal_policy": removal_policy,
        **(overrides or {}),
    }
    table = dynamodb.Table(scope, "ResultsTable", **settings)
    # Indexes over run summaries only (recommendation items lack these attributes), one per question.
    for index_name, partition, sort, projection in TABLE_INDEXES:
        table.add_global_secondary_index(
            index_name=index_name,
            partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
            projection_type=projection,
        )
    return table


def check_results_table(table: dynamodb.ITable) -> None:
    """A table brought by the user must have the pipeline's keys and indexes; checked when it is defined here."""
    if not isinstance(table, dynamodb.Table):
        Annotations.of(table).add_warning_v2(
            "neo-recommender:table-schema",
            f"The pipeline cannot check an imported results table: it must have string keys "
            f"'{TABLE_PARTITION_KEY}' (partition) and '{TABLE_SORT_KEY}' (sort), the global secondary indexes "
            + ", ".join(name for name, *_ in TABLE_INDEXES)
            + f" (docs/results-and-cli.md, DynamoDB), and TTL on '{TTL_ATTRIBUTE}' if results_retention is set.")
        return
    problems = []
    schema = table.schema()
    if schema.partition_key.name != TABLE_PARTITION_KEY or (schema.sort_key is None
                                                            or schema.sort_key.name != TABLE_SORT_KEY):
        problems.append(f"its keys must be '{TABLE_PARTITION_KEY}' (partition) and '{TABLE_SORT_KEY}' (sort)")
    for index_name, partition, sort, _ in TABLE_INDEXES:
        try:
            index = table.schema(index_name)
        except Exception:  # noqa: BLE001 - jsii raises a generic error for an unknown index
            problems.append(f"index {index_name} ({partition}{', ' + sort if sort else ''}) is missing")
            continue
        if index.partition_key.name != partition or (index.sort_key.name if index.sort_key else None) != sort:
            problems.append(f"index {index_name} must have keys {partition}{', ' + sort if sort else ''}")
    if problems:
        raise ValueError("InferenceRecommenderPipeline: table " + "; ".join(problems)
                         + ". Let the pipeline create the table, or see docs/results-and-cli.md (DynamoDB) for the "
                         "layout.")


def create_topic(scope: Construct, overrides: dict[str, Any] | None = None,
                 encryption_key: kms.IKey | None = None) -> sns.Topic:
    """The TLS-only topic, encrypted with ``encryption_key``, else with the AWS-managed SNS key.

    ``overrides`` may give another ``master_key``.
    """
    settings: dict[str, Any] = {"display_name": "neo-recommender results", "enforce_ssl": True, **(overrides or {})}
    if "master_key" not in settings and encryption_key is not None:
        settings["master_key"] = encryption_key
    if "master_key" not in settings:
        settings["master_key"] = kms.Alias.from_alias_name(scope, "SnsManagedKey", "alias/aws/sns")
    return sns.Topic(scope, "NotificationTopic", **settings)


def allow_log_encryption(scope: Construct, key: kms.IKey) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups (a key policy statement).

    A key imported from elsewhere cannot take the statement from here: a warning gives the
    statement to add to its key policy.
    """
    stack = Stack.of(scope)
    logs_arn = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
    statement = iam.PolicyStatement(
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                 "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
        resources=["*"],
        conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn}},
    )
    if not key.add_to_resource_policy(statement, allow_no_op=True).statement_added:
        Annotations.of(scope).add_warning_v2(
            "neo-recommender:imported-key-policy",
            "encryption_key is imported, so the pipeline cannot extend its key policy. The log groups are "
            "encrypted with it: its key policy must allow the service principal logs.<region>.amazonaws.com "
            "kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey (condition "
            "ArnLike kms:EncryptionContext:aws:logs:arn arn:aws:logs:<region>:<account>:log-group:*), and must "
            "let the account's IAM policies grant the key (the default key policy does), or the deployment fails.")
