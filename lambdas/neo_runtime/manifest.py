"""The submission manifest (``recommend.json``): parse, check against its schema, normalise.

The schema file next to this module is the contract users write against; this module
adds the checks a schema cannot express (Advanced-only fields, where the archives live)
and turns the document into a ``Manifest`` with every default filled in.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from neo_runtime.errors import NOTE, Finding, SubmissionInvalid

SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
MAX_MANIFEST_BYTES = 256 * 1024
#: Longest S3 URL SageMaker takes for ModelDataUrl and SamplePayloadUrl.
MAX_S3_URL_CHARS = 1024
ADVANCED_ONLY_FIELDS = ("EndpointConfigurations", "TrafficPattern", "StoppingConditions", "ResourceLimit")
#: Framework names read as IR's own (CreateInferenceRecommendationsJob, RecommendationJobContainerConfig.Framework:
#: TENSORFLOW | PYTORCH | XGBOOST | SAGEMAKER-SCIKIT-LEARN).
FRAMEWORK_ALIASES = {"SKLEARN": "SAGEMAKER-SCIKIT-LEARN"}
#: Longest single-quoted DataInputConfig read as a literal (the schema's string form is at most 1024 characters).
_MAX_LITERAL_CHARS = 1024
#: ModelLatencyThreshold.Percentile, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelLatencyThreshold.html:
#: "Acceptable values are P95 and P99. For custom load tests, specify the value as P95." StoppingConditions
#: (RecommendationJobStoppingConditions) serve only custom load tests, which Advanced jobs are.
LOAD_TEST_PERCENTILE = "P95"
#: Phase.DurationInSeconds, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Phase.html: "For custom load
#: tests, the value should be between 120 and 3600. This value should not exceed JobDurationInSeconds."
MIN_PHASE_SECONDS, MAX_PHASE_SECONDS = 120, 3600
#: RecommendationJobInputConfig.JobDurationInSeconds,
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RecommendationJobInputConfig.html: "The maximum value
#: is 18,000 seconds." (botocore's model gives only the minimum, 1.) The schema allows at most 7200 of it.
MAX_JOB_DURATION_SECONDS = 18000

_FIELD_ACTIONS = {
    "DataInputConfig": 'Give input names and shapes, e.g. {"data": [1, 50]} for 50 features.',
    "Image": "Use the ECR URI of the SageMaker container for your framework and region, or leave Image out.",
    "ModelName": "Use letters, digits and hyphens, starting and ending with a letter or digit (at most 63 characters).",
    "NearestModelName": "Use the name of a public model such as xgboost or resnet50 (letters, digits, . _ -).",
    "FrameworkVersion": "Give the version as SageMaker expects it: a digit, a dot, then more, e.g. 1.2.0 or 1.2-1.",
    "SupportedContentTypes": "Use MIME types such as text/csv or application/json.",
    "SupportedResponseMIMETypes": "Use MIME types such as text/csv or application/json.",
    "SupportedRealtimeInferenceInstanceTypes": "Use SageMaker instance types such as ml.c5.xlarge.",
    "AllowedInstanceTypes": "Use SageMaker instance types such as ml.c5.xlarge.",
    "MaxModelLatencyMs": "Give the highest acceptable model latency in milliseconds, e.g. 50.",
    "MinInvocationsPerMinute": "Give the lowest acceptable throughput in invocations per minute, e.g. 1000.",
    "EndpointConfigurations": 'List instance types to test, e.g. [{"InstanceType": "ml.c5.xlarge"}].',
    # EnvironmentParameterRanges, CategoricalParameter (API reference): 1 to 5 variables, 1 to 3 values each.
    "EnvironmentParameterRanges": 'Give the environment values to try as {"CategoricalParameterRanges": [{"Name": '
                                  '"OMP_NUM_THREADS", "Value": ["1", "2", "4"]}]}: 1 to 5 variables, each with 1 to '
                                  "3 string values.",
    "Environment": "Use variable names of letters, digits and underscores, with string values.",
}


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, as published in the repository."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ArchiveLocation:
    """Where an archive named by the manifest lives."""

    bucket: str
    key: str

    @property
    def url(self) -> str:
        """The ``s3://`` URL SageMaker expects."""
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Manifest:
    """A valid manifest with every default applied; field names follow the SageMaker API."""

    model_name: str
    framework: str
    framework_version: str
    image: str
    nearest_model_name: str
    data_input_config: str
    supported_content_types: tuple[str, ...]
    supported_response_mime_types: tuple[str, ...]
    domain: str = "MACHINE_LEARNING"
    task: str = "OTHER"
    instance_types: tuple[str, ...] = ()
    model_archive: str = "model.tar.gz"
    payload_archive: str = "payload.tar.gz"
    job_type: str = "Default"
    job_description: str = ""
    job_duration_seconds: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    advanced: dict[str, Any] = field(default_factory=dict)
    max_model_latency_ms: float | None = None
    min_invocations_per_minute: float | None = None
    allowed_instance_types: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the workflow's state."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Inverse of ``to_dict``."""
        values = dict(data)
        for name in ("supported_content_types", "supported_response_mime_types", "instance_types",
                     "allowed_instance_types"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


def parse_manifest(raw: bytes) -> Manifest:
    """Decode, check and normalise a manifest, raising ``SubmissionInvalid`` with every problem.

    Only the manifest itself is checked here; ``neo_runtime.validation`` adds the framework,
    image, instance-type and archive checks.
    """
    document = decode_manifest(raw)
    findings = manifest_findings(document)
    if findings:
        raise SubmissionInvalid(findings)
    return normalise(document)


def decode_manifest(raw: bytes) -> dict[str, Any]:
    """The manifest's JSON object; ``SubmissionInvalid`` when it is too big, not JSON or not an object."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise SubmissionInvalid([Finding(
            "recommend.json", f"is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}",
            "A manifest is a few hundred bytes; upload the archives as separate objects.")])
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_non_finite)
    except UnicodeDecodeError:
        raise SubmissionInvalid([Finding("recommend.json", "is not UTF-8 text",
                                         "Save the manifest as UTF-8 JSON.")]) from None
    except json.JSONDecodeError as error:
        raise SubmissionInvalid([Finding(
            "recommend.json", f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})",
            "Check the file with a JSON linter; docs/manifest.md shows a complete example.")]) from None
    except ValueError as error:  # NaN or Infinity, which JSON does not have
        raise SubmissionInvalid([Finding("recommend.json", str(error),
                                         "Write numbers as plain decimals, e.g. 50.")]) from None
    except RecursionError:
        raise SubmissionInvalid([Finding("recommend.json", "is nested too deeply",
                                         "A manifest is a flat object of a few fields.")]) from None
    if not isinstance(document, dict):
        raise SubmissionInvalid([Finding(
            "recommend.json", f"must be a JSON object, not {_json_type(document)}",
            "Wrap the fields in { }; docs/manifest.md shows a complete example.")])
    return document


def manifest_findings(document: dict[str, Any]) -> list[Finding]:
    """Every problem of the decoded manifest against its schema and the rules a schema cannot express."""
    from neo_runtime.schema_check import check  # noqa: PLC0415 - steps reading a checked manifest skip it

    worded = percentile_findings(document.get("StoppingConditions"))
    superseded = {finding.field for finding in worded}  # AWS's rule, in its words, instead of "must be one of"
    findings = [Finding(v.path or "recommend.json", v.message, _action_for(v.path))
                for v in check(document, manifest_schema()) if v.path not in superseded] + worded
    reported = {finding.field for finding in findings}
    findings += [finding for finding in _control_character_findings(document) if finding.field not in reported]
    findings += _check_data_input_string(document.get("DataInputConfig"))
    findings += _check_job_type_fields(document)
    return findings


def manifest_notes(document: dict[str, Any]) -> list[Finding]:
    """What ``normalise`` will read differently from how the manifest writes it (severity ``note``)."""
    notes = []
    if document.get("SupportedResponseMIMETypes") == []:
        notes.append(Finding("SupportedResponseMIMETypes", "is an empty list (as AWS's IR notebooks send it); read "
                             "as left out, so it defaults to SupportedContentTypes", "Nothing to do.", NOTE))
    data_input = document.get("DataInputConfig")
    if isinstance(data_input, str) and _parse_json(data_input) is None and _parse_literal(data_input) is not None:
        registered = json.dumps(_parse_literal(data_input), separators=(",", ":"))
        notes.append(Finding("DataInputConfig", f"is written with single quotes, as Neo's documentation shows it; "
                             f"registered as the JSON {registered}", "Nothing to do.", NOTE))
    framework = document.get("Framework")
    if isinstance(framework, str) and framework in FRAMEWORK_ALIASES:  # a list or object is the schema's finding
        notes.append(Finding("Framework", f"{framework} is registered as {FRAMEWORK_ALIASES[framework]}, the name "
                             "Inference Recommender's API uses", "Nothing to do.", NOTE))
    return notes


def resolve_archive(
    field_name: str, value: str, bucket: str, manifest_key: str, prefix: str
) -> ArchiveLocation:
    """Resolve ``ModelArchive``/``PayloadArchive`` to a location in the submission bucket.

    Relative values are keys under the manifest's folder; ``s3://`` URIs must point into the
    same bucket and watched prefix, which is all the pipeline (and IR's role) may read.
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise SubmissionInvalid([Finding(field_name, "contains control characters",
                                         "Use a plain key such as model.tar.gz.")])
    if value.startswith("s3://"):
        target_bucket, _, key = value[len("s3://"):].partition("/")
        if target_bucket != bucket:
            raise SubmissionInvalid([Finding(
                field_name, f"points at bucket {target_bucket!r}; the pipeline reads only {bucket!r}",
                "Upload the archive next to recommend.json and give its file name.")])
    else:
        if value.startswith("/") or "\\" in value:
            raise SubmissionInvalid([Finding(
                field_name, "must be a key relative to the manifest's folder",
                "Give the file name, e.g. model.tar.gz.")])
        key = manifest_key.rpartition("/")[0] + "/" + value if "/" in manifest_key else value
    if not key or any(part in ("", ".", "..") for part in key.split("/")):
        raise SubmissionInvalid([Finding(
            field_name, f"resolves to an unusable key {key!r} (empty, '.' or '..' segments)",
            "Give a plain key without '..' or '//'.")])
    if prefix and not key.startswith(prefix):
        raise SubmissionInvalid([Finding(
            field_name, f"resolves to {key!r}, outside the watched prefix {prefix!r}",
            f"Keep the archives under {prefix}.")])
    location = ArchiveLocation(bucket, key)
    if len(location.url) > MAX_S3_URL_CHARS:
        raise SubmissionInvalid([Finding(
            field_name, f"resolves to an S3 URL of {len(location.url)} characters; SageMaker accepts at most "
            f"{MAX_S3_URL_CHARS} (ModelDataUrl, SamplePayloadUrl)", "Use a shorter folder or file name.")])
    return location


def _check_data_input_string(value: Any) -> list[Finding]:
    if not isinstance(value, str) or _parse_json(value) is not None or _parse_literal(value) is not None:
        return []
    return [Finding("DataInputConfig", "is a string but neither JSON nor a single-quoted mapping of input names to "
                    "shapes", _FIELD_ACTIONS["DataInputConfig"])]


def parse_data_input(value: str) -> Any:  # noqa: ANN401 - a mapping or a list of shapes
    """A DataInputConfig string as data: JSON, or the single-quoted form of Neo's page and the console.

    The single-quoted form (``"{'input':[1,1024,1024,3]}"``) is read with ``ast.literal_eval``, which
    evaluates literals only (never code), and kept only when it is a mapping of names to lists of
    numbers, or a list of such lists. None when the string is neither.
    """
    parsed = _parse_json(value)
    return parsed if parsed is not None else _parse_literal(value)


def _parse_json(value: str) -> Any:  # noqa: ANN401
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        return None


def _parse_literal(value: str) -> Any:  # noqa: ANN401
    if len(value) > _MAX_LITERAL_CHARS or "'" not in value:
        return None
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None

    def shape(item: Any) -> bool:
        return isinstance(item, list) and all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in item)

    if isinstance(parsed, dict) and all(isinstance(k, str) and shape(v) for k, v in parsed.items()):
        return parsed
    if isinstance(parsed, list) and all(shape(item) for item in parsed):
        return parsed
    return None


def _control_character_findings(document: Any) -> list[Finding]:
    from neo_runtime.schema_check import control_characters  # noqa: PLC0415 - as in manifest_findings

    # Iterative, so a deeply nested (hostile) document cannot exhaust the call stack.
    findings = []
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            message = control_characters(value)
            if message:
                findings.append(Finding(path or "recommend.json", message, "Use printable text only."))
        elif isinstance(value, dict):
            pending += [(f"{path}.{key}" if path else str(key), item) for key, item in reversed(value.items())]
        elif isinstance(value, list):
            pending += [(f"{path}[{index}]", item) for index, item in reversed(list(enumerate(value)))]
    return findings


def _check_job_type_fields(document: dict[str, Any]) -> list[Finding]:
    job_type = document.get("JobType", "Default")
    if job_type not in ("Default", "Advanced"):  # the schema reports it; which fields belong is unknown
        return []
    if job_type == "Advanced":
        missing = [] if "EndpointConfigurations" in document else [Finding(
            "EndpointConfigurations", "is required for Advanced jobs",
            'List the instance types to test, e.g. [{"InstanceType": "ml.c5.xlarge"}].')]
        return missing + _check_load_test(document)  # the load test's own rules need no endpoint configurations
    return [Finding(name, "is used only by Advanced jobs",
                    'Set "JobType": "Advanced" or remove the field.')
            for name in ADVANCED_ONLY_FIELDS if name in document]


def _check_load_test(document: dict[str, Any]) -> list[Finding]:
    """The rules SageMaker applies to an Advanced job (a custom load test) that a schema cannot express."""
    findings = []
    configurations = document.get("EndpointConfigurations")
    for index, item in enumerate(configurations if isinstance(configurations, list) else []):
        if isinstance(item, dict) and "InferenceSpecificationName" in item:
            # The pipeline registers one, unnamed InferenceSpecification: a named one does not exist when the job
            # starts (EndpointInputConfiguration.InferenceSpecificationName must name one of the package's).
            findings.append(Finding(
                f"EndpointConfigurations[{index}].InferenceSpecificationName",
                f"names {item['InferenceSpecificationName']!r}, an inference specification the model package will "
                "not have (the pipeline registers a single, unnamed one)", "Remove InferenceSpecificationName."))
    return findings + phase_findings(document.get("TrafficPattern"), document.get("JobDurationInSeconds"))


def percentile_findings(stopping_conditions: Any) -> list[Finding]:  # noqa: ANN401 - a checked or unchecked value
    """Each ``ModelLatencyThresholds[].Percentile`` other than P95, with AWS's rule (see ``LOAD_TEST_PERCENTILE``).

    Shared by manifests and the deployment's job settings; a value the schema refuses gets this finding instead.
    """
    thresholds = stopping_conditions.get("ModelLatencyThresholds") if isinstance(stopping_conditions, dict) else None
    return [Finding(f"StoppingConditions.ModelLatencyThresholds[{index}].Percentile",
                    f"is {json.dumps(threshold['Percentile'])}; acceptable values are P95 and P99, and for custom load "
                    "tests (Advanced jobs, the only jobs with StoppingConditions) the value must be P95",
                    f'Use "{LOAD_TEST_PERCENTILE}".')
            for index, threshold in enumerate(thresholds if isinstance(thresholds, list) else [])
            if isinstance(threshold, dict) and "Percentile" in threshold
            and threshold["Percentile"] != LOAD_TEST_PERCENTILE]


def phase_findings(traffic_pattern: Any, job_duration: Any) -> list[Finding]:  # noqa: ANN401 - unchecked values
    """A custom load test's phases against AWS's bounds: each at most ``MAX_PHASE_SECONDS``, all together at most
    ``JobDurationInSeconds`` or, without it, the longest job the API allows (``MAX_JOB_DURATION_SECONDS``).

    Shared by manifests and the deployment's job settings.
    """
    phases = traffic_pattern.get("Phases") if isinstance(traffic_pattern, dict) else None
    durations = [(index, phase["DurationInSeconds"]) for index, phase in enumerate(phases)
                 if isinstance(phase, dict) and _is_whole_number(phase.get("DurationInSeconds"))
                 ] if isinstance(phases, list) else []
    findings = [Finding(f"TrafficPattern.Phases[{index}].DurationInSeconds",
                        f"is {seconds}; for custom load tests, the value should be between {MIN_PHASE_SECONDS} and "
                        f"{MAX_PHASE_SECONDS} (Phase.DurationInSeconds)",
                        f"Give each phase {MIN_PHASE_SECONDS} to {MAX_PHASE_SECONDS} s; for a longer test, add phases "
                        "(up to 10).")
                for index, seconds in durations if not MIN_PHASE_SECONDS <= seconds <= MAX_PHASE_SECONDS]
    total = sum(seconds for _, seconds in durations)
    limit = manifest_schema()["properties"]["JobDurationInSeconds"]["maximum"]
    if _is_whole_number(job_duration):
        if total > job_duration:
            findings.append(Finding(
                "TrafficPattern.Phases", f"last {total} s in all, longer than JobDurationInSeconds ({job_duration} s), "
                "so the job would end before its traffic pattern does",
                f"Shorten the phases or raise JobDurationInSeconds (at most {limit})."))
    elif total > MAX_JOB_DURATION_SECONDS:
        findings.append(Finding(
            "TrafficPattern.Phases", f"last {total} s in all, longer than the longest job Inference Recommender runs "
            f"(JobDurationInSeconds: at most {MAX_JOB_DURATION_SECONDS} s)",
            f"Shorten or remove phases so that they last at most {MAX_JOB_DURATION_SECONDS} s in all."))
    return findings


def _is_whole_number(value: Any) -> bool:  # noqa: ANN401
    return isinstance(value, int) and not isinstance(value, bool)


def normalise(document: dict[str, Any], image: str | None = None) -> Manifest:
    """A checked manifest document as a ``Manifest``, defaults applied; ``image`` replaces a missing Image."""
    data_input = document.get("DataInputConfig")
    if isinstance(data_input, str):
        data_input = parse_data_input(data_input)
    content_types = tuple(document["SupportedContentTypes"])
    return Manifest(
        model_name=document["ModelName"],
        framework=FRAMEWORK_ALIASES.get(document["Framework"], document["Framework"]),
        framework_version=document["FrameworkVersion"],
        image=document.get("Image") or image or "",
        nearest_model_name=document.get("NearestModelName", ""),
        data_input_config=json.dumps(data_input, separators=(",", ":")) if data_input is not None else "",
        supported_content_types=content_types,
        supported_response_mime_types=tuple(document.get("SupportedResponseMIMETypes") or content_types),
        domain=document.get("Domain", "MACHINE_LEARNING"),
        task=document.get("Task", "OTHER"),
        instance_types=tuple(document.get("SupportedRealtimeInferenceInstanceTypes", ())),
        model_archive=document.get("ModelArchive", "model.tar.gz"),
        payload_archive=document.get("PayloadArchive", "payload.tar.gz"),
        job_type=document.get("JobType", "Default"),
        job_description=document.get("JobDescription", ""),
        job_duration_seconds=document.get("JobDurationInSeconds"),
        environment=dict(document.get("Environment", {})),
        advanced={name: document[name] for name in ADVANCED_ONLY_FIELDS if name in document},
        max_model_latency_ms=document.get("MaxModelLatencyMs"),
        min_invocations_per_minute=document.get("MinInvocationsPerMinute"),
        allowed_instance_types=tuple(document.get("AllowedInstanceTypes", ())),
    )


def _action_for(path: str) -> str:
    top = path.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]
    if top == "EndpointConfigurations" and ".EnvironmentParameterRanges" in path:
        return _FIELD_ACTIONS["EnvironmentParameterRanges"]
    return _FIELD_ACTIONS.get(top, "See the manifest reference in docs/manifest.md (or manifest.schema.json).")


def _reject_non_finite(name: str) -> float:
    raise ValueError(f"contains {name}, which is not a JSON number")


def _json_type(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "true or false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
