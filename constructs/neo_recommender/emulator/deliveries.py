"""What AWS checks before a service delivers on the account's behalf, as the template wires the services.

Each function answers one delivery with an IAM decision (``iam_policy.Decision``); the caller delivers, retries
or drops as the service does. A refusal is recorded by the enforcement (``IamEnforcement.denials``).

- EventBridge to a state machine: EventBridge assumes the target's role (its trust policy must allow
  ``events.amazonaws.com``) and calls ``states:StartExecution`` with it
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
- EventBridge to a Lambda function: the function's resource-based policy must allow ``events.amazonaws.com``
  ``lambda:InvokeFunction`` from the rule (https://docs.aws.amazon.com/eventbridge/latest/userguide/
  eb-use-resource-based.html#eb-lambda-permissions).
- EventBridge to a dead-letter queue: the queue's policy must allow ``events.amazonaws.com`` ``sqs:SendMessage``
  from the rule (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms).
- Lambda to a function's dead-letter queue: with the function's execution role
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq).
- CloudWatch to an alarm's topic: the topic's policy must allow ``cloudwatch.amazonaws.com`` ``sns:Publish``, and
  an encrypted topic's key policy must let it use the key
  (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
- S3 to EventBridge needs no permission: the bucket's EventBridge switch is all
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neo_recommender.emulator.iam_enforcement import role_principal
from neo_recommender.emulator.iam_policy import Decision, Principal
from neo_recommender.emulator.iam_requests import plain_request

if TYPE_CHECKING:
    from neo_recommender.emulator.iam_enforcement import IamEnforcement

EVENTS = "events.amazonaws.com"
CLOUDWATCH = "cloudwatch.amazonaws.com"


def events_may_start_execution(iam: IamEnforcement, rule_arn: str, role_arn: str | None,
                               state_machine_arn: str) -> Decision:
    """EventBridge assumes the target role, then starts the execution with it."""
    if not role_arn:
        return _refused(iam, rule_arn, "states:StartExecution", state_machine_arn, "the target has no RoleArn")
    trusted = iam.check_assume_role(role_arn, EVENTS, source_arn=rule_arn)
    if not trusted.allowed:
        return trusted
    return iam.check(role_principal(role_arn, "events"), [plain_request("states:StartExecution",
                                                                       (state_machine_arn,))], delivered=False)


def events_may_invoke(iam: IamEnforcement, rule_arn: str, function_arn: str) -> Decision:
    """The function's resource-based policy must let the rule invoke it."""
    return iam.check(Principal(EVENTS, iam.account), [plain_request("lambda:InvokeFunction", (function_arn,))],
                     delivered=False, keys=_source(iam, rule_arn))


def events_may_dead_letter(iam: IamEnforcement, rule_arn: str, queue_arn: str) -> Decision:
    """The queue's policy must let EventBridge send the rule's undeliverable events."""
    return iam.check(Principal(EVENTS, iam.account), [plain_request("sqs:SendMessage", (queue_arn,))],
                     delivered=False, keys=_source(iam, rule_arn))


def lambda_may_dead_letter(iam: IamEnforcement, role_arn: str, function_name: str, queue_arn: str) -> Decision:
    """Lambda sends a failed asynchronous event to the function's dead-letter queue with the function's role."""
    return iam.check(role_principal(role_arn, function_name), [plain_request("sqs:SendMessage", (queue_arn,))],
                     delivered=False)


def cloudwatch_may_publish(iam: IamEnforcement, alarm_arn: str, topic_arn: str, key: str | None) -> Decision:
    """CloudWatch publishes an alarm's state change to its topic: the topic's and its key's policies decide."""
    principal = Principal(CLOUDWATCH, iam.account)
    decision = iam.check(principal, [plain_request("sns:Publish", (topic_arn,))], delivered=False,
                         keys=_source(iam, alarm_arn))
    if decision.allowed and key:
        decision = iam.check_key_use(principal, key, ("kms:GenerateDataKey", "kms:Decrypt"), via_service=None,
                                     delivered=False, keys=_source(iam, alarm_arn))
    return decision


def _source(iam: IamEnforcement, source_arn: str) -> dict[str, str]:
    return {"aws:SourceArn": source_arn, "aws:SourceAccount": iam.account}


def _refused(iam: IamEnforcement, rule_arn: str, action: str, resource: str, why: str) -> Decision:
    from neo_recommender.emulator.iam_policy import Outcome, RequestContext

    context = RequestContext(action, resource, Principal(EVENTS, iam.account), {}, frozenset())
    decision = Decision(Outcome.IMPLICIT_DENY, context, reason=f"({why}; rule {rule_arn})")
    iam.record_denial(decision, delivered=False)
    return decision
