"""Checks an uploaded version must pass before it becomes visible in the store.

Cheap checks (names, sizes, manifest, pickles) run here; the artifact itself is loaded and warmed
up only in a separate process (`webapp.serving.validate`), with a timeout, so a hostile or broken
artifact can neither run code in nor crash nor wedge a serving worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from webapp.serving.errors import InvalidInput, PayloadTooLarge, ServingError
from webapp.serving.spec import MANIFEST, ModelSpec, parse_manifest

EXTRA_FILES = ("heldout.json", "reference.json")  # held-out rows (checks, pages, CBPE); drift reference
PICKLES = (".pkl", ".joblib")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StorageFailure(ServingError):
    """The server could not write the version (disk full, permissions): not the caller's fault."""

    status = 507
    code = "RESOURCE_EXHAUSTED"


def check_upload(name: str, files: dict[str, bytes], trusted: bool, max_bytes: int) -> ModelSpec:
    """Parse the manifest and check the file set; raises InvalidInput or PayloadTooLarge."""
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
    return spec


def trial_load(name: str, files: dict[str, bytes], trusted: bool, timeout: float) -> str:
    """Load and warm up the files in a child process; returns the call path or raises InvalidInput."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="podium-validate-"))
    except OSError as exc:
        raise StorageFailure(f"Cannot stage the upload for validation: {exc.strerror or exc}") from None
    try:
        _write_files(folder, files)
        return _run_validator(folder, name, trusted, timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    try:
        for filename, content in files.items():
            (folder / filename).write_bytes(content)
    except OSError as exc:
        raise StorageFailure(f"Cannot stage the upload for validation: {exc.strerror or exc}") from None


def _run_validator(folder: Path, name: str, trusted: bool, timeout: float) -> str:
    command = [sys.executable, "-m", "webapp.serving.validate", str(folder), name]
    if trusted:
        command.append("--trusted")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env,
                              cwd=folder, check=False)
    except subprocess.TimeoutExpired:
        raise InvalidInput(f"The artifact did not load and answer a warm-up within {timeout:.0f}s") from None
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        outcome = json.loads(lines[-1]) if lines else {}
    except ValueError:
        outcome = {}
    if done.returncode == 0 and outcome.get("ok"):
        return str(outcome.get("call_path", ""))
    reason = outcome.get("error") or f"the validator exited with status {done.returncode}"
    raise InvalidInput(f"The artifact was refused: {reason}")
