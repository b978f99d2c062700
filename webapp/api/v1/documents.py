"""TF Serving's status and metadata documents (get_model_status, get_model_metadata) for Podium's
models: version states as TF names them, `signature_def` nested twice, tensor dims as strings."""

from __future__ import annotations

from typing import Any

from webapp.serving.loaded import State, VersionStatus
from webapp.serving.service import ModelStatus

TF_STATE = {State.LOADING: "LOADING", State.AVAILABLE: "AVAILABLE", State.FAILED: "END",
            State.UNLOADED: "END"}


def version_status(status: VersionStatus) -> dict[str, Any]:
    failed = status.state in (State.FAILED, State.UNLOADED)
    return {"version": str(status.version), "state": TF_STATE[status.state],
            "status": {"error_code": "UNKNOWN" if failed else "OK",
                       "error_message": status.reason if failed else ""}}


def model_status(name: str, versions: list[VersionStatus]) -> dict[str, Any]:
    return {"model_version_status": [version_status(v) for v in versions],
            "name": name, "ready": any(v.ready for v in versions)}


def model_list(models: dict[str, ModelStatus]) -> dict[str, Any]:
    return {"models": [
        {"name": name, "default_version": model.default_version, "labels": model.labels,
         "versions": [version_status(v) for v in model.versions.values()], "ready": model.ready}
        for name, model in models.items()]}


def _tensor(name: str, dtype: str, dims: tuple[int, ...]) -> dict[str, Any]:
    return {"dtype": dtype, "name": f"{name}:0",
            "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims],
                             "unknown_rank": False}}


def _signature(inputs: dict, outputs: dict, method: str) -> dict[str, Any]:
    return {"inputs": inputs, "outputs": outputs, "method_name": f"tensorflow/serving/{method}",
            "defaults": {}}


def kind_signatures(task: str) -> dict[str, Any]:
    """A recommender's two signatures (ids in, ranked items out); a chat has none here (/openai/v1)."""
    if task == "chat":
        return {}
    ranked = {"items": _tensor("items", "DT_STRING", (-1, -1)),
              "scores": _tensor("scores", "DT_FLOAT", (-1, -1))}
    return {"serving_default": _signature({"user": _tensor("user", "DT_STRING", (-1,))}, ranked, "predict"),
            "similar_items": _signature({"item": _tensor("item", "DT_STRING", (-1,))}, ranked, "predict")}


def metadata(status: VersionStatus) -> dict[str, Any]:
    spec = status.spec
    assert spec is not None
    input_name = "image" if spec.image is not None else "inputs"
    predict_in = {input_name: _tensor(input_name, "DT_FLOAT", (-1, *spec.input_shape))}
    example_in = {"inputs": _tensor("input_example_tensor", "DT_STRING", (-1,))}
    signatures: dict[str, Any] = {}
    if spec.task in ("recommendation", "chat"):
        signatures = kind_signatures(spec.task)
    elif spec.task == "classification":
        n = len(spec.labels)
        signatures["serving_default"] = _signature(
            predict_in, {"probabilities": _tensor("probabilities", "DT_FLOAT", (-1, n))}, "predict")
        signatures["classification"] = _signature(example_in, {
            "classes": _tensor("classes", "DT_STRING", (-1, n)),
            "scores": _tensor("scores", "DT_FLOAT", (-1, n))}, "classify")
    else:
        signatures["serving_default"] = _signature(
            predict_in, {"predictions": _tensor("predictions", "DT_FLOAT", (-1,))}, "predict")
        signatures["regression"] = _signature(
            example_in, {"outputs": _tensor("outputs", "DT_FLOAT", (-1,))}, "regress")
    return {
        "model_spec": {"name": spec.name, "signature_name": "", "version": str(status.version)},
        "metadata": {"signature_def": {"signature_def": signatures}},
        "podium": {
            "framework": spec.framework, "task": spec.task, "description": spec.description,
            "input_kind": spec.input_kind, "features": spec.feature_names, "labels": list(spec.labels),
            "metrics": spec.metrics, "call_path": status.call_path, "acceleration": status.acceleration,
        },
    }
