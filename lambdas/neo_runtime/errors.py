"""Errors the workflow raises on purpose.

Their class names become the Step Functions error names (``errorType`` of the Lambda
failure), so the state machine can route on them and the failure record can say what
to do about each.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
#: Something the pipeline read differently from how it was written, and how (no action needed).
NOTE = "note"
FIELD_LIMIT = 200
MESSAGE_LIMIT = 600


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Finding:
    """One problem with a submission: the field or file it concerns, what is wrong, what to do.

    ``severity`` is ``error`` (no job can run), ``warning`` (the job runs) or ``note`` (a value was
    normalised, e.g. a single-quoted DataInputConfig registered as JSON); ``neo`` marks the
    findings that keep Inference Recommender from adding Neo-compiled recommendations.
    """

    field: str
    message: str
    action: str
    severity: str = ERROR
    neo: bool = False

    def __str__(self) -> str:
        return f"{self.field}: {self.message}. {self.action}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, as stored in DynamoDB, sent on SNS and printed by ``validate --json``.

        Field and message are capped: they can quote user input (an archive member's name), and the
        workflow state, the DynamoDB item and the SNS message all have size limits.
        """
        return {"severity": self.severity, "field": _cap(self.field, FIELD_LIMIT),
                "message": _cap(self.message, MESSAGE_LIMIT), "action": self.action, "blocks_neo": self.neo}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Finding:
        """Inverse of ``to_dict``."""
        return cls(str(data["field"]), str(data["message"]), str(data["action"]),
                   str(data.get("severity", ERROR)), bool(data.get("blocks_neo", False)))


class WorkflowError(Exception):
    """Base class of errors the workflow raises deliberately."""

    advice = "See the execution's history in the Step Functions console for details."


class TransientAwsError(WorkflowError):
    """An AWS call was throttled or failed transiently after boto3's own retries; the step is retried."""

    advice = ("An AWS service stayed throttled or unavailable through every retry. Upload recommend.json "
              "again once it recovers (a new version starts a new run).")


class SubmissionInvalid(WorkflowError):
    """The manifest or the archives it names cannot be used; nothing was started."""

    advice = "Fix every listed field, then upload recommend.json again (a new version starts a new run)."

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        lines = "\n".join(f"- {finding}" for finding in findings)
        super().__init__(f"The submission has {len(findings)} problem(s):\n{lines}")


class ModelPackageFailed(WorkflowError):
    """SageMaker could not create the model package."""

    advice = "Check the ModelPackageStatusDetails in the SageMaker console, fix the manifest, and resubmit."


class ModelPackageNotReady(WorkflowError):
    """The model package was still being created when the handler gave up waiting (retried)."""


class RecommendationJobFailed(WorkflowError):
    """Inference Recommender reported the job as FAILED."""

    advice = (
        "Read the FailureReason; check that the container image, the model archive and the sample "
        "payload work together (ListInferenceRecommendationsJobSteps shows each benchmark)."
    )


class RecommendationJobStopped(WorkflowError):
    """The Inference Recommender job was stopped before it finished."""

    advice = "The job was stopped outside the pipeline; upload recommend.json again to start a new run."


class RecommendationJobTimedOut(WorkflowError):
    """The job ran past the pipeline's deadline and was stopped."""

    advice = "Raise the pipeline's job deadline, or use an Advanced job with fewer instance types."


class JobQueueTimedOut(WorkflowError):
    """The run waited longer than the pipeline allows for a free job slot (``max_concurrent_jobs``)."""

    advice = ("Too many runs were ahead of this one. Upload recommend.json again later, raise "
              "max_concurrent_jobs (within the account's Inference Recommender quota) or max_queue_wait.")


class ExecutionAborted(WorkflowError):
    """The run's execution was stopped from outside (by hand, or by a deployment) before it finished."""

    advice = "Nothing is wrong with the submission as far as the pipeline knows; upload recommend.json again to rerun."


class ExecutionTimedOut(WorkflowError):
    """The run's execution outlived the state machine's timeout (queue wait plus job deadline plus an hour)."""

    advice = "Upload recommend.json again; if it keeps happening, raise max_queue_wait or job_deadline."


class ExecutionFailed(WorkflowError):
    """The run's execution failed without its failure path recording why (e.g. the failure path itself failed)."""

    advice = "See the execution's history in the Step Functions console; upload recommend.json again to rerun."
