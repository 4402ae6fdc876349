"""Match a Neo compilation failure to the categories of AWS's troubleshooting pages, with their advice.

Sources: SageMaker Developer Guide, 'Troubleshoot Neo Compilation Errors'
(https://docs.aws.amazon.com/sagemaker/latest/dg/neo-troubleshooting-compilation.html) and its
parent 'Troubleshoot Errors' > 'Error Classification Types' (neo-troubleshooting.html). Inference
Recommender reports a failed compilation as a failed benchmark step whose ``FailureReason``
carries Neo's message; the keywords below are the ones those pages use.
"""

from __future__ import annotations

from dataclasses import dataclass

LOG_HINT = ("The compilation log is in CloudWatch Logs, log group /aws/sagemaker/CompilationJobs, "
            "stream named after the compilation job.")


@dataclass(frozen=True)
class CompilationDiagnosis:
    """The troubleshooting category a failure falls in, and what to do about it."""

    category: str
    advice: str


# (category, keywords any of which identifies it, advice); first match wins, most specific first.
_CATEGORIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Input shape (DataInputConfig)",
     ("wrong shape", "input shape", "datainputconfig", "input_config_derivation_error", "shape dictionary"),
     "Give every input's name and shape in DataInputConfig in the framework's layout (NCHW for PyTorch, "
     "MXNet, ONNX and Keras; NHWC for TensorFlow); `neo-recommender validate` checks it before a job runs."),
    ("Model files (load error)",
     ("no h5 file", "multiple h5", "exactly one .pb", "only one parameter file", "unable to untar",
      "modelsizetoobig", "unable to load", "expect only one", "symbol file"),
     "Package exactly the files Neo expects for the framework (one .pt/.pth traced model, one .h5, "
     "one .pb or SavedModel, one *-symbol.json and .params, one .onnx, one XGBoost model file) in a "
     "tar.gz, and check that the framework version is one Neo supports."),
    ("Unsupported operator (compilation error)",
     ("operatornotimplemented", "operatorattributenotimplemented", "operatorattributerequired",
      "operatorattributevaluenotvalid", "operators are not implemented", "tvm cannot convert",
      "unsupported operator", "not supported operator"),
     "Remove or replace the operators Neo does not support in your model graph (the message names them), "
     "or keep the uncompiled recommendation."),
    ("Permissions or S3 (client error)",
     ("accessdenied", "access denied", "passrole", "sts:assumerole", "s3 object does not exist",
      "different from aws sagemaker service region", "bucket"),
     "Check that the model archive exists, is in the same region as SageMaker, and that the Inference "
     "Recommender role may read it (and its KMS key)."),
    ("Input configuration",
     ("inputconfiguration", "clienterror"),
     "Check the model package's input: framework and version supported by Neo, DataInputConfig, "
     "and the archive's contents."),
)
_SYSTEM = ("System error", "An unexpected error during compilation; try again in a few minutes. If it "
           "persists, open an AWS Support case with the compilation job name.")


def diagnose(failure_reason: str) -> CompilationDiagnosis:
    """The category of a Neo compilation failure message, with AWS's advice and where the log is."""
    lowered = failure_reason.lower()
    for category, keywords, advice in _CATEGORIES:
        if any(keyword in lowered for keyword in keywords):
            return CompilationDiagnosis(category, f"{advice} {LOG_HINT}")
    return CompilationDiagnosis(_SYSTEM[0], f"{_SYSTEM[1]} {LOG_HINT}")


def is_compilation_failure(failure_reason: str, compiled_variant: bool) -> bool:
    """Whether a failed benchmark step failed in Neo compilation rather than in load testing."""
    lowered = failure_reason.lower()
    return compiled_variant and ("compil" in lowered or "neo" in lowered or "inputconfiguration" in lowered)
