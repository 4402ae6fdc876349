"""Synth-time checks of ``InferenceRecommenderPipeline``'s props.

Mistakes fail ``cdk synth`` with one ``ValueError`` that lists every problem, each naming the
prop and what to do; things that are legal but unwise become CDK ``Annotations`` warnings
(``cdk synth`` prints them; ``--strict`` turns them into errors).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from aws_cdk import Annotations, Duration, Token

from constructs import IConstruct
from neo_recommender.job_settings import TYPICAL_DEFAULT_JOB, JobSettings

MIN_POLL_INTERVAL = Duration.seconds(30)
LONG_POLL_INTERVAL = Duration.minutes(10)
#: Step Functions keeps at most 25,000 history events per execution; each pass of a waiting loop
#: (Wait, the Lambda task, Choice) writes 9, and a run's other states about 60. Past the limit an
#: execution fails where no Catch can record it, so the loops must fit with room to spare.
MAX_HISTORY_EVENTS = 24_000
EVENTS_PER_POLL = 9
EVENTS_OUTSIDE_LOOPS = 60
APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")
#: Room for the model name (48) and run suffix (13) in SageMaker's 63/64-character names.
MAX_NAME_PREFIX = 20
# SageMaker names allow single hyphens only (the pipeline collapses "--" in names it derives). Lower case only:
# SageMaker lower-cases the job name in an Inference Recommender job's ARN, and IAM matches ARNs case-sensitively,
# so a policy scoped to "NR-*" would never match the jobs it is meant for.
_NAME_PREFIX_PATTERN = re.compile(r"^[a-z0-9](-?[a-z0-9])*-?$")


@dataclass(frozen=True)
class PipelineProps:
    """The props the checks look at (the construct passes its own)."""

    watched_prefix: str
    compiled_output_prefix: str
    poll_interval: Duration
    job_deadline: Duration
    name_prefix: str
    model_approval_status: str
    results_retention: Duration | None
    job_settings: JobSettings
    subnet_count: int | None = None
    security_group_count: int | None = None
    max_concurrent_jobs: int | None = None
    max_queue_wait: Duration | None = None
    shared_poller: bool = True


def check_props(scope: IConstruct, props: PipelineProps) -> None:
    """Raise ``ValueError`` listing every invalid prop; add a warning to ``scope`` for each unwise one."""
    problems = (_prefix_problems(props) + _timing_problems(props) + _history_problems(props) + _naming_problems(props)
                + props.job_settings.problems() + _vpc_problems(props) + _queue_problems(props))
    if problems:
        raise ValueError("InferenceRecommenderPipeline: " + "; ".join(problems))
    for warning_id, message in _warnings(props):
        Annotations.of(scope).add_warning_v2(f"neo-recommender:{warning_id}", message)


def _prefix_problems(props: PipelineProps) -> list[str]:
    prefix = props.watched_prefix
    if Token.is_unresolved(prefix):
        return ["watched_prefix must be a plain string (it is part of the EventBridge pattern and IAM policies)"]
    problems = []
    if prefix.startswith("/"):
        problems.append(f"watched_prefix {prefix!r} starts with '/'; S3 keys do not, so nothing would ever match. "
                        f"Write {prefix.lstrip('/')!r}")
    if prefix and not prefix.endswith("/"):
        problems.append(f"watched_prefix {prefix!r} must end with '/' (a folder), e.g. {prefix + '/'!r}")
    if any(ch in prefix for ch in "*?"):
        problems.append(f"watched_prefix {prefix!r} contains a wildcard; give a literal folder such as 'models/'")
    if "//" in prefix:
        problems.append(f"watched_prefix {prefix!r} contains an empty folder name ('//')")
    compiled = props.compiled_output_prefix
    if prefix and (prefix.startswith(compiled) or compiled.startswith(prefix)):
        problems.append(f"watched_prefix {prefix!r} overlaps {compiled!r}, where Neo writes "
                        "compiled models; choose another folder, e.g. 'models/'")
    return problems


def _timing_problems(props: PipelineProps) -> list[str]:
    problems = []
    poll, deadline = props.poll_interval, props.job_deadline
    if Token.is_unresolved(poll) or Token.is_unresolved(deadline):
        return ["poll_interval and job_deadline must be plain Durations"]
    if _seconds(poll) < MIN_POLL_INTERVAL.to_seconds():
        problems.append(f"poll_interval is {poll.to_human_string()}; give at least 30 seconds (IR jobs run for "
                        "tens of minutes, and Describe calls are throttled)")
    if props.shared_poller and not (_seconds(poll) / 60).is_integer():
        problems.append(f"poll_interval is {poll.to_human_string()}; the shared poller runs on an EventBridge "
                        "schedule, so give whole minutes (or job_polling=JobPolling.PER_RUN)")
    if _seconds(deadline) <= _seconds(poll):
        problems.append(f"job_deadline ({deadline.to_human_string()}) must be longer than poll_interval "
                        f"({poll.to_human_string()})")
    duration = props.job_settings.job_duration
    if duration is not None and not Token.is_unresolved(duration) and _seconds(deadline) <= _seconds(duration):
        problems.append(f"job_deadline ({deadline.to_human_string()}) is not longer than job_settings.job_duration "
                        f"({duration.to_human_string()}), so every run would be stopped before its job ends; "
                        "raise job_deadline or shorten job_duration")
    retention = props.results_retention
    if retention is not None and not Token.is_unresolved(retention):
        days = _seconds(retention) / 86_400
        if days < 1 or not days.is_integer():
            problems.append(f"results_retention is {retention.to_human_string()}; give whole days, at least "
                            "Duration.days(1), or leave it out to keep results forever")
    return problems


def _history_problems(props: PipelineProps) -> list[str]:
    """The job's polls and the queue's polls must fit in one execution's history."""
    poll, deadline, wait = props.poll_interval, props.job_deadline, props.max_queue_wait
    if any(Token.is_unresolved(value) for value in (poll, deadline, wait)) or _seconds(poll) <= 0:
        return []
    problems = []
    if wait is not None and _seconds(wait) < _seconds(poll):
        problems.append(f"max_queue_wait ({wait.to_human_string()}) must be at least poll_interval "
                        f"({poll.to_human_string()})")
    queue_seconds = _seconds(wait) if wait is not None else 0
    # Waiting on the shared poller writes a few events per check of its own, which come ever later.
    job_polls = 0 if props.shared_poller else math.ceil(_seconds(deadline) / _seconds(poll))
    polls = job_polls + math.ceil(queue_seconds / _seconds(poll))
    if polls * EVENTS_PER_POLL + EVENTS_OUTSIDE_LOOPS > MAX_HISTORY_EVENTS:
        longest = (MAX_HISTORY_EVENTS - EVENTS_OUTSIDE_LOOPS) // EVENTS_PER_POLL * _seconds(poll) / 3600
        problems.append(
            f"job_deadline ({deadline.to_human_string()}) plus max_queue_wait "
            f"({wait.to_human_string() if wait else 'none'}) take {polls} polls of {poll.to_human_string()}, more "
            f"than one Step Functions execution's 25,000 history events hold; together they may last at most "
            f"{longest:.0f} hours at this poll_interval (poll less often, or shorten them)")
    return problems


def _seconds(duration: Duration) -> float:
    return duration.to_seconds(integral=False)


def _naming_problems(props: PipelineProps) -> list[str]:
    problems = []
    name_prefix = props.name_prefix
    if not _NAME_PREFIX_PATTERN.match(name_prefix) or len(name_prefix) > MAX_NAME_PREFIX:
        problems.append(f"name_prefix {name_prefix!r} must be 1-{MAX_NAME_PREFIX} lower-case letters, digits and "
                        "single hyphens, starting with a letter or digit (it begins SageMaker model package group and "
                        "job names, and SageMaker lower-cases job ARNs, which the IAM scoping must match), e.g. 'nr-'")
    if props.model_approval_status not in APPROVAL_STATUSES:
        problems.append(f"model_approval_status {props.model_approval_status!r} must be one of "
                        + ", ".join(APPROVAL_STATUSES))
    return problems


def _vpc_problems(props: PipelineProps) -> list[str]:
    problems = []
    if props.subnet_count is not None and not 1 <= props.subnet_count <= 16:
        problems.append(f"vpc_subnets select {props.subnet_count} subnets; Inference Recommender takes 1 to 16")
    if props.security_group_count is not None and not 1 <= props.security_group_count <= 5:
        problems.append(f"security_groups has {props.security_group_count}; Inference Recommender takes 1 to 5")
    return problems


def _queue_problems(props: PipelineProps) -> list[str]:
    maximum = props.max_concurrent_jobs
    if maximum is None:
        return []
    problems = []
    if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 1:
        problems.append(f"max_concurrent_jobs must be a whole number of at least 1, not {maximum!r}")
    return problems


def _warnings(props: PipelineProps) -> list[tuple[str, str]]:
    warnings = []
    if props.watched_prefix == "":
        warnings.append(("whole-bucket", "watched_prefix is empty: any <folder>/recommend.json in the bucket starts "
                                         "a run, and the IR role may read the whole bucket. Prefer a folder such as "
                                         "'models/'."))
    if _seconds(props.poll_interval) > LONG_POLL_INTERVAL.to_seconds():
        warnings.append(("slow-polling", f"poll_interval is {props.poll_interval.to_human_string()}: results arrive "
                                         "up to that long after the job ends. 1 minute is usual."))
    settings = props.job_settings
    if (settings.job_type == "Default" and settings.job_duration is None
            and _seconds(props.job_deadline) < TYPICAL_DEFAULT_JOB.to_seconds() + 15 * 60):
        warnings.append(("short-deadline", f"job_deadline is {props.job_deadline.to_human_string()}, but Default "
                                           "Inference Recommender jobs usually take about 45 minutes; most runs "
                                           "would be stopped. Give at least 1 hour (3 hours is the default)."))
    if settings.job_type == "Advanced" and not settings.instance_types:
        warnings.append(("advanced-without-instances", "job_settings.job_type is Advanced without instance_types: "
                                                       "every manifest must then list EndpointConfigurations."))
    if settings.job_type == "Default" and any(
            value is not None for value in (settings.traffic_pattern, settings.stopping_conditions,
                                            settings.resource_limit)):
        warnings.append(("advanced-settings-unused", "job_settings gives Advanced-only settings (traffic_pattern, "
                                                     "stopping_conditions, resource_limit) with job_type Default: "
                                                     "they apply only to manifests that ask for JobType Advanced."))
    return warnings
