"""Convert one version to a fast form, check it against the native model, and cache the verdict.

Run through `sandbox.run_module` as `python -m webapp.serving.acceleration.convert IN OUT --name N
--version V [--trusted] [--trust-types JSON] [--quantize PLAN-JSON]`, in its own confined process: it
imports TensorFlow or scikit-learn (the serving worker then need not) and keeps the loading of an
artifact away from the worker. IN is a copy of the version; it writes into OUT, inside its scratch
folder, the converted artifact (when one passed) and `verdict.json` saying which path to serve, why,
and what it measured; the parent checks them and publishes them as `<version>/.accelerated/`. A
native artifact it cannot load gives a verdict with "refused", and the worker then does not load it
either.

The check: every held-out row stored with the version (`heldout.json`) plus 32 synthetic rows drawn
within the manifest's input ranges go through both forms; each output must satisfy
|fast - native| <= ATOL + RTOL * |native|, and a classifier's top class must be the same on every
held-out row. A Keras classifier whose plan names quantized forms then has each measured and judged
by `quantize` (agreement and accuracy drop on the held-out rows); the preferred accepted one serves.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from webapp.serving.acceleration import quantize
from webapp.serving.models.quantize_plan import NO_QUANTIZATION, QuantizePlan
from webapp.serving.models.spec import MANIFEST, ModelSpec, load_manifest

CACHE = ".accelerated"
VERDICT = "verdict.json"
# all a converter may leave beside its verdict
ARTIFACTS = ("model.tflite", "model.onnx", *quantize.ARTIFACTS.values())
NATIVE_LOADED = "podium-native-loaded"  # printed once the native model loaded and answered
FORMAT = 2  # 2: the quantization plan is part of the stamp
ATOL = 1e-4
RTOL = 1e-4
SYNTHETIC_ROWS = 32
SLOWER_LIMIT = 1.5  # serve the converted form only if it is not clearly slower than the native one


def source_stamp(spec: ModelSpec, plan: QuantizePlan = NO_QUANTIZATION) -> dict[str, Any]:
    """What the verdict was computed from (the quantization plan included, so a new setting
    converts again); a verdict whose stamp differs is stale."""
    artifact, manifest = spec.artifact_path.stat(), (spec.path / MANIFEST).stat()
    return {"format": FORMAT, "artifact": spec.artifact, "size": artifact.st_size,
            "mtime_ns": artifact.st_mtime_ns, "manifest_mtime_ns": manifest.st_mtime_ns,
            "quantize": plan.as_dict()}


def check_rows(spec: ModelSpec) -> tuple[np.ndarray, int]:
    """Held-out rows (when the version has them) followed by synthetic rows; (rows, held-out count)."""
    rng = np.random.default_rng(0)
    shape = (SYNTHETIC_ROWS, *spec.input_shape)
    if spec.image is not None:
        synthetic = rng.uniform(0.0, spec.image.scale, shape)
    else:
        low = np.array([f.min if f.min is not None else -1.0 for f in spec.features])
        high = np.array([f.max if f.max is not None else 1.0 for f in spec.features])
        synthetic = rng.uniform(low, np.maximum(high, low), shape)
    held = np.zeros((0, *spec.input_shape))
    path = spec.path / "heldout.json"
    if path.is_file():
        held = np.asarray(json.loads(path.read_text(encoding="utf-8"))["x"], dtype=np.float64)
        held = held.reshape((-1, *spec.input_shape))
    return np.concatenate([held, synthetic]).astype(np.float32), len(held)


def compare(native: np.ndarray, fast: np.ndarray, spec: ModelSpec, held: int) -> tuple[bool, dict]:
    """(passed, figures) for the converted outputs against the native ones."""
    figures: dict[str, Any] = {"rows": len(native), "heldout_rows": held, "atol": ATOL, "rtol": RTOL}
    if native.shape != fast.shape:
        return False, {**figures, "problem": f"shape {fast.shape} != native {native.shape}"}
    diff = np.abs(fast.astype(np.float64) - native)
    figures["max_abs_diff"] = float(diff.max())
    ok = bool(np.all(diff <= ATOL + RTOL * np.abs(native)))
    if spec.task == "classification":
        same = np.argmax(fast[:held], axis=1) == np.argmax(native[:held], axis=1)
        figures["heldout_argmax_mismatches"] = int((~same).sum())
        ok = ok and bool(same.all())
    return ok, figures


def median_ms(call: Callable[[np.ndarray], Any], batch: np.ndarray, budget: float = 0.5) -> float:
    """Median wall time of one call, over as many calls as fit in `budget` seconds (3 to 200)."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < 3 or (len(times) < 200 and time.perf_counter() < deadline):
        started = time.perf_counter()
        call(batch)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000.0, 4)


def convert_keras(runtime: Any, folder: Path) -> tuple[str, Callable[[Path], Any]]:
    import tensorflow as tf

    from webapp.serving.runtimes.tflite_runtime import TFLiteRuntime

    data = tf.lite.TFLiteConverter.from_keras_model(runtime.model).convert()
    (folder / "model.tflite").write_bytes(data)
    return "model.tflite", lambda path: TFLiteRuntime.load(path, threads=1)


def convert_sklearn(runtime: Any, folder: Path, sample: np.ndarray,
                    classifier: bool) -> tuple[str, Callable[[Path], Any]]:
    from skl2onnx import to_onnx

    from webapp.serving.runtimes.onnx_runtime import OnnxRuntime

    options = {"zipmap": False} if classifier else None
    onx = to_onnx(runtime.estimator, sample[:1], options=options)
    (folder / "model.onnx").write_bytes(onx.SerializeToString())
    return "model.onnx", lambda path: OnnxRuntime.load(path, threads=1, classifier=classifier)


def load_native(spec: ModelSpec, trusted: bool, extension: list[str]) -> tuple[Any, str | None]:
    """(runtime, None) once the native model loaded and answered a warm-up, else (None, why not)."""
    from webapp.serving.runtimes import load_runtime, warm_up

    try:
        native = load_runtime(spec, trusted=trusted, threads=1, extension=extension)
        warm_up(spec, native)
    except Exception as exc:  # refused (ServingError) or broken: the worker must not load it
        return None, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"[:500]
    print(NATIVE_LOADED, flush=True)
    return native, None


def build(spec: ModelSpec, folder: Path, trusted: bool, extension: list[str],
          plan: QuantizePlan = NO_QUANTIZATION) -> dict[str, Any]:
    """Load natively, convert, check and time into `folder`; the verdict (never raises for a model
    fault). It names the skops types only the operator's extension admitted, for the audit log."""
    started = time.perf_counter()
    native, refused = load_native(spec, trusted, extension)
    if native is None:
        return {"accelerated": False, "refused": refused, "reason": refused}
    operator_types = list(getattr(native, "operator_types", ()))
    verdict = convert(spec, native, folder, started)
    if plan.forms:
        verdict = quantize.with_quantized(spec, native, folder, plan, verdict, median_ms, SLOWER_LIMIT)
    return {**verdict, "operator_types": operator_types}


def convert(spec: ModelSpec, native: Any, folder: Path, started: float) -> dict[str, Any]:
    """Convert the loaded native model into `folder`, check and time it; the verdict."""
    rows, held = check_rows(spec)
    try:
        if spec.framework == "keras":
            artifact, opener = convert_keras(native, folder)
        else:
            artifact, opener = convert_sklearn(native, folder, rows, spec.task == "classification")
        fast = opener(folder / artifact)
        passed, figures = compare(native.run(rows), fast.run(rows), spec, held)
    except Exception as exc:  # a converter refuses many things in many ways
        return {"accelerated": False, "reason": f"conversion failed: {type(exc).__name__}: {exc}"[:500]}
    timings = {"native_ms": median_ms(native.run, rows[:1]),
               "accelerated_ms": median_ms(fast.run, rows[:1]),
               "native_batch_ms": median_ms(native.run, rows),
               "accelerated_batch_ms": median_ms(fast.run, rows), "batch_rows": len(rows)}
    verdict = {"artifact": artifact, "path": fast.path, "native_path": native.path, "check": figures,
               "timings": timings, "convert_seconds": round(time.perf_counter() - started, 2)}
    if not passed:
        return {**verdict, "accelerated": False, "reason": "outputs differ from the native model"}
    if timings["accelerated_ms"] > SLOWER_LIMIT * timings["native_ms"]:
        return {**verdict, "accelerated": False, "reason": "the converted form is slower"}
    same = ", same top class on every held-out row" if spec.task == "classification" else ""
    return {**verdict, "accelerated": True,
            "reason": f"verified on {len(rows)} rows ({held} held-out): max |diff| "
                      f"{figures['max_abs_diff']:.2g}{same}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a copy of the version folder")
    parser.add_argument("out", type=Path, help="where to write the verdict and converted artifact")
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", type=int, required=True)
    parser.add_argument("--trusted", action="store_true", help="the operator trusts pickle artifacts")
    parser.add_argument("--trust-types", default="[]", help="JSON list of extra skops type names")
    parser.add_argument("--quantize", default="{}", help="JSON quantization plan (forms and budget)")
    args = parser.parse_args(argv)
    spec = load_manifest(args.source, args.name, args.version)
    plan = json.loads(args.quantize)
    plan = QuantizePlan(**{**plan, "forms": tuple(plan.get("forms", ()))})
    verdict = build(spec, args.out, args.trusted, json.loads(args.trust_types), plan)
    (args.out / VERDICT).write_text(json.dumps(verdict, indent=2), encoding="utf-8")
    print(json.dumps({"accelerated": verdict["accelerated"], "reason": verdict["reason"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
