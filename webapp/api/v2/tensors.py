"""One Open Inference Protocol tensor ↔ numpy: datatypes, shapes, JSON `data` and binary slices."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

from webapp.api.v2.binary import BinarySection, bytes_tensor, fixed_tensor
from webapp.serving.errors import InvalidInput

DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("?"), "UINT8": np.dtype("u1"), "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"), "UINT64": np.dtype("<u8"), "INT8": np.dtype("i1"),
    "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"), "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
}
DATATYPES = (*DTYPES, "BYTES")
_NONE = object()
_JSON_TYPES: dict[str, tuple[type, ...]] = {"BOOL": (bool,), "FP16": (int, float), "FP32": (int, float),
                                            "FP64": (int, float)}


@dataclass(frozen=True)
class Tensor:
    """A decoded input: numbers as a numpy array of `shape`, or BYTES as a flat list of bytes."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    value: np.ndarray | list[bytes]
    parameters: dict[str, Any]


def _shape(name: str, shape: Any, limit: int) -> tuple[tuple[int, ...], int]:
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidInput(f"Input '{name}': shape must be a list of non-negative integers, "
                           f"got {str(shape)[:60]}")
    count = math.prod(shape)
    if count > limit:
        raise InvalidInput(f"Input '{name}': shape {shape} holds {count} elements, more than "
                           f"this request can carry")
    return tuple(shape), count


def flatten(data: Any) -> list[Any]:
    """Row-major flattening of nested lists, without recursion (data may be deeply nested)."""
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(x, list) for x in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for x in stack[-1]:
            if isinstance(x, list):
                stack.append(iter(x))
                break
            out.append(x)
        else:
            stack.pop()
    return out


def _json_numbers(name: str, datatype: str, flat: list[Any]) -> np.ndarray:
    if datatype == "BF16":
        raise InvalidInput(f"Input '{name}': BF16 must be sent as binary data")
    allowed = _JSON_TYPES.get(datatype, (int,))
    bad = next((x for x in flat if type(x) not in allowed), _NONE)
    if bad is not _NONE:
        want = "true/false" if datatype == "BOOL" else "integers" if allowed == (int,) else "numbers"
        raise InvalidInput(f"Input '{name}': {datatype} data must be {want}, got {str(bad)[:40]!r}")
    dtype = DTYPES[datatype]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if flat and (min(flat) < info.min or max(flat) > info.max):
            raise InvalidInput(f"Input '{name}': a value is out of range for {datatype}")
    try:
        with np.errstate(over="ignore"):  # FP16 overflow gives inf, refused later as not finite
            return np.array(flat, dtype=dtype)
    except OverflowError:
        raise InvalidInput(f"Input '{name}': a value is out of range for {datatype}") from None


def _json_bytes(name: str, flat: list[Any], parameters: dict[str, Any]) -> list[bytes]:
    bad = next((x for x in flat if not isinstance(x, str)), _NONE)
    if bad is not _NONE:
        raise InvalidInput(f"Input '{name}': BYTES data must be strings, got {str(bad)[:40]!r}")
    if parameters.get("content_type") == "base64":  # MLServer's Base64Codec
        try:
            return [base64.b64decode(x, validate=True) for x in flat]
        except (binascii.Error, ValueError):
            raise InvalidInput(f"Input '{name}': data is not valid base64") from None
    return [x.encode("utf-8", "surrogatepass") for x in flat]


def decode_input(item: Any, binary: BinarySection, limit: int) -> Tensor:
    """One entry of `inputs` → Tensor; raises InvalidInput naming the input and the fault."""
    if not isinstance(item, dict):
        raise InvalidInput("Each entry of 'inputs' must be an object with name, shape, datatype, data")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("Each input needs a non-empty string 'name'")
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        raise InvalidInput(f"Input '{name}': datatype must be one of {', '.join(DATATYPES)}, "
                           f"got {str(datatype)[:40]!r}")
    shape, count = _shape(name, item.get("shape"), limit)
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput(f"Input '{name}': parameters must be an object")
    if "binary_data_size" in parameters:
        if item.get("data") is not None:
            raise InvalidInput(f"Input '{name}' has both 'data' and binary_data_size")
        chunk = binary.take(name, parameters["binary_data_size"])
        if datatype == "BYTES":
            value: np.ndarray | list[bytes] = bytes_tensor(name, chunk, count)
        else:
            value = fixed_tensor(name, chunk, DTYPES[datatype], count).reshape(shape)
        return Tensor(name, datatype, shape, value, parameters)
    if item.get("data") is None:
        raise InvalidInput(f"Input '{name}' has no 'data' (and no binary_data_size)")
    flat = flatten(item["data"])
    if len(flat) != count:
        raise InvalidInput(f"Input '{name}': shape {list(shape)} needs {count} values, "
                           f"'data' has {len(flat)}")
    if datatype == "BYTES":
        return Tensor(name, datatype, shape, _json_bytes(name, flat, parameters), parameters)
    array = _json_numbers(name, datatype, flat).reshape(shape)
    return Tensor(name, datatype, shape, array, parameters)


def as_float32(tensor: Tensor) -> np.ndarray:
    """A numeric tensor as float32 for a model; BOOL and BYTES are refused."""
    if tensor.datatype in ("BYTES", "BOOL"):
        raise InvalidInput(f"Input '{tensor.name}': the model needs numbers, got {tensor.datatype}")
    assert isinstance(tensor.value, np.ndarray)
    with np.errstate(over="ignore", invalid="ignore"):  # inf is refused later as not finite
        return tensor.value.astype(np.float32, copy=False)
