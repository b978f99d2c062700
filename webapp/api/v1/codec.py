"""TensorFlow Serving's REST wire format ↔ plain values. Every TF Serving quirk lives here."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from webapp.serving.errors import InvalidInput, Unimplemented
from webapp.serving.loaded import LoadedVersion, State
from webapp.serving.service import ModelView, Prediction
from webapp.serving.spec import ModelSpec

# Signature names each verb accepts; the method names let TF Serving's documented examples work
# as written (e.g. `"signature_name": "tensorflow/serving/regress"`).
SIGNATURES = {
    "predict": ("", "serving_default", "predict", "tensorflow/serving/predict"),
    "classify": ("", "serving_default", "classification", "tensorflow/serving/classify"),
    "regress": ("", "serving_default", "regression", "tensorflow/serving/regress"),
}
TF_STATE = {State.LOADING: "LOADING", State.AVAILABLE: "AVAILABLE", State.FAILED: "END",
            State.UNLOADED: "END"}


def decode_b64(value: Any) -> Any:
    """Replace every {"b64": "..."} object with its bytes, recursively through lists and objects."""
    if isinstance(value, dict) and "b64" in value:
        if len(value) != 1 or not isinstance(value["b64"], str):
            raise InvalidInput('A binary value must be an object with the single key "b64"')
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("Unable to base64 decode") from None
    if isinstance(value, dict):  # named inputs: {"image": {"b64": ...}}
        return {k: decode_b64(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_b64(v) for v in value]
    if isinstance(value, dict):  # a named input: {"image": {"b64": ...}}
        return {k: decode_b64(v) for k, v in value.items()}
    return value


def _decode_rows(rows: list[Any]) -> list[Any]:
    """decode_b64 on each instance that is an object; numeric rows (the hot path) pass untouched.

    A {"b64": ...} value stands for one instance or one named input, never inside a numeric
    tensor, so walking every number of an image tensor (~90 us for 8x8) is wasted work.
    """
    if not any(isinstance(r, dict) for r in rows):
        return rows
    return [decode_b64(r) if isinstance(r, dict) else r for r in rows]


def check_signature(body: dict[str, Any], verb: str) -> None:
    name = body.get("signature_name", "")
    if name not in SIGNATURES[verb]:
        raise InvalidInput(f'Serving signature name: "{name}" not found in signature def')


def parse_predict(body: dict[str, Any], spec: ModelSpec) -> tuple[Any, bool]:
    """(instances for the service, columnar?) from a :predict body."""
    check_signature(body, "predict")
    has_rows, has_cols = "instances" in body, "inputs" in body
    if has_rows and has_cols:
        raise InvalidInput("Not formatted correctly expecting only one of 'inputs' or "
                           "'instances' keys to exist")
    if not (has_rows or has_cols):
        raise InvalidInput("Missing 'inputs' or 'instances' key")
    if has_rows:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise InvalidInput("'instances' must be a non-empty list")
        return _unwrap_named(_decode_rows(rows), spec), False
    cols = decode_b64(body["inputs"])
    if isinstance(cols, dict) and spec.image is None:
        return _columns_to_rows(cols, spec), True
    if isinstance(cols, dict):
        if len(cols) != 1:
            raise InvalidInput(f"{spec.name} has one input; got {sorted(cols)}")
        cols = next(iter(cols.values()))
    if isinstance(cols, bytes):
        cols = [cols]
    return cols, True


def _unwrap_named(rows: list[Any], spec: ModelSpec) -> list[Any]:
    """Image rows may come as {"image": {"b64": ...}}: keep the value of the single input."""
    if spec.image is not None and rows and all(isinstance(r, dict) and len(r) == 1 for r in rows):
        return [next(iter(r.values())) for r in rows]
    return rows


def _columns_to_rows(cols: dict[str, Any], spec: ModelSpec) -> list[dict[str, Any]]:
    """{"feature": [v, ...], ...} → rows keyed by feature; a single "inputs" key holds whole rows."""
    if set(cols) == {"inputs"} or (len(cols) == 1 and next(iter(cols)) not in spec.feature_names):
        value = next(iter(cols.values()))
        return value if isinstance(value, list) else [value]
    lengths = {len(v) if isinstance(v, list) else -1 for v in cols.values()}
    if len(lengths) != 1 or -1 in lengths:
        raise InvalidInput("All named inputs must be lists sharing the same 0-th dimension")
    n = lengths.pop()
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def encode_predict(prediction: Prediction, columnar: bool) -> dict[str, Any]:
    values = prediction.values
    return {"outputs": values} if columnar else {"predictions": values}


def parse_examples(body: dict[str, Any], spec: ModelSpec, verb: str) -> list[Any]:
    """Rows from a :classify/:regress body (`examples` merged with `context`)."""
    check_signature(body, verb)
    if verb == "classify" and spec.task != "classification":
        raise Unimplemented(f"{spec.name} is a regressor; use :regress or :predict")
    if verb == "regress" and spec.task != "regression":
        raise Unimplemented(f"{spec.name} is a classifier; use :classify or :predict")
    examples, context = body.get("examples"), body.get("context", {})
    if not isinstance(examples, list) or not examples:
        raise InvalidInput("'examples' must be a non-empty list of objects")
    if not isinstance(context, dict):
        raise InvalidInput("'context' must be an object")
    rows = []
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise InvalidInput(f"Example {i} must be an object of features")
        both = set(example) & set(context)
        if both:
            raise InvalidInput(f"Feature {sorted(both)[0]!r} appears in both context and example {i}")
        merged = {k: _single(v, k) for k, v in {**context, **example}.items()}
        rows.append(decode_b64(merged))
    if spec.image is not None:
        return [_single(next(iter(r.values())), "image") if len(r) == 1 else r for r in rows]
    return rows


def _single(value: Any, name: str) -> Any:
    """A tf.Example feature is a list; Podium's models take one value per feature."""
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidInput(f"Feature {name!r} must hold one value, got {len(value)}")
        return value[0]
    return value


def encode_classify(prediction: Prediction) -> dict[str, Any]:
    labels = prediction.spec.labels
    return {"results": [[[labels[j], float(p)] for j, p in enumerate(row)]
                        for row in prediction.values.tolist()]}


def encode_regress(prediction: Prediction) -> dict[str, Any]:
    return {"results": prediction.values.reshape(len(prediction.values), -1)[:, 0]}


def version_status(lv: LoadedVersion) -> dict[str, Any]:
    failed = lv.state in (State.FAILED, State.UNLOADED)
    return {"version": str(lv.version), "state": TF_STATE[lv.state],
            "status": {"error_code": "UNKNOWN" if failed else "OK",
                       "error_message": lv.reason if failed else ""}}


def encode_status(view: ModelView, versions: list[LoadedVersion]) -> dict[str, Any]:
    return {"model_version_status": [version_status(lv) for lv in versions],
            "name": view.name, "ready": any(lv.ready for lv in versions)}


def _tensor(name: str, dtype: str, dims: tuple[int, ...]) -> dict[str, Any]:
    return {"dtype": dtype, "name": f"{name}:0",
            "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims],
                             "unknown_rank": False}}


def _signature(inputs: dict, outputs: dict, method: str) -> dict[str, Any]:
    return {"inputs": inputs, "outputs": outputs, "method_name": f"tensorflow/serving/{method}",
            "defaults": {}}


def encode_metadata(lv: LoadedVersion) -> dict[str, Any]:
    spec = lv.spec
    assert spec is not None
    input_name = "image" if spec.image is not None else "inputs"
    predict_in = {input_name: _tensor(input_name, "DT_FLOAT", (-1, *spec.input_shape))}
    example_in = {"inputs": _tensor("input_example_tensor", "DT_STRING", (-1,))}
    signatures: dict[str, Any] = {}
    if spec.task == "classification":
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
        "model_spec": {"name": spec.name, "signature_name": "", "version": str(lv.version)},
        "metadata": {"signature_def": {"signature_def": signatures}},
        "podium": podium_metadata(lv),
    }


def podium_metadata(lv: LoadedVersion) -> dict[str, Any]:
    """What TF Serving has no place for: the manifest's human facts and the call path."""
    spec = lv.spec
    assert spec is not None
    return {
        "framework": spec.framework, "task": spec.task, "description": spec.description,
        "input_kind": spec.input_kind, "features": spec.feature_names, "labels": list(spec.labels),
        "metrics": spec.metrics, "call_path": getattr(lv.runtime, "path", None),
        "acceleration": lv.acceleration,
    }


def encode_model_list(models: dict[str, ModelView]) -> dict[str, Any]:
    return {"models": [
        {"name": name, "default_version": view.default_version, "labels": view.labels,
         "versions": [version_status(lv) for lv in view.versions.values()], "ready": view.ready}
        for name, view in models.items()]}
