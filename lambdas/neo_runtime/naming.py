"""Deterministic names derived from a submission's identity.

A submission is one version of one manifest object. Everything the workflow creates for it
is named from that identity, so a repeated event for the same object version maps to the
same run, model package token and Inference Recommender job.
"""

from __future__ import annotations

import hashlib
import re

# CreateInferenceRecommendationsJob.JobName: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}
_JOB_NAME_MAX = 64
# ModelPackageGroupName: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
_GROUP_NAME_MAX = 63
_RUN_ID_LENGTH = 20
#: Characters of the hash that ends a shortened name.
_HASH_LENGTH = 8


def run_id(bucket: str, key: str, version: str) -> str:
    """Identify a run by the manifest object's bucket, key and version (or ETag)."""
    identity = "\n".join((bucket, key, version)).encode("utf-8")
    return hashlib.sha256(identity).hexdigest()[:_RUN_ID_LENGTH]


def recommendation_job_name(prefix: str, model_name: str, run: str) -> str:
    """Name of the Inference Recommender job of a run: ``<prefix><model>-<run[:12]>``.

    A stem too long for SageMaker's 64 characters is shortened deterministically (see ``_shortened``).
    """
    suffix = f"-{run[:12]}"
    return _shortened(_slug(f"{prefix}{model_name}"), _JOB_NAME_MAX - len(suffix)) + suffix


def model_package_group_name(prefix: str, model_name: str) -> str:
    """Model package group that holds every version submitted under one model name.

    ``<prefix><model>``; when that exceeds SageMaker's 63 characters, its head and a hash of the
    whole, so two long model names never share a group. The run's record keeps the mapping.
    """
    return _shortened(_slug(f"{prefix}{model_name}"), _GROUP_NAME_MAX)


def _shortened(name: str, limit: int) -> str:
    """``name`` if it fits ``limit``, else its head, a hyphen and the first characters of its SHA-256."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
    return f"{name[: limit - _HASH_LENGTH - 1].rstrip('-')}-{digest}"


def client_token(run: str) -> str:
    """Idempotency token for CreateModelPackage ([a-zA-Z0-9-]+, at most 36 characters)."""
    return f"nr-{run}"


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-zA-Z0-9-]", "-", text)).strip("-")
