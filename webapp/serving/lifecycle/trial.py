"""Trial-load an uploaded version in a throwaway, sandboxed process before it may enter the store.

The parent (`run_trial`) stages the files in a scratch folder and runs this module there through
`sandbox.run_module`, which confines the child first: `python -m webapp.serving.lifecycle.trial
DIR NAME [--trusted] [--trust-types JSON]`. The child loads the manifest and the artifact with the
same safe loaders the workers use, checks that they agree, answers one warm-up prediction, and
prints one JSON line: {"ok": true, "call_path": ..., "operator_types": [...]} or {"error": "..."}.
Whatever it wrote goes with its scratch folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.serving.errors import InvalidInput, StorageFailure
from webapp.serving.sandbox import TrialLimits, run_module

MODULE = "webapp.serving.lifecycle.trial"


@dataclass(frozen=True)
class TrialOutcome:
    call_path: str
    operator_types: tuple[str, ...]  # skops names only the operator's PODIUM_TRUSTED_TYPES admitted


def run_trial(name: str, files: dict[str, bytes], trusted: bool, limits: TrialLimits,
              extension: Collection[str] = ()) -> TrialOutcome:
    """Load and warm up the files in a sandboxed child; raises InvalidInput when refused."""
    try:
        scratch = Path(tempfile.mkdtemp(prefix="podium-trial-"))
    except OSError as exc:
        raise StorageFailure(f"Cannot stage the upload for its trial: {exc.strerror or exc}") from None
    try:
        try:
            (scratch / "version").mkdir()
            for filename, content in files.items():
                (scratch / "version" / filename).write_bytes(content)
        except OSError as exc:
            raise StorageFailure(f"Cannot stage the upload for its trial: {exc.strerror or exc}") from None
        return _outcome(scratch, name, trusted, limits, extension)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # the child's scratch: whatever it wrote goes


def _outcome(scratch: Path, name: str, trusted: bool, limits: TrialLimits,
             extension: Collection[str]) -> TrialOutcome:
    args = [str(scratch / "version"), name, "--trust-types", json.dumps(sorted(extension)),
            *(["--trusted"] if trusted else [])]
    try:
        done = run_module(MODULE, args, timeout=limits.timeout, scratch=scratch,
                          memory_bytes=limits.memory_bytes, cpu_seconds=limits.cpu_seconds)
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
    raise InvalidInput(f"The artifact was refused: {outcome.get('error') or _death(done)}")


def _death(done: subprocess.CompletedProcess) -> str:
    """Why the trial process ended without an answer, in words."""
    if done.returncode < 0:
        return f"the trial process was killed by signal {-done.returncode} (a crash or a limit)"
    return f"the trial process exited with status {done.returncode}"


def check_version(path: Path, name: str, trusted: bool, extension: list[str]) -> dict[str, Any]:
    """(In the child) load and warm up the version in `path`; the outcome as a JSON-ready dict."""
    from webapp.serving.errors import ServingError
    from webapp.serving.models.spec import load_manifest
    from webapp.serving.runtimes import load_runtime, warm_up

    try:
        spec = load_manifest(path, name, 1)
        runtime = load_runtime(spec, trusted=trusted, threads=1, extension=extension)
        warm_up(spec, runtime)
    except ServingError as exc:
        return {"error": exc.message}
    except MemoryError:
        return {"error": "the artifact needs more memory than a trial may use"}
    except Exception as exc:  # a broken artifact may raise anything
        return {"error": f"{type(exc).__name__}: {exc}"[:1000]}
    return {"ok": True, "call_path": runtime.path,
            "operator_types": list(getattr(runtime, "operator_types", ()))}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Trial-load one version folder.")
    parser.add_argument("path", type=Path)
    parser.add_argument("name")
    parser.add_argument("--trusted", action="store_true", help="the operator trusts pickles")
    parser.add_argument("--trust-types", default="[]", help="JSON list of extra skops type names")
    args = parser.parse_args(argv)
    outcome = check_version(args.path, args.name, args.trusted, json.loads(args.trust_types))
    print(json.dumps(outcome), flush=True)
    return 0 if outcome.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
