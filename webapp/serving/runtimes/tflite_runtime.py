"""A Keras model converted to TFLite, run by ai-edge-litert alone (no TensorFlow in the worker).

A LiteRT interpreter is not thread-safe and owns its tensor arena, so each interpreter sits behind a
lock: on a worker with one core's share, more interpreters would only add memory, not throughput.
Resizing an interpreter re-plans its arena and XNNPACK's packing (measured: a first batch of 8
through MobileNetV2 costs 2.5x a steady one), so single rows, the common case, keep an interpreter
fixed at batch 1, and other sizes go to a second one created on first use, resized when the size
changes.
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


@dataclass
class TFLiteRuntime:
    model_path: Path
    threads: int
    input_index: int
    output_index: int
    single: _Slot
    path: str = "tflite (ai-edge-litert)"
    _bulk: _Slot | None = None
    _bulk_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path, *, threads: int = 1) -> TFLiteRuntime:
        interpreter = open_interpreter(path, threads)
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        runtime = cls(path, threads, inp["index"], out["index"], _Slot(interpreter, int(inp["shape"][0])))
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
        slot = self.single if len(batch) == 1 else self._bulk_slot()
        with slot.lock:
            if slot.rows != len(batch):
                self._resize(slot, len(batch))
            slot.interpreter.set_tensor(self.input_index, batch)
            slot.interpreter.invoke()
            return slot.interpreter.get_tensor(self.output_index).copy()  # the arena is reused
