"""The one way Podium runs a child process: model code that must not run inside a serving worker.

A publish trial and an acceleration conversion load an artifact someone handed the operator; they
run here, as `python -m <module>`, in a folder of their own, with a time limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, args: Sequence[str], *, timeout: float, scratch: Path,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m module args` in `scratch`; raises subprocess.TimeoutExpired past `timeout`."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CUDA_VISIBLE_DEVICES": "",
                   "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout, env=environment, cwd=scratch, check=False)
