"""Float against quantized TFLite forms of one Keras version, in process: size, agreement, speed.

    .venv/bin/python -m scripts.bench.quantized VERSION_DIR [--seconds 3] [--threads 1]

VERSION_DIR is a version folder (model.json, model.keras, heldout.json), e.g. the digits demo's
`model_store/digits/1` or the bench's MobileNetV2 (`scripts/bench/models.py`). Each form is made
and judged by the converter's own code (`acceleration.quantize`), then called with one row at a
time through Podium's TFLite runtime for `--seconds` (split into `--rounds`, the forms interleaved;
the best round's median counts); prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from webapp.serving.acceleration.quantize import ARTIFACTS, convert_form, judge, labelled_rows
from webapp.serving.models.quantize_plan import FORMS, QuantizePlan
from webapp.serving.models.spec import load_manifest
from webapp.serving.runtimes import load_runtime
from webapp.serving.runtimes.tflite_runtime import TFLiteRuntime


def median_ms(run, row: np.ndarray, seconds: float) -> float:
    """The median wall time of `run(row)` over `seconds`, in ms."""
    run(row)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        run(row)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds, forms interleaved")
    args = parser.parse_args()
    spec = load_manifest(args.version, args.version.parent.name, int(args.version.name))
    native = load_runtime(spec, threads=args.threads)
    x, y = labelled_rows(spec)
    reference = native.run(x)
    with tempfile.TemporaryDirectory() as folder:
        runtimes = {form: convert(native.model, form, x, Path(folder), args.threads)
                    for form in ("float32", *FORMS)}
        best = dict.fromkeys(runtimes, float("inf"))
        for _ in range(args.rounds):  # forms interleaved, so a busy moment hits all alike
            for form, runtime in runtimes.items():
                best[form] = min(best[form], median_ms(runtime.run, x[:1], args.seconds / args.rounds))
        print("| form | bytes | top-1 agreement | accuracy drop (points) | median ms, 1 row | rows/s "
              "| × float |")
        print("|---|---|---|---|---|---|---|")
        for form, runtime in runtimes.items():
            figures = judge(runtime.run(x), reference, y, QuantizePlan())
            print(f"| {form} | {runtime.model_path.stat().st_size} | {figures['agreement']:.2%} | "
                  f"{figures['accuracy_drop'] * 100:.2f} | {best[form]:.3f} | {1000 / best[form]:,.0f} | "
                  f"{best['float32'] / best[form]:.2f} |")


def convert(model, form: str, x: np.ndarray, folder: Path, threads: int) -> TFLiteRuntime:
    """The form written into `folder` and opened as Podium serves it."""
    path = folder / (ARTIFACTS.get(form) or "model.tflite")
    if form == "float32":
        import tensorflow as tf

        path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    else:
        path.write_bytes(convert_form(model, form, x))
    return TFLiteRuntime.load(path, threads=threads, form=None if form == "float32" else form)


if __name__ == "__main__":
    main()
