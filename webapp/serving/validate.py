"""Trial-load an uploaded version in a throwaway, sandboxed process, so an untrusted artifact never
loads inside a serving worker:
`python -m webapp.serving.validate DIR NAME [--trusted] [--trust-types JSON]`, started only through
`sandbox.run_module`, which confines it first.

Loads the manifest and the artifact with the same safe loaders the service uses, checks that they
agree, and answers one warm-up prediction. Prints one JSON line, {"ok": true, "call_path": ...,
"operator_types": [...]} or {"error": "..."}, and exits 0 or 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def check_version(path: Path, name: str, trusted: bool, extension: list[str]) -> dict[str, Any]:
    """Load and warm up the version in `path`; returns the outcome as a JSON-ready dict."""
    from webapp.serving.errors import ServingError
    from webapp.serving.loaded import LoadedVersion, State
    from webapp.serving.runtimes import load_runtime
    from webapp.serving.service import _warm_up
    from webapp.serving.spec import load_manifest

    try:
        spec = load_manifest(path, name, 1)
        runtime = load_runtime(spec, trusted=trusted, threads=1, extension=extension)
        _warm_up(LoadedVersion(name, 1, State.LOADING, spec=spec, runtime=runtime))
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
