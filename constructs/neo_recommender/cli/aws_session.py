"""AWS access for the commands that call AWS: one session from ``--profile``/``--region``, the
deployed stack's outputs, and AWS errors turned into ``AwsProblem`` (exit code 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from neo_recommender.cli.problems import AwsProblem


def session(profile: str | None, region: str | None) -> Any:
    """A boto3 session of ``profile`` (default: your AWS configuration) in ``region``."""
    import boto3  # noqa: PLC0415 - the commands that never call AWS do not load it

    with aws_errors():
        return boto3.session.Session(profile_name=profile, region_name=region)


def stack_outputs(aws: Any, stack_name: str) -> dict[str, str]:
    """The outputs of a deployed stack, by key."""
    with aws_errors():
        (stack,) = aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: str(output["OutputValue"]) for output in stack.get("Outputs", [])}


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn botocore's errors (no credentials, no region, unknown profile, refused requests) into ``AwsProblem``."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AwsProblem(f"{details.get('Code')}: {details.get('Message')} (check --stack/--table/--bucket, "
                         "--profile, --region and your credentials)") from None
    except BotoCoreError as error:
        raise AwsProblem(f"{error} (check --profile, --region and your AWS credentials)") from None
