"""Feature rows and ready-made tensors → the model's float32 batch, with messages naming the input.

Every check here produces a message a person can act on, naming the model's real inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _bad_value(spec: ModelSpec, row: int, col: int, value: Any) -> InvalidInput:
    shown = repr(value)[:40]
    return InvalidInput(
        f"Row {row}: feature '{spec.features[col].name}' must be a number, got {shown}"
    )


def _row_values(spec: ModelSpec, row: Any, index: int) -> Sequence[Any]:
    """One row as a sequence of values in the manifest's feature order."""
    names = spec.feature_names
    if isinstance(row, dict):
        unknown = [k for k in row if k not in set(names)]
        if unknown:
            raise InvalidInput(f"Row {index}: unknown feature {unknown[0]!r}; "
                               f"{spec.name} expects {spec.describe_input()}")
        missing = [n for n in names if n not in row]
        if missing:
            raise InvalidInput(f"Row {index}: missing feature {missing[0]!r}; "
                               f"{spec.name} expects {spec.describe_input()}")
        return [row[n] for n in names]
    if not isinstance(row, list | tuple):
        raise InvalidInput(f"Row {index} must be a list of {len(names)} numbers or an object "
                           f"keyed by feature name; {spec.name} expects {spec.describe_input()}")
    if len(row) != len(names):
        raise InvalidInput(f"{spec.name} expects {spec.describe_input()}, got {len(row)} "
                           f"in row {index}")
    return row


def rows_to_batch(spec: ModelSpec, rows: Any) -> np.ndarray:
    """Feature rows (lists in manifest order, or objects keyed by feature name) → float32 [n, k]."""
    if isinstance(rows, np.ndarray):
        return check_tensor(spec, rows)
    if not isinstance(rows, list):
        raise InvalidInput(f"Expected a list of rows; {spec.name} expects {spec.describe_input()}")
    out = np.empty((len(rows), len(spec.features)), dtype=np.float64)
    for i, row in enumerate(rows):
        values = _row_values(spec, row, i)
        for j, value in enumerate(values):
            if not _is_number(value):
                raise _bad_value(spec, i, j, value)
            try:
                out[i, j] = value
            except OverflowError:
                raise InvalidInput(f"Row {i}: feature '{spec.features[j].name}' is out of range") from None
    return check_finite(spec, out).astype(np.float32)


def check_finite(spec: ModelSpec, batch: np.ndarray) -> np.ndarray:
    """Refuse NaN and infinities, which no served model can use, naming the first offender."""
    bad = ~np.isfinite(batch)
    if bad.any():
        where = np.argwhere(bad)[0]
        what = spec.features[where[1]].name if spec.features and batch.ndim == 2 else "a value"
        raise InvalidInput(f"Row {where[0]}: {what} is {batch[tuple(where)]}; "
                           f"{spec.name} needs finite numbers")
    return batch


def check_tensor(spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
    """A ready-made numeric batch → float32 of the model's input shape (channel axis optional)."""
    if tensor.dtype.kind not in "iuf":
        raise InvalidInput(f"{spec.name} needs numbers, got {tensor.dtype} data")
    expected = spec.input_shape
    if spec.image is not None and spec.image.channels == 1 and tensor.shape[1:] == expected[:-1]:
        tensor = tensor[..., np.newaxis]
    if tensor.ndim != len(expected) + 1 or tensor.shape[1:] != expected:
        raise InvalidInput(f"{spec.name} expects a batch of shape [-1, "
                           f"{', '.join(map(str, expected))}], got {list(tensor.shape)}")
    return check_finite(spec, tensor.astype(np.float32, copy=False))
