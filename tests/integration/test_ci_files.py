"""The CI workflow checked by actionlint and the Dockerfile by hadolint (both pinned pip packages that
ship the tools' binaries), so a broken pipeline or image recipe fails here, before it is pushed."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.server import ROOT


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(ROOT / ".venv" / "bin")) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (requirements-dev.txt)")
    return path


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_ci_workflow_passes_actionlint():
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    run = _run(_tool("actionlint"), "-no-color", *workflows)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.evnt.name }}\n")
    assert _run(_tool("actionlint"), "-no-color", str(broken)).returncode != 0


def test_the_dockerfile_passes_hadolint():
    run = _run(_tool("hadolint"), "--no-color", "Dockerfile")
    assert run.returncode == 0, run.stdout + run.stderr
