"""Fixtures for the hostile-artifact tests: an app over a one-model store, and a witness that
proves nothing happened (no file written, no secret read back, no connection, no process left)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from tests.conftest import make_app
from tests.serving.hostile_artifacts import Targets
from tests.support.helpers import IRIS_ROW, predict


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback TCP listener that no model may reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


@pytest.fixture
def scratch_root(tmp_path: Path, monkeypatch) -> Path:
    """Where trial and conversion processes get their scratch folders during the test."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def targets(tmp_path: Path, listener: socket.socket) -> Targets:
    outside = tmp_path / "outside"
    outside.mkdir()
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("0123456789abcdef")
    return Targets(marker=outside / "pwned", secret=instance / "secret_key",
                   port=listener.getsockname()[1])


def make_iris_app(demo_store: Path, tmp_path: Path, **config):
    """An app whose store holds only the demo iris (with its acceleration cache)."""
    root = tmp_path / "store"
    shutil.copytree(demo_store / "iris", root / "iris")
    return make_app(root, tmp_path / "instance", **config)


@pytest.fixture
def iris_app(demo_store, tmp_path, targets, scratch_root):
    return make_iris_app(demo_store, tmp_path)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@contextlib.contextmanager
def nothing_happens(targets: Targets, listener: socket.socket, scratch_root: Path) -> Iterator[None]:
    """Assert, around the block, that no hostile payload left any effect behind."""
    instance = _snapshot(targets.secret.parent)
    ours = _children()  # other tests' session servers and browsers may run beside us
    yield
    assert not targets.marker.exists(), "a payload wrote a file"
    assert _snapshot(targets.secret.parent) == instance, "the instance folder changed"
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing connected
    assert _left_running(ours) == [], "a process was left running"
    assert list(scratch_root.iterdir()) == [], "a trial left files behind"


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _left_running(before: set[int]) -> list[str]:
    """Command lines of live processes below this one that were not there before; an unrelated
    one that is just ending gets two seconds to go."""
    for _ in range(20):
        left = []
        for pid in _children() - before:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{pid}: {' '.join(process.cmdline())[:300]}")
        if not left:
            return []
        time.sleep(0.1)
    return left


def still_serving(app) -> None:
    values = predict(app.extensions["podium.service"], "iris", [IRIS_ROW]).values
    assert int(np.argmax(values[0])) == 0
