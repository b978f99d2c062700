"""Pick the call path for a version in the worker: the verified fast form when there is one, else native.

The conversion and its check run in a sandboxed child process (`acceleration.convert` through
`sandbox.run_module`) that sees a copy of the version in its scratch folder and writes only there;
this process checks what it wrote and caches it beside the version, so a restart, or the second
worker, reuses it; a file lock makes the workers of one host convert a version once. The child also
loads the native model first, under the same rules as a publish trial: an artifact it refuses, or
dies loading, is never loaded by the worker. A worker that serves only converted versions never
imports TensorFlow or scikit-learn.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from webapp.serving.acceleration.convert import ARTIFACTS, CACHE, NATIVE_LOADED, VERDICT, source_stamp
from webapp.serving.errors import InvalidInput
from webapp.serving.models.quantize_plan import NO_QUANTIZATION, QuantizePlan, effective_plan
from webapp.serving.models.spec import MANIFEST, ModelSpec
from webapp.serving.runtimes import Runtime, check_artifact, load_runtime
from webapp.serving.sandbox import DEFAULT_LIMITS, TrialLimits, run_module

EXTRA_FILES = ("heldout.json",)  # copied beside the artifact for the converter's check

log = logging.getLogger(__name__)
LOCK = ".accelerate.lock"


def read_verdict(spec: ModelSpec, plan: QuantizePlan = NO_QUANTIZATION) -> dict[str, Any] | None:
    """The cached verdict when it was computed from this very artifact, manifest and plan, else None."""
    try:
        verdict = json.loads((spec.path / CACHE / VERDICT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return verdict if verdict.get("source") == source_stamp(spec, plan) else None


def convert_in_child(spec: ModelSpec, trusted: bool, timeout: float,
                     limits: TrialLimits = DEFAULT_LIMITS, extension: Collection[str] = (),
                     plan: QuantizePlan = NO_QUANTIZATION) -> dict[str, Any]:
    """Run the converter for this version once per host, sandboxed; its verdict or a failure verdict.

    A verdict with "refused" means the child could not load the native artifact: the worker must not.
    """
    try:
        lock = os.open(spec.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return {"accelerated": False, "reason": f"cannot write beside the version: {exc.strerror}"}
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a sibling worker may be converting it right now
        verdict = read_verdict(spec, plan)
        if verdict is not None:
            return verdict
        scratch = Path(tempfile.mkdtemp(prefix="podium-convert-"))
        try:
            return _convert(spec, trusted, timeout, limits, extension, scratch, plan)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        os.close(lock)


def _convert(spec: ModelSpec, trusted: bool, timeout: float, limits: TrialLimits,
             extension: Collection[str], scratch: Path, plan: QuantizePlan) -> dict[str, Any]:
    stamp = source_stamp(spec, plan)
    source, out = scratch / "version", scratch / "out"
    source.mkdir()
    out.mkdir()
    for name in (MANIFEST, spec.artifact, *EXTRA_FILES):
        if (spec.path / name).is_file():
            shutil.copyfile(spec.path / name, source / name)
    args = [str(source), str(out), "--name", spec.name, "--version", str(spec.version),
            "--trust-types", json.dumps(sorted(extension)), "--quantize", json.dumps(plan.as_dict())
            ] + (["--trusted"] if trusted else [])
    started = time.perf_counter()
    try:
        done = run_module("webapp.serving.acceleration.convert", args, timeout=timeout, scratch=scratch,
                          memory_bytes=limits.memory_bytes, cpu_seconds=limits.cpu_seconds)
    except subprocess.TimeoutExpired:
        return {"accelerated": False, "reason": f"conversion took longer than {timeout:g}s"}
    log.info("Converted %s version %s in %.1fs", spec.name, spec.version, time.perf_counter() - started)
    verdict = _read_output(out)
    if verdict is None:
        return _failure(done)
    if not verdict.get("refused"):
        _publish(spec.path, out, {**verdict, "source": stamp})
    return verdict


def _read_output(out: Path) -> dict[str, Any] | None:
    """The child's verdict when what it left in `out` is exactly what a converter writes: known
    names, plain files with one link each (never a link to something this process may read)."""
    try:
        entries = {p.name: os.lstat(p) for p in out.iterdir()}
        if set(entries) - {VERDICT, *ARTIFACTS} or VERDICT not in entries or any(
                not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 for st in entries.values()):
            return None
        verdict = json.loads((out / VERDICT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(verdict, dict):
        return None
    artifact = verdict.get("artifact") if verdict.get("accelerated") else None
    if artifact is not None and (artifact not in ARTIFACTS or artifact not in entries):
        return None
    return verdict


def _failure(done: subprocess.CompletedProcess) -> dict[str, Any]:
    """The verdict for a child that left none: refused when it died before the native model loaded."""
    tail = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
    if NATIVE_LOADED.encode() not in (done.stdout or b"") and done.returncode < 0:
        return {"accelerated": False, "refused": f"the trial process died loading the artifact "
                                                 f"(signal {-done.returncode})"}
    return {"accelerated": False, "reason": f"converter exited {done.returncode}: {tail[0][:300]}"}


def _publish(version_dir: Path, out: Path, verdict: dict[str, Any]) -> None:
    """Swap a copy of the child's output in as `<version dir>/.accelerated` (we hold the lock)."""
    folder = Path(tempfile.mkdtemp(prefix=".accelerated-tmp-", dir=version_dir))
    try:
        if verdict.get("accelerated"):
            shutil.copyfile(out / verdict["artifact"], folder / verdict["artifact"])
        (folder / VERDICT).write_text(json.dumps(verdict, indent=2), encoding="utf-8")
        folder.chmod(0o755)  # mkdtemp makes it private; workers may run as another user
        target = version_dir / CACHE
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=".accelerated-old-", dir=version_dir))
            os.replace(target, old / CACHE)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def open_fast(spec: ModelSpec, verdict: dict[str, Any], threads: int) -> Runtime:
    artifact = spec.path / CACHE / verdict["artifact"]
    if artifact.suffix == ".tflite":
        from webapp.serving.runtimes.tflite_runtime import TFLiteRuntime

        form = verdict.get("form")
        return TFLiteRuntime.load(artifact, threads=threads, form=None if form == "float32" else form)
    from webapp.serving.runtimes.onnx_runtime import OnnxRuntime

    return OnnxRuntime.load(artifact, threads=threads, classifier=spec.task == "classification")


def summary(verdict: dict[str, Any], served: str) -> dict[str, Any]:
    """What metadata and stats show about the choice."""
    keep = ("reason", "form", "quantization", "check", "timings", "native_path", "operator_types")
    return {"accelerated": served == "accelerated", **{k: verdict[k] for k in keep if k in verdict}}


def load(spec: ModelSpec, *, trusted: bool, threads: int, enabled: bool = True,
         timeout: float = 300.0, limits: TrialLimits = DEFAULT_LIMITS,
         extension: Collection[str] = (), quantize: tuple[str, ...] = ()) -> tuple[Runtime, dict[str, Any]]:
    """(runtime, acceleration summary) for a version; raises what the native loader raises, and
    InvalidInput when the sandboxed converter refused the artifact or died loading it. `quantize`:
    the forms to try when the manifest names none (PODIUM_QUANTIZE; Keras models only)."""
    check_artifact(spec.artifact, spec.artifact_path, extension)  # no child for what fails here
    if not enabled:
        verdict: dict[str, Any] = {"reason": "acceleration is off (PODIUM_ACCELERATE)"}
    elif spec.raw.get("accelerate") is False:
        verdict = {"reason": "the manifest opts out (\"accelerate\": false)"}
    else:
        plan = effective_plan(spec.quantize, quantize if spec.framework == "keras" else ())
        verdict = (read_verdict(spec, plan)
                   or convert_in_child(spec, trusted, timeout, limits, extension, plan))
        if verdict.get("refused"):
            raise InvalidInput(verdict["refused"])
        if verdict.get("accelerated"):
            try:
                return open_fast(spec, verdict, threads), summary(verdict, "accelerated")
            except Exception as exc:  # a cache damaged on disk: fall back, say why
                verdict = {**verdict, "reason": f"cannot open the converted artifact: {exc}"}
    log.info("%s version %s runs natively: %s", spec.name, spec.version, verdict.get("reason"))
    runtime = load_runtime(spec, trusted=trusted, threads=threads, extension=extension)
    return runtime, summary(verdict, "native")
