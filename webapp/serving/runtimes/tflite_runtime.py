"""A Keras model converted to TFLite, run by ai-edge-litert alone (no TensorFlow in the worker).

A LiteRT interpreter is not thread-safe and owns its tensor arena, so each runtime keeps one
interpreter behind a lock: on a worker with one core's share, a second interpreter would only add
memory, not throughput. The input is resized only when the batch size changes.
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
class TFLiteRuntime:
    interpreter: Any
    input_index: int
    output_index: int
    path: str = "tflite (ai-edge-litert)"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rows: int = 0

    @classmethod
    def load(cls, path: Path, *, threads: int = 1) -> TFLiteRuntime:
        interpreter = open_interpreter(path, threads)
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        return cls(interpreter, inp["index"], out["index"], _rows=int(inp["shape"][0]))

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        with self._lock:
            it = self.interpreter
            if len(batch) != self._rows:
                it.resize_tensor_input(self.input_index, list(batch.shape), strict=False)
                it.allocate_tensors()
                self._rows = len(batch)
            it.set_tensor(self.input_index, batch)
            it.invoke()
            out = it.get_tensor(self.output_index).copy()  # the arena is reused by the next call
        return out
