"""Trial-load an uploaded version in a throwaway process, so an untrusted artifact never loads
inside a serving worker: `python -m webapp.serving.validate DIR NAME [--trusted]`.

Loads the manifest and the artifact with the same safe loaders the service uses, checks that they
agree, and answers one warm-up prediction. Prints one JSON line, {"ok": true, "call_path": ...} or
{"error": "..."}, and exits 0 or 1.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

CPU_SECONDS = 300  # a hostile artifact must not spin forever, even if the parent's timeout fails


def check_version(path: Path, name: str, trusted: bool) -> dict[str, Any]:
    """Load and warm up the version in `path`; returns the outcome as a JSON-ready dict."""
    from webapp.serving.errors import ServingError
    from webapp.serving.loaded import LoadedVersion, State
    from webapp.serving.runtimes import load_runtime
    from webapp.serving.service import _warm_up
    from webapp.serving.spec import load_manifest

    try:
        spec = load_manifest(path, name, 1)
        runtime = load_runtime(spec, trusted=trusted, threads=1)
        _warm_up(LoadedVersion(name, 1, State.LOADING, spec=spec, runtime=runtime))
    except ServingError as exc:
        return {"error": exc.message}
    except Exception as exc:  # a broken artifact may raise anything
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "call_path": runtime.path}


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--trusted"):
        print(json.dumps({"error": "usage: python -m webapp.serving.validate DIR NAME [--trusted]"}))
        return 2
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    outcome = check_version(Path(argv[0]), argv[1], len(argv) == 3)
    print(json.dumps(outcome), flush=True)
    return 0 if outcome.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
