"""IAM policy evaluation, as AWS documents it, for the requests of one account.

Sources:
- Policy evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (an explicit Deny in any policy wins; otherwise an Allow in an identity-based or a resource-based policy
  allows a request within the account; otherwise the request is implicitly denied).
- Policy elements: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html (Action and
  NotAction match case-insensitively with ``*`` and ``?``; Resource and NotResource case-sensitively; a Principal
  naming an account delegates to the account's identity-based policies).
- Condition operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (condition keys are case-insensitive; a key absent from the request makes a condition false, except for the
  negated operators, ``...IfExists``, ``ForAllValues:`` and ``Null``; several values of one key are ORed, several
  keys and operators are ANDed; ARNs are matched component by component).
- KMS key policies: https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html (no principal may use a
  key unless its key policy allows it, directly or by delegating to the account's IAM policies).

moto ships an evaluator (``moto.iam.access_control``), but it denies when an Allow statement's condition does not
hold, and knows neither NotResource nor ``?``; this module implements the documented logic instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any


class UnsupportedPolicy(ValueError):
    """A policy uses something this evaluator cannot judge faithfully (an operator, a variable, a key)."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a role session (``arn`` is the role's ARN) or an AWS service principal."""

    arn: str
    """``arn:aws:iam::<account>:role/<name>``, or a service principal such as ``events.amazonaws.com``."""
    account: str
    session_name: str = "session"

    @property
    def is_service(self) -> bool:
        """True for an AWS service principal."""
        return not self.arn.startswith("arn:")

    @property
    def display_arn(self) -> str:
        """The ARN AWS names in its error messages: the assumed-role session of a role."""
        if self.is_service:
            return self.arn
        name = self.arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{self.account}:assumed-role/{name}/{self.session_name}"


@dataclass(frozen=True)
class Policy:
    """One policy document and where it comes from (used to name the statements that decided a request)."""

    source: str
    document: Mapping[str, Any]
    resource_based: bool = False


@dataclass(frozen=True)
class StatementRef:
    """A statement of a policy: the policy's source and the statement's position in it."""

    source: str
    index: int
    sid: str | None = None


@dataclass(frozen=True)
class RequestContext:
    """What a request asks: one action on one resource, by one principal, with its condition keys.

    ``keys`` maps lower-case condition key names to their values. ``supported_keys`` (lower case) are the keys
    this emulator knows for the request, present or not: a policy condition on any other key raises
    ``UnsupportedPolicy`` rather than being judged absent.
    """

    action: str
    resource: str
    principal: Principal
    keys: Mapping[str, tuple[str, ...]]
    supported_keys: frozenset[str]


class Outcome(Enum):
    """How a set of policies answers a request."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Decision:
    """The answer to one request, and the statements behind it."""

    outcome: Outcome
    context: RequestContext
    allowed_by: tuple[StatementRef, ...] = ()
    denied_by: tuple[StatementRef, ...] = ()
    reason: str = ""
    """For a denial, how AWS words its cause, e.g. ``no identity-based policy allows the s3:GetObject action``."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def allowed(self) -> bool:
        """True when the request may proceed."""
        return self.outcome is Outcome.ALLOWED


def decide(identity: Sequence[Policy], resource: Sequence[Policy], context: RequestContext) -> Decision:
    """The documented evaluation for a principal and a resource in the same account.

    An explicit Deny in any policy wins. Otherwise the request is allowed by an identity-based Allow, or by a
    resource-based Allow that names this principal (or everyone); a resource-based Allow that names only the
    account delegates to the identity-based policies.
    """
    denied = _matching(identity, context, "Deny") + _matching(resource, context, "Deny")
    if denied:
        kind = "a resource-based" if any(ref in _refs(resource) for ref in denied) else "an identity-based"
        return Decision(Outcome.EXPLICIT_DENY, context, denied_by=tuple(denied),
                        reason=f"with an explicit deny in {kind} policy")
    allowed = _matching(identity, context, "Allow")
    allowed += [ref for ref in _matching(resource, context, "Allow", direct_only=True)]
    if allowed:
        return Decision(Outcome.ALLOWED, context, allowed_by=tuple(allowed))
    kind = "identity-based" if not context.principal.is_service else "resource-based"
    return Decision(Outcome.IMPLICIT_DENY, context,
                    reason=f"because no {kind} policy allows the {context.action} action")


def decide_key_use(key_policy: Policy, identity: Sequence[Policy], context: RequestContext) -> Decision:
    """A KMS request: the key policy must allow it, itself or by delegating to the account's IAM policies."""
    denied = _matching([key_policy], context, "Deny") + _matching(identity, context, "Deny")
    if denied:
        return Decision(Outcome.EXPLICIT_DENY, context, denied_by=tuple(denied),
                        reason="with an explicit deny in a key policy or an identity-based policy")
    direct = _matching([key_policy], context, "Allow", direct_only=True)
    if direct:
        return Decision(Outcome.ALLOWED, context, allowed_by=tuple(direct))
    delegated = _matching([key_policy], context, "Allow", delegation_only=True)
    if delegated and not context.principal.is_service:
        through_iam = _matching(identity, context, "Allow")
        if through_iam:
            return Decision(Outcome.ALLOWED, context, allowed_by=tuple(delegated + through_iam))
        return Decision(Outcome.IMPLICIT_DENY, context,
                        reason=f"because no identity-based policy allows the {context.action} action")
    return Decision(Outcome.IMPLICIT_DENY, context,
                    reason=f"because no key policy allows the {context.action} action")


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy's statements as a list (a single statement may be given as an object)."""
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def parse(document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """A policy document from its JSON text (as IAM stores it, possibly URL-encoded) or as given."""
    if isinstance(document, str):
        return _parse_text(document)
    return document


@cache
def _parse_text(text: str) -> Mapping[str, Any]:
    from urllib.parse import unquote

    stripped = text.strip()
    return json.loads(stripped if stripped.startswith("{") else unquote(stripped))  # type: ignore[no-any-return]


def _refs(policies: Sequence[Policy]) -> set[StatementRef]:
    return {StatementRef(p.source, i, s.get("Sid")) for p in policies for i, s in enumerate(statements(p.document))}


def _matching(policies: Sequence[Policy], context: RequestContext, effect: str, *, direct_only: bool = False,
              delegation_only: bool = False) -> list[StatementRef]:
    found = []
    for policy in policies:
        for index, statement in enumerate(statements(policy.document)):
            if statement.get("Effect") != effect:
                continue
            if policy.resource_based:
                naming = _names_principal(statement, context.principal)
                if naming is None:
                    continue
                if effect == "Allow" and ((direct_only and naming == "account") or
                                          (delegation_only and naming != "account")):
                    continue
            if _applies(statement, context):
                found.append(StatementRef(policy.source, index, statement.get("Sid")))
    return found


def _applies(statement: Mapping[str, Any], context: RequestContext) -> bool:
    if "Action" not in statement and "NotAction" not in statement:
        raise UnsupportedPolicy(f"statement without Action or NotAction: {statement}")
    return (_element_matches(statement, "Action", context.action, _action_matches)
            and _element_matches(statement, "Resource", context.resource, _wildcard_matches)
            and _conditions_hold(statement.get("Condition") or {}, context))


def _element_matches(statement: Mapping[str, Any], name: str, value: str, matches: Any) -> bool:
    """Whether ``Action``/``Resource`` (or its ``Not`` form) covers ``value``; a statement with neither (a trust
    policy has no Resource) covers everything."""
    if name in statement:
        return any(matches(pattern, value) for pattern in _values(statement[name]))
    if f"Not{name}" in statement:
        return not any(matches(pattern, value) for pattern in _values(statement[f"Not{name}"]))
    return True


def _names_principal(statement: Mapping[str, Any], principal: Principal) -> str | None:
    """How a resource-based statement names ``principal``: "direct", "everyone", "account", or None (not at all)."""
    if "NotPrincipal" in statement:
        raise UnsupportedPolicy("NotPrincipal is not used by the pipeline and is not evaluated here")
    named = statement.get("Principal")
    if named is None:  # a trust policy statement without Principal is invalid; a key policy too
        return None
    if named == "*":
        return "everyone"
    if not isinstance(named, Mapping):
        raise UnsupportedPolicy(f"Principal {named!r}")
    found = [_naming(kind, value, principal) for kind, values in named.items() for value in _values(values)]
    for naming in ("direct", "everyone", "account"):
        if naming in found:
            return naming
    return None


def _naming(kind: str, value: str, principal: Principal) -> str | None:
    if kind == "Service":
        return "direct" if principal.is_service and value == principal.arn else None
    if kind != "AWS":
        if kind not in ("Federated", "CanonicalUser"):
            raise UnsupportedPolicy(f"Principal type {kind!r}")
        return None
    if value == "*":
        return "everyone"
    if principal.is_service:
        return None
    if value in (principal.arn, principal.display_arn):
        return "direct"
    return "account" if value in (principal.account, f"arn:aws:iam::{principal.account}:root") else None


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern.lower()).fullmatch(action.lower()) is not None


def _wildcard_matches(pattern: str, value: str) -> bool:
    if "${" in pattern:
        raise UnsupportedPolicy(f"policy variable in {pattern!r}")
    return _wildcard(pattern).fullmatch(value) is not None


@cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern),
                      re.DOTALL)


# ----------------------------------------------------------------------------- conditions

_STRING = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
           "StringNotLike"}
_ARN = {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_NUMERIC = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
            "NumericGreaterThanEquals"}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
            "NumericNotEquals"}


def _conditions_hold(conditions: Mapping[str, Any], context: RequestContext) -> bool:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key.lower(), _values(expected), context):
                return False
    return True


def _condition_holds(operator: str, key: str, expected: list[str], context: RequestContext) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    if base not in _STRING | _ARN | _NUMERIC | {"Bool", "Null"}:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    if any("${" in value for value in expected):
        raise UnsupportedPolicy(f"policy variable in condition {operator} {key}")
    if key not in context.keys and not _supported(key, context.supported_keys):
        raise UnsupportedPolicy(f"condition key {key!r} on {context.action}: the emulator does not know it for "
                                "this request, so it cannot say whether AWS would send it")
    actual = context.keys.get(key)
    if base == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    if actual is None:
        return if_exists or qualifier == "ForAllValues" or base in _NEGATED
    if qualifier == "ForAllValues":
        return all(_one_matches(base, value, expected) for value in actual)
    if base in _NEGATED:
        return not any(_one_matches(base.replace("Not", ""), value, expected) for value in actual)
    return any(_one_matches(base, value, expected) for value in actual)


def _supported(key: str, supported: frozenset[str]) -> bool:
    """Whether the emulator knows ``key`` for the request; an entry ending in ``/`` stands for a family."""
    return key in supported or any(entry.endswith(("/", ":")) and key.startswith(entry) for entry in supported)


def _one_matches(base: str, value: str, expected: Iterable[str]) -> bool:
    return any(_compare(base, value, candidate) for candidate in expected)


def _compare(base: str, value: str, expected: str) -> bool:
    if base == "StringEquals":
        return value == expected
    if base == "StringEqualsIgnoreCase":
        return value.lower() == expected.lower()
    if base == "StringLike":
        return _wildcard(expected).fullmatch(value) is not None
    if base == "Bool":
        return value.lower() == expected.lower()
    if base in ("ArnEquals", "ArnLike"):
        return _arn_matches(expected, value)
    if base.startswith("Numeric"):
        number, bound = float(value), float(expected)
        return {"NumericEquals": number == bound, "NumericLessThan": number < bound,
                "NumericLessThanEquals": number <= bound, "NumericGreaterThan": number > bound,
                "NumericGreaterThanEquals": number >= bound}[base]
    raise UnsupportedPolicy(f"condition operator {base!r}")


def _arn_matches(pattern: str, arn: str) -> bool:
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(_wildcard(p).fullmatch(a) is not None for p, a in zip(pattern_parts, arn_parts, strict=True))
