"""TensorFlow Serving's REST request bodies ↔ the service's typed inputs and answers.

Every TF Serving quirk of :predict, :classify and :regress lives here; the status and metadata
documents are in `documents.py`, TF Serving's error texts in `errors.py`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from webapp.serving.errors import InvalidInput, Unimplemented
from webapp.serving.inputs import Images, Inputs, Rows, Tensor
from webapp.serving.models.spec import ModelSpec
from webapp.serving.service import Answer

# Signature names each verb accepts; the method names let TF Serving's documented examples work
# as written (e.g. `"signature_name": "tensorflow/serving/regress"`).
SIGNATURES = {
    "predict": ("", "serving_default", "predict", "tensorflow/serving/predict"),
    "classify": ("", "serving_default", "classification", "tensorflow/serving/classify"),
    "regress": ("", "serving_default", "regression", "tensorflow/serving/regress"),
}


EXAMPLE_INPUT = "inputs"  # the input of the classify/regress signatures (documents.py), as TF names it


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
    return value


def _decode_rows(rows: list[Any]) -> list[Any]:
    """decode_b64 on each instance that is an object; numeric rows (the hot path) pass untouched.

    A {"b64": ...} value stands for one instance or one named input, never inside a numeric
    tensor, so walking every number of an image tensor (~90 us for 8x8) is wasted work.
    """
    if not any(isinstance(r, dict) for r in rows):
        return rows
    return [decode_b64(r) if isinstance(r, dict) else r for r in rows]


def typed(items: Any, spec: ModelSpec) -> Inputs:
    """What a body holds, said outright: encoded images or a tensor for an image model, else rows."""
    if spec.image is None:
        return Rows(items)
    if isinstance(items, list) and all(isinstance(x, bytes | bytearray) for x in items):
        return Images(items)
    return Tensor.of(items)


def check_signature(body: dict[str, Any], verb: str) -> None:
    name = body.get("signature_name", "")
    if name not in SIGNATURES[verb]:
        raise InvalidInput(f'Serving signature name: "{name}" not found in signature def')


def parse_predict(body: dict[str, Any], spec: ModelSpec) -> tuple[Inputs, bool]:
    """(inputs for the service, columnar?) from a :predict body."""
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
        return typed(_unwrap_named(_decode_rows(rows), spec), spec), False
    cols = decode_b64(body["inputs"])
    if isinstance(cols, dict) and spec.image is None:
        return Rows(_columns_to_rows(cols, spec)), True
    if isinstance(cols, dict):
        if len(cols) != 1:
            raise InvalidInput(f"{spec.name} has one input; got {sorted(cols)}")
        cols = next(iter(cols.values()))
    if isinstance(cols, bytes):
        cols = [cols]
    return typed(cols, spec), True


def _unwrap_named(rows: list[Any], spec: ModelSpec) -> list[Any]:
    """Image rows may come as {"image": {"b64": ...}}: keep the value of the single input."""
    if spec.image is not None and rows and all(isinstance(r, dict) and len(r) == 1 for r in rows):
        return [next(iter(r.values())) for r in rows]
    return rows


def _columns_to_rows(cols: dict[str, Any], spec: ModelSpec) -> list[Any]:
    """{"feature": [v, ...], ...} → rows keyed by feature; a single "inputs" key holds whole rows."""
    if set(cols) == {"inputs"} or (len(cols) == 1 and next(iter(cols)) not in spec.feature_names):
        value = next(iter(cols.values()))
        return value if isinstance(value, list) else [value]
    lengths = {len(v) if isinstance(v, list) else -1 for v in cols.values()}
    if len(lengths) != 1 or -1 in lengths:
        raise InvalidInput("All named inputs must be lists sharing the same 0-th dimension")
    n = lengths.pop()
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def parse_examples(body: dict[str, Any], spec: ModelSpec, verb: str) -> Inputs:
    """Inputs from a :classify/:regress body: each example merged with the shared `context`."""
    check_signature(body, verb)
    if verb == "classify" and spec.task != "classification":
        raise Unimplemented(f"{spec.name} is a regressor; use :regress or :predict")
    if verb == "regress" and spec.task != "regression":
        raise Unimplemented(f"{spec.name} is a classifier; use :classify or :predict")
    examples, context = body.get("examples"), body.get("context", {})
    if not isinstance(examples, list) or not examples:
        raise InvalidInput("'examples' must be a non-empty list of objects")
    if not isinstance(context, dict):
        raise InvalidInput("'context' must be an object of features shared by every example")
    rows = []
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise InvalidInput(f"Example {i} must be an object of features")
        both = set(example) & set(context)
        if both:
            raise InvalidInput(f"Feature {sorted(both)[0]!r} appears in both context and example {i}")
        rows.append(decode_b64(_example_row({**context, **example}, spec)))
    if spec.image is not None:
        rows = [next(iter(r.values())) if len(r) == 1 else r for r in rows]
    return typed(rows, spec)


def _example_row(features: dict[str, Any], spec: ModelSpec) -> Any:
    """One example → one row: a whole row as the list of the signature's input ("inputs"), as
    a tf.Example holds a float_list, or one value per named feature."""
    whole = features.get(EXAMPLE_INPUT)
    if (spec.image is None and set(features) == {EXAMPLE_INPUT} and isinstance(whole, list)
            and EXAMPLE_INPUT not in spec.feature_names):
        return whole
    return {k: _single(v, k) for k, v in features.items()}


def _single(value: Any, name: str) -> Any:
    """A tf.Example feature is a list; Podium's models take one value per named feature."""
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidInput(f"Feature {name!r} must hold one value, got {len(value)} (a whole "
                               f"row goes alone under {EXAMPLE_INPUT!r})")
        return value[0]
    return value


def encode(answer: Answer, verb: str, columnar: bool) -> dict[str, Any]:
    """The answer in the verb's shape: predictions/outputs, or classify/regress `results`."""
    values = answer.values
    if verb == "classify":
        labels = answer.spec.labels
        return {"results": [[[labels[j], float(p)] for j, p in enumerate(row)] for row in values.tolist()]}
    if verb == "regress":
        return {"results": values.reshape(len(values), -1)[:, 0]}
    return {"outputs": values} if columnar else {"predictions": values}
