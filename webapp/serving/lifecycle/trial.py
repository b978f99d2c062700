"""Trial-load an uploaded version in a throwaway process before it may enter the store.

The parent (`run_trial`) stages the files in a scratch folder and runs this module there as a child
(`python -m webapp.serving.lifecycle.trial DIR NAME [--trusted]`), which loads the manifest and the
artifact with the same safe loaders the workers use, checks that they agree, answers one warm-up
prediction, and prints one JSON line: {"ok": true, "call_path": ...} or {"error": "..."}.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from webapp.serving.errors import InvalidInput, StorageFailure
from webapp.serving.sandbox import run_module

MODULE = "webapp.serving.lifecycle.trial"
CPU_SECONDS = 300  # a hostile artifact must not spin forever, even if the parent's timeout fails


def run_trial(name: str, files: dict[str, bytes], trusted: bool, timeout: float) -> str:
    """Load and warm up the files in a child process; returns the call path or raises InvalidInput."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="podium-trial-"))
    except OSError as exc:
        raise StorageFailure(f"Cannot stage the upload for its trial: {exc.strerror or exc}") from None
    try:
        try:
            for filename, content in files.items():
                (folder / filename).write_bytes(content)
        except OSError as exc:
            raise StorageFailure(f"Cannot stage the upload for its trial: {exc.strerror or exc}") from None
        return _outcome(folder, name, trusted, timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _outcome(folder: Path, name: str, trusted: bool, timeout: float) -> str:
    args = [str(folder), name, *(["--trusted"] if trusted else [])]
    try:
        done = run_module(MODULE, args, timeout=timeout, scratch=folder)
    except subprocess.TimeoutExpired:
        raise InvalidInput(f"The artifact did not load and answer a warm-up within {timeout:.0f}s") from None
    lines = done.stdout.strip().splitlines()
    try:
        outcome = json.loads(lines[-1]) if lines else {}
    except ValueError:
        outcome = {}
    if done.returncode == 0 and outcome.get("ok"):
        return str(outcome.get("call_path", ""))
    reason = outcome.get("error") or f"the trial exited with status {done.returncode}"
    raise InvalidInput(f"The artifact was refused: {reason}")


def check_version(path: Path, name: str, trusted: bool) -> dict[str, Any]:
    """(In the child) load and warm up the version in `path`; the outcome as a JSON-ready dict."""
    from webapp.serving.errors import ServingError
    from webapp.serving.loaded import LoadedVersion, State
    from webapp.serving.loader import warm_up
    from webapp.serving.models.spec import load_manifest
    from webapp.serving.runtimes import load_runtime

    try:
        spec = load_manifest(path, name, 1)
        runtime = load_runtime(spec, trusted=trusted, threads=1)
        warm_up(LoadedVersion(name, 1, State.LOADING, spec=spec, runtime=runtime))
    except ServingError as exc:
        return {"error": exc.message}
    except Exception as exc:  # a broken artifact may raise anything
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "call_path": runtime.path}


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--trusted"):
        print(json.dumps({"error": f"usage: python -m {MODULE} DIR NAME [--trusted]"}))
        return 2
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    outcome = check_version(Path(argv[0]), argv[1], len(argv) == 3)
    print(json.dumps(outcome), flush=True)
    return 0 if outcome.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
