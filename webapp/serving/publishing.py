"""Checks an uploaded version must pass before it becomes visible in the store.

Cheap checks (names, sizes, manifest, pickles) run here; the artifact itself is loaded and warmed
up only in a sandboxed child process (`webapp.serving.validate` through `sandbox.run_module`), so a
hostile or broken artifact can neither run code in, crash nor wedge a serving worker, nor write,
read or connect anywhere: its scratch folder is removed afterwards, whatever it did.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from webapp.serving.errors import InvalidInput, PayloadTooLarge, ServingError
from webapp.serving.runtimes import check_artifact
from webapp.serving.sandbox import run_module
from webapp.serving.spec import MANIFEST, ModelSpec, parse_manifest

EXTRA_FILES = ("heldout.json",)  # optional held-out rows that `flask models check` and pages use
PICKLES = (".pkl", ".joblib")


@dataclass(frozen=True)
class TrialLimits:
    """What one trial process may use: wall seconds, address space, CPU seconds."""

    timeout: float = 120.0
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 300


DEFAULT_LIMITS = TrialLimits()


@dataclass(frozen=True)
class TrialOutcome:
    call_path: str
    operator_types: tuple[str, ...]  # skops names only the operator's PODIUM_TRUSTED_TYPES admitted


class StorageFailure(ServingError):
    """The server could not write the version (disk full, permissions): not the caller's fault."""

    status = 507
    code = "RESOURCE_EXHAUSTED"


def check_upload(name: str, files: dict[str, bytes], trusted: bool, max_bytes: int,
                 extension: Collection[str] = ()) -> ModelSpec:
    """Parse the manifest, check the file set and what can be checked of the artifact without
    loading it (`runtimes.check_artifact`); raises InvalidInput or PayloadTooLarge."""
    total = sum(len(content) for content in files.values())
    if total > max_bytes:
        raise PayloadTooLarge(f"The upload holds {total} bytes; the limit is {max_bytes}")
    if MANIFEST not in files:
        raise InvalidInput(f"The upload has no manifest ({MANIFEST})")
    try:
        data = json.loads(files[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"Invalid manifest: {MANIFEST} is not valid JSON ({exc})") from None
    spec = parse_manifest(data, name, 1, Path("."))
    if spec.artifact not in files:
        raise InvalidInput(f"The manifest names artifact {spec.artifact!r} but the upload has no such file")
    if not files[spec.artifact]:
        raise InvalidInput(f"The artifact {spec.artifact!r} is empty")
    unexpected = sorted(set(files) - {MANIFEST, spec.artifact, *EXTRA_FILES})
    if unexpected:
        raise InvalidInput(f"Unexpected files in the upload: {unexpected[:5]}")
    if spec.artifact.endswith(PICKLES) and not trusted:
        raise InvalidInput(f"{spec.artifact} is a pickle, which runs code when loaded; it is accepted "
                           f"only when an operator lists {name!r} in PODIUM_TRUSTED_MODELS")
    try:
        check_artifact(spec.artifact, io.BytesIO(files[spec.artifact]), extension)
    except InvalidInput as exc:  # worded as a trial's refusal: the caller need not know which step
        raise InvalidInput(f"The artifact was refused: {exc.message}") from None
    return spec


def trial_load(name: str, files: dict[str, bytes], trusted: bool, limits: TrialLimits,
               extension: Collection[str] = ()) -> TrialOutcome:
    """Load and warm up the files in a sandboxed child; raises InvalidInput when refused."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="podium-trial-"))
    except OSError as exc:
        raise StorageFailure(f"Cannot stage the upload for validation: {exc.strerror or exc}") from None
    try:
        _write_files(folder / "version", files)
        return _run_validator(folder, name, trusted, limits, extension)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the child's scratch: whatever it wrote goes


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    try:
        folder.mkdir()
        for filename, content in files.items():
            (folder / filename).write_bytes(content)
    except OSError as exc:
        raise StorageFailure(f"Cannot stage the upload for validation: {exc.strerror or exc}") from None


def _run_validator(scratch: Path, name: str, trusted: bool, limits: TrialLimits,
                   extension: Collection[str]) -> TrialOutcome:
    args = [str(scratch / "version"), name, "--trust-types", json.dumps(sorted(extension))]
    try:
        done = run_module("webapp.serving.validate", args + (["--trusted"] if trusted else []),
                          timeout=limits.timeout, scratch=scratch, memory_bytes=limits.memory_bytes,
                          cpu_seconds=limits.cpu_seconds)
    except subprocess.TimeoutExpired:
        raise InvalidInput(f"The artifact did not load and answer a warm-up within "
                           f"{limits.timeout:g}s") from None
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        outcome = json.loads(lines[-1]) if lines else {}
    except ValueError:
        outcome = {}
    if done.returncode == 0 and outcome.get("ok"):
        return TrialOutcome(str(outcome.get("call_path", "")), tuple(outcome.get("operator_types", ())))
    reason = outcome.get("error") or _death(done)
    raise InvalidInput(f"The artifact was refused: {reason}")


def _death(done: subprocess.CompletedProcess) -> str:
    """Why the trial process ended without an answer, in words."""
    if done.returncode < 0:
        return f"the trial process was killed by signal {-done.returncode} (a crash or a limit)"
    return f"the trial process exited with status {done.returncode}"
