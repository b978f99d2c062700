"""Keras 3 models from `.keras` files, loaded with safe_mode and served by one traced function.

`model.predict()` pays ~50 ms of per-call setup; a `tf.function` traced once with a batch-agnostic
signature answers the same numbers in well under a millisecond for small models.
"""

from __future__ import annotations

import os
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput
from webapp.serving.models.spec import ModelSpec

MAX_UNCOMPRESSED = 2 * 1024**3  # refuse zip bombs before Keras extracts anything
_tf_lock = threading.Lock()
_tf_threads_set = False


def check_keras_archive(path: str) -> None:
    """Refuse archives with unsafe member names or a huge uncompressed size; raises InvalidInput."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                name = info.filename
                if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
                    raise InvalidInput(f"Unsafe member name in .keras archive: {name!r}")
                total += info.file_size
            if total > MAX_UNCOMPRESSED:
                raise InvalidInput(".keras archive expands beyond the size limit")
            if "config.json" not in zf.namelist():
                raise InvalidInput(".keras archive has no config.json")
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"Not a valid .keras archive: {exc}") from exc


def configure_tensorflow(threads: int) -> Any:
    """Import TensorFlow once per process and size its thread pools for this worker."""
    global _tf_threads_set
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    with _tf_lock:
        if not _tf_threads_set:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:
                pass  # already initialised by an earlier model in this process
            _tf_threads_set = True
    return tf


@dataclass
class KerasRuntime:
    model: Any
    function: Any
    path: str = "keras-tf.function"

    @classmethod
    def load(cls, spec: ModelSpec, *, threads: int = 1) -> KerasRuntime:
        artifact = str(spec.artifact_path)
        check_keras_archive(artifact)
        tf = configure_tensorflow(threads)
        import keras

        try:
            model = keras.saving.load_model(artifact, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises ValueError, TypeError, OSError...
            raise InvalidInput(f"Cannot load Keras model: {exc}") from exc
        expected = (None, *spec.input_shape)
        got = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
        if got != expected:
            raise InvalidInput(f"The manifest describes input {expected} but the model takes {got}")
        n_out = model.output_shape[-1]
        if spec.task == "classification" and n_out != len(spec.labels):
            raise InvalidInput(
                f"The manifest names {len(spec.labels)} labels but the model outputs {n_out}"
            )
        signature = [tf.TensorSpec(shape=expected, dtype=tf.float32)]
        function = tf.function(lambda x: model(x, training=False), input_signature=signature)
        return cls(model=model, function=function)

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self.function(np.asarray(batch, dtype=np.float32))
        return np.asarray(out, dtype=np.float32)
