"""The Open Inference Protocol's infer request/response ↔ what ModelService takes and returns.

Inputs: an image model takes one input named "image": BYTES of encoded images ([n] or [n, 1]) or
a numeric tensor [n, h, w, c] (or [n, h, w] when grey); a tabular model takes one numeric input
"input" [n, k], or one input per named feature ([n] or [n, 1]) as MLServer does. Any other name
is refused (400), as Triton refuses it. Outputs: classifiers give
"probabilities" FP32 [n, k] and "label" BYTES [n]; regressors give "predictions" FP32 [n]. A
recommender's ids in and ranked items out are in `kinds.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.api.v2 import kinds
from webapp.api.v2.binary import BinarySection, serialize_bytes
from webapp.api.v2.tensors import Tensor, as_float32, decode_input
from webapp.serving import inputs
from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import KIND_TASKS, ModelSpec
from webapp.serving.service import Answer, Question


@dataclass(frozen=True)
class Requested:
    name: str
    binary: bool
    classification: int = 0


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    instances: inputs.Inputs | Question
    outputs: tuple[Requested, ...]


def output_names(spec: ModelSpec) -> tuple[str, ...]:
    if spec.task == "recommendation":
        return kinds.OUTPUTS
    return ("probabilities", "label") if spec.task == "classification" else ("predictions",)


def _flag(where: str, params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}: parameter {key} must be true or false")
    return value


def _params(where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: parameters must be an object")
    return value


def parse_request(doc: Any, binary: BinarySection, spec: ModelSpec, limit: int) -> InferRequest:
    """A decoded infer body → instances for ModelService and the outputs to send back."""
    if not isinstance(doc, dict):
        raise InvalidInput(f"The inference request must be a JSON object, got {type(doc).__name__}")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput("'id' must be a string")
    params = _params("The request", doc.get("parameters"))
    binary_default = _flag("The request", params, "binary_data_output", False)
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("'inputs' must be a non-empty list of tensors")
    tensors = [decode_input(item, binary, limit) for item in inputs]
    binary.finish()
    names = [t.name for t in tensors]
    if len(set(names)) != len(names):
        raise InvalidInput(f"Input names must be unique, got {names}")
    outputs = _requested(doc.get("outputs"), spec, binary_default)
    if spec.task in KIND_TASKS.values():
        return InferRequest(request_id, kinds.to_question(tensors, spec, params), outputs)
    return InferRequest(request_id, to_instances(tensors, spec), outputs)


def _requested(items: Any, spec: ModelSpec, binary_default: bool) -> tuple[Requested, ...]:
    known = output_names(spec)
    if items is None:
        return tuple(Requested(n, binary_default) for n in known)
    if not isinstance(items, list):
        raise InvalidInput("'outputs' must be a list of objects with a name")
    out: list[Requested] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            raise InvalidInput(f"Unknown output {str(name)[:60]!r}; {spec.name} has {list(known)}")
        if any(r.name == name for r in out):
            raise InvalidInput(f"Output '{name}' is requested twice")
        params = _params(f"Output '{name}'", item.get("parameters"))
        count = params.get("classification", 0)
        if type(count) is not int or count < 0:
            raise InvalidInput(f"Output '{name}': classification must be a positive integer")
        if count and name != "probabilities":
            raise InvalidInput(f"Output '{name}': classification applies to the probabilities "
                               "output of a classifier")
        out.append(Requested(name, _flag(f"Output '{name}'", params, "binary_data", binary_default),
                             min(count, len(spec.labels))))
    return tuple(out)


def input_names(spec: ModelSpec) -> list[str]:
    """The input names a model takes: its metadata tensor's, or (tabular) one per feature."""
    return ["image"] if spec.image is not None else ["input", *spec.feature_names]


def check_names(tensors: list[Tensor], spec: ModelSpec) -> None:
    """Refuse an input the model does not have, as Triton does, rather than guessing what it meant."""
    names = input_names(spec)
    for tensor in tensors:
        if tensor.name not in names:
            raise InvalidInput(f"unexpected inference input '{tensor.name[:60]}' for model "
                               f"'{spec.name}'; it takes {_takes(spec)}")


def _takes(spec: ModelSpec) -> str:
    if spec.image is not None:
        return "one input named 'image'"
    return (f"one input named 'input' [n, {len(spec.features)}] or one input per feature: "
            + ", ".join(f"'{n}'" for n in spec.feature_names))


def to_instances(tensors: list[Tensor], spec: ModelSpec) -> inputs.Inputs:
    """Tensors → what the service takes: a float32 tensor or encoded images."""
    check_names(tensors, spec)
    if spec.image is not None or len(tensors) == 1 and tensors[0].name == "input":
        if len(tensors) != 1:
            raise InvalidInput(f"{spec.name} takes one input tensor, got {len(tensors)}")
        tensor = tensors[0]
        if tensor.datatype == "BYTES":
            if spec.image is None:
                raise InvalidInput(f"{spec.name} takes numbers ({spec.describe_input()}), not BYTES")
            if len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ((), (1,)):
                raise InvalidInput(f"Input '{tensor.name}': encoded images need shape [n] or "
                                   f"[n, 1], got {list(tensor.shape)}")
            return inputs.Images(list(tensor.value))
        return inputs.Tensor(as_float32(tensor))
    return inputs.Tensor(_feature_columns(tensors, spec))


def _feature_columns(tensors: list[Tensor], spec: ModelSpec) -> np.ndarray:
    """One input per named feature, MLServer style → float32 [n, k] in manifest order."""
    by_name = {t.name: t for t in tensors}
    if "input" in by_name:
        raise InvalidInput("Input 'input' holds whole rows; send it alone, not with feature inputs")
    missing = [n for n in spec.feature_names if n not in by_name]
    if missing:
        raise InvalidInput(f"Missing input for feature '{missing[0]}'")
    columns = []
    for name in spec.feature_names:
        column = as_float32(by_name[name])
        if column.ndim not in (1, 2) or column.shape[1:] not in ((), (1,)):
            raise InvalidInput(f"Input '{name}': a feature column needs shape [n] or [n, 1], "
                               f"got {list(column.shape)}")
        columns.append(column.reshape(-1))
    if len({len(c) for c in columns}) != 1:
        raise InvalidInput("All feature inputs must have the same number of rows")
    return np.stack(columns, axis=1)


def _classes(values: np.ndarray, count: int, labels: tuple[str, ...]) -> list[bytes]:
    """Triton's classification extension: "score:index:label", highest score first, row-major."""
    order = np.argsort(-values, axis=1, kind="stable")[:, :count]
    return [f"{values[i, j]:f}:{j}:{labels[j]}".encode() for i in range(len(values)) for j in order[i]]


def _output(answer: Answer, req: Requested) -> tuple[str, list[int], Any]:
    """(datatype, shape, flat value: float32 array or list of bytes) of one output."""
    if answer.batch is None:
        return kinds.output(answer, req.name)
    values, spec = answer.values, answer.spec
    n = len(values)
    if req.name == "predictions":
        return "FP32", [n], values.reshape(n, -1)[:, 0].astype(np.float32)
    if req.name == "label":
        return "BYTES", [n], [label.encode() for label in answer.top_labels()]
    if req.classification:
        return "BYTES", [n, req.classification], _classes(values, req.classification, spec.labels)
    return "FP32", list(values.shape), values.astype(np.float32).reshape(-1)


def encode_response(answer: Answer, req: InferRequest) -> tuple[dict[str, Any], list[bytes]]:
    """The response's JSON part and, in output order, the binary chunks that follow it."""
    outputs, chunks = [], []
    for wanted in req.outputs:
        datatype, shape, value = _output(answer, wanted)
        out: dict[str, Any] = {"name": wanted.name, "datatype": datatype, "shape": shape}
        if wanted.binary:
            chunk = serialize_bytes(value) if datatype == "BYTES" else value.astype("<f4").tobytes()
            out["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            out["data"] = [b.decode("utf-8", "replace") for b in value] if datatype == "BYTES" else value
        outputs.append(out)
    doc: dict[str, Any] = {"model_name": answer.served.model, "model_version": str(answer.version)}
    if req.id is not None:
        doc["id"] = req.id
    doc["outputs"] = outputs
    return doc, chunks
