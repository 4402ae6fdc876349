"""``DataInputConfig``: the input shapes Neo compiles for, checked against the framework's format.

Source: SageMaker Neo docs, 'Prepare Model for Compilation' and the ``InputConfig.DataInputConfig``
API reference: a JSON object of input name to shape for every framework, with the layout the
framework uses (NHWC for TensorFlow, NCHW for Keras, MXNet, PyTorch and ONNX); PyTorch also
accepts a list of shapes in input order. Neo itself needs no shape for XGBoost, but Inference
Recommender compiles only packages that carry one: the AWS IR XGBoost example uses
``{"data": [1, 50]}``, one input of ``[batch, features]``. A PyTorch input's dtype is not part
of DataInputConfig (Neo assumes float32).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from neo_runtime.errors import Finding

FIELD = "DataInputConfig"
#: Layout of image inputs per framework (Neo 'Prepare Model for Compilation').
IMAGE_LAYOUT = {"TENSORFLOW": "NHWC", "KERAS": "NCHW", "MXNET": "NCHW", "PYTORCH": "NCHW", "ONNX": "NCHW"}
EXAMPLES = {
    "XGBOOST": {"data": [1, 50]},
    "TENSORFLOW": {"input": [1, 224, 224, 3]},
    "KERAS": {"input_1": [1, 3, 224, 224]},
    "MXNET": {"data": [1, 3, 224, 224]},
    "PYTORCH": {"input0": [1, 3, 224, 224]},
    "ONNX": {"input": [1, 3, 224, 224]},
}
_CHANNELS = (1, 3, 4)
_IMAGE_TASKS = ("IMAGE_CLASSIFICATION", "OBJECT_DETECTION", "IMAGE_SEGMENTATION")
_MAX_RANK = 8


@dataclass(frozen=True)
class InputShape:
    """One model input: its name (or position) and dimensions."""

    name: str
    dims: tuple[int, ...]


def example_for(framework: str) -> str:
    """A correct ``DataInputConfig`` for the framework, as the JSON string SageMaker stores."""
    return json.dumps(EXAMPLES.get(framework, EXAMPLES["PYTORCH"]), separators=(",", ":"))


def check_data_input_config(value: Any, framework: str, *, image_model: bool) -> tuple[list[Finding], list[Finding]]:
    """Return (errors, warnings) for ``value`` as the DataInputConfig of a ``framework`` model.

    Errors are shapes Neo cannot read at all; warnings are shapes it reads but that do not look
    like what the framework expects (the model would most likely fail to compile).
    """
    action = f"Give input names and shapes, e.g. {example_for(framework)}."
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            return [Finding(FIELD, f"is a string but not valid JSON ({error.msg})", action)], []
    shapes, errors = _shapes(value, framework, action)
    if errors:
        return errors, []
    return [], _layout_warnings(shapes, framework, image_model, action)


def is_image_model(domain: str, task: str) -> bool:
    """Whether the manifest describes a computer-vision model (4-D image inputs)."""
    return domain == "COMPUTER_VISION" or task in _IMAGE_TASKS


def _shapes(value: Any, framework: str, action: str) -> tuple[list[InputShape], list[Finding]]:
    if isinstance(value, dict):
        if not value:
            return [], [Finding(FIELD, "names no inputs", action)]
        items = list(value.items())
    elif isinstance(value, list):
        if framework != "PYTORCH":
            return [], [Finding(FIELD, f"is a list of shapes, which Neo accepts only for PYTORCH; "
                                       f"{framework} needs input names", action)]
        if not value:
            return [], [Finding(FIELD, "names no inputs", action)]
        items = [(f"[{index}]", item) for index, item in enumerate(value)]
    else:
        return [], [Finding(FIELD, "must map input names to shapes", action)]
    shapes: list[InputShape] = []
    errors: list[Finding] = []
    for name, raw in items:
        problem = _shape_problem(raw)
        if problem:
            errors.append(Finding(_where(name), problem, action))
        else:
            shapes.append(InputShape(name, tuple(raw)))
    return shapes, errors


def _shape_problem(raw: Any) -> str | None:
    if not isinstance(raw, list) or not raw:
        return "must be a non-empty list of dimensions, e.g. [1, 3, 224, 224]"
    if len(raw) > _MAX_RANK:
        return f"has {len(raw)} dimensions; at most {_MAX_RANK} are supported"
    for dim in raw:
        if isinstance(dim, bool) or not isinstance(dim, int):
            return f"has a dimension {json.dumps(dim)} that is not a whole number"
        if dim < 1:
            return f"has a dimension {dim}; every dimension must be a positive whole number (no -1 or None)"
    return None


def _layout_warnings(shapes: list[InputShape], framework: str, image_model: bool, action: str) -> list[Finding]:
    warnings: list[Finding] = []
    if framework == "XGBOOST":
        if len(shapes) != 1:
            warnings.append(Finding(FIELD, f"names {len(shapes)} inputs; an XGBoost model has one",
                                    action, "warning", neo=True))
        warnings += [Finding(_where(shape.name), f"has {len(shape.dims)} dimension(s); XGBoost expects "
                                            "[batch, features]", action, "warning", neo=True)
                     for shape in shapes if len(shape.dims) != 2]
        return warnings
    for shape in shapes:
        if len(shape.dims) < 2:
            warnings.append(Finding(_where(shape.name), f"{list(shape.dims)} has no batch dimension",
                                    "Put the batch size first, e.g. [1, 50].", "warning", neo=True))
        elif image_model and framework in IMAGE_LAYOUT:
            warnings += _image_warnings(shape, framework, action)
    return warnings


def _image_warnings(shape: InputShape, framework: str, action: str) -> list[Finding]:
    layout = IMAGE_LAYOUT[framework]
    if len(shape.dims) != 4:
        return [Finding(_where(shape.name), f"{list(shape.dims)} has {len(shape.dims)} dimensions; {framework} image "
                                       f"inputs are 4-D {layout}", action, "warning", neo=True)]
    channels_first, channels_last = shape.dims[1] in _CHANNELS, shape.dims[3] in _CHANNELS
    if layout == "NCHW" and channels_last and not channels_first:
        return [Finding(_where(shape.name), f"{list(shape.dims)} looks channels-last (NHWC); {framework} expects NCHW",
                        f"Reorder to [batch, channels, height, width], e.g. {example_for(framework)}.",
                        "warning", neo=True)]
    if layout == "NHWC" and channels_first and not channels_last:
        return [Finding(_where(shape.name), f"{list(shape.dims)} looks channels-first (NCHW); TensorFlow expects NHWC",
                        f"Reorder to [batch, height, width, channels], e.g. {example_for(framework)}.",
                        "warning", neo=True)]
    return []


def _where(name: str) -> str:
    return f"{FIELD}{name}" if name.startswith("[") else f"{FIELD}.{name}"
