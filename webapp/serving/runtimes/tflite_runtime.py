"""A Keras model converted to TFLite, run by ai-edge-litert alone (no TensorFlow in the worker).

A LiteRT interpreter is not thread-safe and owns its tensor arena, so each interpreter sits behind a
lock: on a worker with one core's share, more interpreters would only add memory, not throughput.
Resizing an interpreter re-plans its arena and XNNPACK's packing (measured: a first batch of 8
through MobileNetV2 costs 2.5x a steady one), so single rows, the common case, keep an interpreter
fixed at batch 1, and other sizes go to a second one created on first use, resized when the size
changes. Background work (the monitor's answers on reference and held-out rows) goes row by row
through the batch-1 interpreter instead (`run_rows`): a second interpreter made for a batch no client
sent would stay resident, about 50 MB for MobileNetV2 at 4 rows (its own mapping of the file,
XNNPACK's packed weights, an arena sized for the batch). The answers are the same, row for row.

A full-integer (int8) model takes and gives integers: the float batch is quantized with the input
tensor's (scale, zero point) and the answer dequantized with the output's, so callers see floats.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def open_interpreter(path: Path, threads: int) -> Any:
    """An allocated interpreter for a `.tflite` file; raises whatever LiteRT raises on a bad file."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=max(1, threads))
    interpreter.allocate_tensors()
    return interpreter


@dataclass
class _Slot:
    """One interpreter, its lock and the batch size its tensors are allocated for."""

    interpreter: Any
    rows: int
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Scaling:
    """How a float maps onto an integer tensor: q = round(x / scale) + zero_point, clipped."""

    dtype: Any
    scale: float
    zero_point: int

    @classmethod
    def of(cls, detail: dict[str, Any]) -> Scaling | None:
        """The tensor's scaling when it is an integer tensor, else None (a float tensor)."""
        if not np.issubdtype(detail["dtype"], np.integer):
            return None
        scale, zero_point = detail["quantization"]
        return cls(detail["dtype"], float(scale) or 1.0, int(zero_point))

    def quantize(self, batch: np.ndarray) -> np.ndarray:
        info = np.iinfo(self.dtype)
        q = np.round(batch / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        return ((values.astype(np.float32) - self.zero_point) * self.scale).astype(np.float32)


@dataclass
class TFLiteRuntime:
    model_path: Path
    threads: int
    input_index: int
    output_index: int
    single: _Slot
    path: str = "tflite (ai-edge-litert)"
    inputs: Scaling | None = None  # set for an integer input tensor
    outputs: Scaling | None = None
    _bulk: _Slot | None = None
    _bulk_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path, *, threads: int = 1, form: str | None = None) -> TFLiteRuntime:
        """`form`: the quantized form it holds (int8, dynamic, float16), named in its call path."""
        interpreter = open_interpreter(path, threads)
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        runtime = cls(path, threads, inp["index"], out["index"], _Slot(interpreter, int(inp["shape"][0])),
                      f"tflite {form} (ai-edge-litert)" if form else cls.path,
                      Scaling.of(inp), Scaling.of(out))
        if runtime.single.rows != 1:
            runtime._resize(runtime.single, 1)
        return runtime

    def _resize(self, slot: _Slot, rows: int) -> None:
        shape = list(slot.interpreter.get_input_details()[0]["shape"])
        slot.interpreter.resize_tensor_input(self.input_index, [rows, *shape[1:]], strict=False)
        slot.interpreter.allocate_tensors()
        slot.rows = rows

    def _bulk_slot(self) -> _Slot:
        with self._bulk_lock:
            if self._bulk is None:
                self._bulk = _Slot(open_interpreter(self.model_path, self.threads), 0)
            return self._bulk

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.inputs is not None:
            batch = self.inputs.quantize(batch)
        slot = self.single if len(batch) == 1 else self._bulk_slot()
        with slot.lock:
            if slot.rows != len(batch):
                self._resize(slot, len(batch))
            slot.interpreter.set_tensor(self.input_index, batch)
            slot.interpreter.invoke()
            out = slot.interpreter.get_tensor(self.output_index)
            if self.outputs is not None:
                return self.outputs.dequantize(out)
            return out.copy()  # the arena is reused

    def run_rows(self, batch: np.ndarray) -> np.ndarray:
        """`run`, one row at a time on the batch-1 interpreter: for background batches (see above)."""
        return np.concatenate([self.run(batch[i:i + 1]) for i in range(len(batch))]) if len(batch) \
            else self.run(batch)
