"""What an adapter hands the service: feature rows, encoded images or a ready tensor, said outright.

A protocol's decoder knows which of the three it read, so it says so with one of these types and
the service converts it once, by type, without guessing from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput, PayloadTooLarge
from webapp.serving.inputs.images import DEFAULT_MAX_PIXELS, images_to_batch
from webapp.serving.inputs.rows import check_tensor, rows_to_batch
from webapp.serving.models.spec import ModelSpec


@dataclass(frozen=True)
class Rows:
    """Feature rows: lists in manifest order, or objects keyed by feature name."""

    rows: list[Any]


@dataclass(frozen=True)
class Images:
    """Encoded images (PNG, JPEG, ...); `refuse_blank` for people, who never mean to send nothing."""

    images: list[bytes]
    refuse_blank: bool = False


@dataclass(frozen=True)
class Tensor:
    """A numeric batch already shaped like the model's input (a channel axis may be left out)."""

    array: np.ndarray

    @classmethod
    def of(cls, nested: Any) -> Tensor:
        """A tensor from nested lists; raises InvalidInput when they are ragged or mixed."""
        try:
            return cls(np.asarray(nested))
        except ValueError as exc:
            raise InvalidInput(f"Ragged or mixed input: {exc}") from None


Inputs = Rows | Images | Tensor


@dataclass(frozen=True)
class Limits:
    max_rows: int = 10_000
    max_image_pixels: int = DEFAULT_MAX_PIXELS


def to_batch(spec: ModelSpec, inputs: Inputs, limits: Limits) -> np.ndarray:
    """The model's float32 batch for what the caller sent; raises InvalidInput or PayloadTooLarge."""
    if isinstance(inputs, Tensor):
        batch = check_tensor(spec, inputs.array)
    elif isinstance(inputs, Images):
        _check_rows(len(inputs.images), limits)
        if spec.image is None:
            raise InvalidInput(f"{spec.name} takes {spec.describe_input()}, not images")
        batch = images_to_batch(spec, inputs.images, limits.max_image_pixels)
        if inputs.refuse_blank and len(batch) and not batch.any():
            raise InvalidInput("The image is blank: there is nothing for the model to see.")
    else:
        _check_rows(len(inputs.rows) if isinstance(inputs.rows, list) else 0, limits)
        if spec.image is not None:
            batch = check_tensor(spec, Tensor.of(inputs.rows).array)
        else:
            batch = rows_to_batch(spec, inputs.rows)
    _check_rows(len(batch), limits)
    if len(batch) == 0:
        raise InvalidInput(f"The batch is empty; {spec.name} expects at least one row")
    return batch


def _check_rows(rows: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise PayloadTooLarge(f"The batch has {rows} rows; the limit is {limits.max_rows}")
