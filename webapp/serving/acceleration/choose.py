"""Pick the call path for a version in the worker: the verified fast form when there is one, else native.

The conversion and its check run in a child process (`webapp.serving.acceleration.convert`) whose verdict is
cached beside the version, so a restart, or the second worker, reuses it; a file lock makes the
workers of one host convert a version once. A worker that serves only converted versions never
imports TensorFlow or scikit-learn.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import time
from typing import Any

from webapp.serving.acceleration.convert import CACHE, VERDICT, source_stamp
from webapp.serving.models.spec import ModelSpec
from webapp.serving.runtimes import Runtime, load_runtime
from webapp.serving.sandbox import run_module

log = logging.getLogger(__name__)
LOCK = ".accelerate.lock"


def read_verdict(spec: ModelSpec) -> dict[str, Any] | None:
    """The cached verdict when it was computed from this very artifact and manifest, else None."""
    try:
        verdict = json.loads((spec.path / CACHE / VERDICT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return verdict if verdict.get("source") == source_stamp(spec) else None


def convert_in_child(spec: ModelSpec, trusted: bool, timeout: float) -> dict[str, Any]:
    """Run the converter process for this version, once per host; its verdict or a failure verdict."""
    try:
        lock = os.open(spec.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return {"accelerated": False, "reason": f"cannot write beside the version: {exc.strerror}"}
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a sibling worker may be converting it right now
        verdict = read_verdict(spec)
        if verdict is not None:
            return verdict
        args = [str(spec.path), *(["--trusted"] if trusted else [])]
        started = time.perf_counter()
        try:
            done = run_module("webapp.serving.acceleration.convert", args, timeout=timeout,
                              scratch=spec.path)
        except subprocess.TimeoutExpired:
            return {"accelerated": False, "reason": f"conversion took longer than {timeout:g}s"}
        log.info("Converted %s version %s in %.1fs", spec.name, spec.version, time.perf_counter() - started)
        verdict = read_verdict(spec)
        if verdict is None:
            tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
            return {"accelerated": False, "reason": f"converter exited {done.returncode}: {tail[0][:300]}"}
        return verdict
    finally:
        os.close(lock)


def open_fast(spec: ModelSpec, verdict: dict[str, Any], threads: int) -> Runtime:
    artifact = spec.path / CACHE / verdict["artifact"]
    if artifact.suffix == ".tflite":
        from webapp.serving.runtimes.tflite_runtime import TFLiteRuntime

        return TFLiteRuntime.load(artifact, threads=threads)
    from webapp.serving.runtimes.onnx_runtime import OnnxRuntime

    return OnnxRuntime.load(artifact, threads=threads, classifier=spec.task == "classification")


def summary(verdict: dict[str, Any], served: str) -> dict[str, Any]:
    """What metadata and stats show about the choice."""
    keep = ("reason", "check", "timings", "native_path")
    return {"accelerated": served == "accelerated", **{k: verdict[k] for k in keep if k in verdict}}


def load(spec: ModelSpec, *, trusted: bool, threads: int, enabled: bool = True,
         timeout: float = 300.0) -> tuple[Runtime, dict[str, Any]]:
    """(runtime, acceleration summary) for a version; raises what the native loader raises."""
    if not enabled:
        verdict: dict[str, Any] = {"reason": "acceleration is off (PODIUM_ACCELERATE)"}
    elif spec.raw.get("accelerate") is False:
        verdict = {"reason": "the manifest opts out (\"accelerate\": false)"}
    else:
        verdict = read_verdict(spec) or convert_in_child(spec, trusted, timeout)
        if verdict.get("accelerated"):
            try:
                return open_fast(spec, verdict, threads), summary(verdict, "accelerated")
            except Exception as exc:  # a cache damaged on disk: fall back, say why
                verdict = {**verdict, "reason": f"cannot open the converted artifact: {exc}"}
    log.info("%s version %s runs natively: %s", spec.name, spec.version, verdict.get("reason"))
    return load_runtime(spec, trusted=trusted, threads=threads), summary(verdict, "native")
