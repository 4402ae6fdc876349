"""Publish a run's notification; one SNS will not take is kept in the dead-letter queue instead of lost."""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from neo_runtime.aws import client, error_code
from neo_runtime.environment_names import DEAD_LETTER_QUEUE_URL


def announce(message: dict[str, Any], run_id: str) -> str | None:
    """Publish ``message`` (``sns.publish`` parameters) on the run's topic.

    Returns None once published. When SNS refuses it after boto3's retries (an outage, a disabled
    key, a deleted topic) the message goes to the dead-letter queue, whose alarm tells the operators,
    and the error code is returned for the run's record. Raises only when both fail.
    """
    topic_arn = os.environ["TOPIC_ARN"]
    try:
        client("sns").publish(TopicArn=topic_arn, **message)
        return None
    except (ClientError, BotoCoreError) as error:
        code = (error_code(error) if isinstance(error, ClientError) else type(error).__name__) or "SnsPublishFailed"
        if not keep_in_dead_letter_queue({"undelivered_notification": message, "topic_arn": topic_arn,
                                          "run_id": run_id, "error": f"{code}: {error}"[:2000]}):
            raise
        return code


def keep_in_dead_letter_queue(body: dict[str, Any]) -> bool:
    """Send ``body`` (JSON) to the pipeline's dead-letter queue; False when the deployment has none."""
    queue_url = os.environ.get(DEAD_LETTER_QUEUE_URL)
    if not queue_url:
        return False
    client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, default=str))
    return True
