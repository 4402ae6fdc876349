"""``neo-recommender init``: a starter manifest per framework, with a correct ``DataInputConfig``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neo_runtime.data_input import EXAMPLES


@dataclass(frozen=True)
class Starter:
    """What a typical model of a framework declares."""

    version: str
    nearest_model: str
    domain: str
    task: str
    content_type: str
    image_known: bool
    hint: str


STARTERS = {
    "XGBOOST": Starter("1.2.0", "xgboost", "MACHINE_LEARNING", "CLASSIFICATION", "text/csv", True,
                       "Set DataInputConfig's 50 to your number of features; the payload is CSV rows of "
                       "features only (no header, no label). model.tar.gz holds the one booster file."),
    "PYTORCH": Starter("2.0", "resnet50", "COMPUTER_VISION", "IMAGE_CLASSIFICATION", "application/x-npy", True,
                       "Save the model with torch.jit.trace and torch.save as model.pth (float32 input); "
                       "DataInputConfig is NCHW."),
    "TENSORFLOW": Starter("2.9", "resnet50", "COMPUTER_VISION", "IMAGE_CLASSIFICATION", "application/json", True,
                          "Package a SavedModel (saved_model.pb and variables/) or one frozen .pb; "
                          "DataInputConfig is NHWC with your input tensor's name."),
    "MXNET": Starter("1.8.0", "resnet50", "COMPUTER_VISION", "IMAGE_CLASSIFICATION", "application/x-npy", True,
                     "Export the model as one *-symbol.json and one .params file; DataInputConfig is NCHW."),
    "ONNX": Starter("1.7.0", "resnet50", "COMPUTER_VISION", "IMAGE_CLASSIFICATION", "application/x-npy", False,
                    "Package one .onnx file; DataInputConfig is NCHW with your input's name."),
    "KERAS": Starter("2.2.4", "resnet50", "COMPUTER_VISION", "IMAGE_CLASSIFICATION", "application/json", False,
                     "Package one .h5 file; DataInputConfig is NCHW even though Keras models are NHWC."),
}
#: Instance types Neo compiles for, so the first run shows compiled and uncompiled rows side by side.
CPU_INSTANCES = ["ml.c5.xlarge", "ml.c5.2xlarge", "ml.m5.xlarge"]
GPU_INSTANCES = ["ml.g4dn.xlarge"]


def starter_manifest(framework: str, model_name: str, image: str | None = None) -> dict[str, Any]:
    """A manifest that passes validation for ``framework`` (``Image`` left out when SageMaker has one)."""
    starter = STARTERS[framework]
    if image is None and not starter.image_known:
        raise ValueError(f"SageMaker has no inference container for {framework}; give the image with --image")
    manifest: dict[str, Any] = {
        "ModelName": model_name,
        "Framework": framework,
        "FrameworkVersion": starter.version,
    }
    if image:
        manifest["Image"] = image
    # One image serves every listed instance: a resolved image is the CPU build, so list CPU types.
    instances = CPU_INSTANCES + GPU_INSTANCES if image else CPU_INSTANCES
    manifest.update({
        "NearestModelName": starter.nearest_model,
        "Domain": starter.domain,
        "Task": starter.task,
        "DataInputConfig": EXAMPLES[framework],
        "SupportedContentTypes": [starter.content_type],
        "SupportedRealtimeInferenceInstanceTypes": instances,
        "ModelArchive": "model.tar.gz",
        "PayloadArchive": "payload.tar.gz",
    })
    return manifest
