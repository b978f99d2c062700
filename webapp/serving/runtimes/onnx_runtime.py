"""A scikit-learn model converted to ONNX, run by onnxruntime alone (no scikit-learn in the worker).

`InferenceSession.run` is thread-safe, so the worker's threads share one session; its intra-op pool
is sized to the worker's share of the cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def open_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session for `path`, with this worker's thread budget."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@dataclass
class OnnxRuntime:
    session: Any
    input_name: str
    output_name: str
    flatten: bool  # a regressor answers [n, 1]; Podium's regressors answer [n]
    path: str = "onnxruntime"

    @classmethod
    def load(cls, path: Path, *, threads: int = 1, classifier: bool = True) -> OnnxRuntime:
        session = open_session(path, threads)
        outputs = [o.name for o in session.get_outputs()]
        name = "probabilities" if classifier and "probabilities" in outputs else outputs[-1]
        return cls(session, session.get_inputs()[0].name, name, flatten=not classifier)

    def run(self, batch: np.ndarray) -> np.ndarray:
        feed = {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        out = self.session.run([self.output_name], feed)[0]
        return out.reshape(len(out)) if self.flatten else out
