"""Quantized TFLite forms of a Keras classifier, each measured against the float model (in the child).

Each form in the plan is converted, run on the held-out rows stored with the version and judged by
two figures: top-1 agreement with the float (native Keras) model, and the held-out accuracy it
loses. A form serves only when both are within the plan's budget; the figures are recorded either
way. int8 is calibrated on the same held-out rows (its representative dataset): calibration only
fixes each tensor's range, it learns no weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from webapp.serving.models.quantize_plan import FORMS, QuantizePlan
from webapp.serving.models.spec import ModelSpec

ARTIFACTS = {form: f"model.{form}.tflite" for form in FORMS}
SLACK_MS = 0.05  # differences below this are noise beside one HTTP request (~0.5 ms here)
Timer = Callable[[Callable[[np.ndarray], Any], np.ndarray], float]


def labelled_rows(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """The held-out rows and their labels (`heldout.json` with "x" and "y"), or None."""
    try:
        held = json.loads((spec.path / "heldout.json").read_text(encoding="utf-8"))
        x = np.asarray(held["x"], dtype=np.float32).reshape((-1, *spec.input_shape))
        y = np.asarray(held["y"]).astype(np.int64).reshape(-1)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (x, y) if len(x) and len(x) == len(y) else None


def convert_form(model: Any, form: str, calibration: np.ndarray) -> bytes:
    """The TFLite flatbuffer of `model` in one quantized form."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # alone: dynamic-range int8 weights
    if form == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif form == "int8":
        def representative() -> Iterator[list[np.ndarray]]:
            for row in calibration:
                yield [row[None]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def judge(answers: np.ndarray, reference: np.ndarray, y: np.ndarray, plan: QuantizePlan) -> dict[str, Any]:
    """Agreement with the float model's top class, accuracy and its drop; accepted or why not."""
    if answers.shape != reference.shape or not np.all(np.isfinite(answers)):
        return {"accepted": False, "reason": f"outputs of shape {answers.shape} or not finite"}
    top, float_top = answers.argmax(axis=1), reference.argmax(axis=1)
    agreement = float((top == float_top).mean())
    drop = float((float_top == y).mean() - (top == y).mean())
    figures = {"agreement": round(agreement, 6), "accuracy": round(float((top == y).mean()), 6),
               "accuracy_drop": round(drop, 6), "disagreements": int((top != float_top).sum())}
    if agreement < plan.min_agreement:
        why = f"top-1 agreement {agreement:.2%} is below {plan.min_agreement:.2%}"
    elif drop > plan.max_accuracy_drop + 1e-9:
        why = f"held-out accuracy drops {drop * 100:.2f} points, more than {plan.max_accuracy_drop * 100:g}"
    else:
        return {**figures, "accepted": True, "reason": "within the budget"}
    return {**figures, "accepted": False, "reason": why}


def try_form(model: Any, form: str, rows: tuple[np.ndarray, np.ndarray], reference: np.ndarray,
             plan: QuantizePlan, folder: Path, timer: Timer) -> dict[str, Any]:
    """Convert, open, judge and time one form into `folder`; its figures (never raises)."""
    from webapp.serving.runtimes.tflite_runtime import TFLiteRuntime

    x, y = rows
    try:
        data = convert_form(model, form, x)
        (folder / ARTIFACTS[form]).write_bytes(data)
        runtime = TFLiteRuntime.load(folder / ARTIFACTS[form], threads=1, form=form)
        figures = judge(runtime.run(x), reference, y, plan)
    except Exception as exc:  # a converter refuses many things in many ways
        return {"accepted": False, "reason": f"conversion failed: {type(exc).__name__}: {exc}"[:500]}
    return {**figures, "artifact": ARTIFACTS[form], "path": runtime.path, "bytes": len(data),
            "ms": timer(runtime.run, x[:1]), "batch_ms": timer(runtime.run, x)}


def measure(spec: ModelSpec, native: Any, plan: QuantizePlan, folder: Path,
            timer: Timer) -> dict[str, Any]:
    """Every form of the plan, measured: {"plan", "heldout_rows", "float_accuracy", "forms"} or,
    when none can be measured, {"plan", "skipped": why}."""
    out: dict[str, Any] = {"plan": plan.as_dict()}
    rows = labelled_rows(spec)
    if spec.framework != "keras":
        return {**out, "skipped": "quantization applies to Keras models only"}
    if spec.task != "classification":
        return {**out, "skipped": "quantization is verified on classifiers only (top-1 agreement)"}
    if rows is None:
        return {**out, "skipped": "the version has no held-out rows with labels (heldout.json)"}
    reference = native.run(rows[0])
    forms = {form: try_form(native.model, form, rows, reference, plan, folder, timer)
             for form in plan.forms or ()}
    return {**out, "heldout_rows": len(rows[1]),
            "float_accuracy": round(float((reference.argmax(axis=1) == rows[1]).mean()), 6),
            "forms": forms}


def pick(measured: dict[str, Any], baseline_ms: float, slower_limit: float) -> str | None:
    """The form to serve: the first accepted one in the order of preference (int8 > dynamic >
    float16: smallest and, with XNNPACK's integer kernels, fastest first) unless it measured
    clearly slower than the float path (`slower_limit` times and SLACK_MS more). Marks each
    accepted form with whether it serves and why."""
    chosen = None
    for form, figures in (measured.get("forms") or {}).items():
        if not figures.get("accepted"):
            continue
        if chosen is None and figures["ms"] <= max(slower_limit * baseline_ms, baseline_ms + SLACK_MS):
            chosen, figures["serves"] = form, True
        elif chosen is None:
            figures["serves"], figures["note"] = False, "slower than the float path"
        else:
            figures["serves"], figures["note"] = False, f"{chosen} is preferred"
    return chosen


def with_quantized(spec: ModelSpec, native: Any, folder: Path, plan: QuantizePlan,
                   verdict: dict[str, Any], timer: Timer, slower_limit: float) -> dict[str, Any]:
    """The verdict once the plan's quantized forms were measured: the preferred accepted form
    serves, else the float verdict stands; the figures are kept either way."""
    measured = measure(spec, native, plan, folder, timer)
    float_ok = bool(verdict.get("accelerated")) and verdict.get("artifact") == "model.tflite"
    if float_ok:
        measured["float32"] = {"bytes": (folder / "model.tflite").stat().st_size,
                               "ms": verdict["timings"]["accelerated_ms"]}
    form = None
    if measured.get("forms"):
        baseline = measured["float32"]["ms"] if float_ok else timer(native.run, labelled_rows(spec)[0][:1])
        form = pick(measured, baseline, slower_limit)
    if form is None:
        return {**verdict, "form": "float32" if float_ok else None, "quantization": measured}
    chosen = measured["forms"][form]
    return {**verdict, "accelerated": True, "artifact": chosen["artifact"], "path": chosen["path"],
            "form": form, "quantization": measured,
            "reason": f"{form} form: top-1 agreement {chosen['agreement']:.2%} with the float model on "
                      f"{measured['heldout_rows']} held-out rows, accuracy drop "
                      f"{chosen['accuracy_drop'] * 100:.2f} points, {chosen['bytes']} bytes"}
