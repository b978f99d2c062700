"""The sandbox holds even where the allowlist is bypassed: a deliberately malicious child (a test
module, and a pickle an operator trusted) tries what a hostile model would, and fails at each step.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN, basic
from tests.serving.conftest import make_iris_app, nothing_happens
from tests.serving.hostile_artifacts import manifest
from webapp.serving.sandbox import ROOT, landlock, run_module

MiB = 1024**2
needs_landlock = pytest.mark.skipif(landlock.abi() < 6, reason="the kernel lacks Landlock ABI 6")


def probe(scratch: Path, targets, listener_port: int, abstract: str) -> dict:
    request = {"outside": str(targets.marker), "secret": str(targets.secret), "port": listener_port,
               "project_file": str(ROOT / "README.md"), "parent": os.getpid(), "abstract": abstract}
    done = run_module("tests.serving.sandbox_probe", [json.dumps(request)], timeout=60,
                      scratch=scratch, readable=[ROOT / "tests"], memory_bytes=1024 * MiB,
                      cpu_seconds=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout.decode().splitlines()[-1])


@needs_landlock
def test_the_child_can_write_only_its_scratch_folder_and_reach_nothing(
        tmp_path, targets, listener, scratch_root, monkeypatch):
    monkeypatch.setenv("PODIUM_SECRET_KEY", "do-not-leak")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as abstract, \
            nothing_happens(targets, listener, scratch_root):
        name = f"podium-test-{os.getpid()}"
        abstract.bind("\0" + name)
        abstract.listen(1)
        seen = probe(scratch, targets, listener.getsockname()[1], name)
    assert seen["write_scratch"] == "allowed"
    for attempt in ("write_outside", "read_secret", "read_project", "tcp", "udp", "exec",
                    "signal_parent", "abstract_unix", "make_device"):
        assert seen[attempt] != "allowed", attempt
    assert seen["limits"] == {"AS": 1024 * MiB, "CPU": 60, "NOFILE": 1024, "NPROC": 512,
                              "FSIZE": 4 * 1024**3, "CORE": 0}
    assert seen["env_secret"] == []
    if os.geteuid() == 0:
        assert seen["uid"] != 0, "the child kept root"
    assert (scratch / "ok.txt").read_text() == "pwned"


def _run_code(tmp_path: Path, code: str, **limits) -> subprocess.CompletedProcess:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    (tmp_path / "snippet").mkdir(exist_ok=True)
    snippet = tmp_path / "snippet" / "snippet_child.py"
    snippet.write_text(code)
    return run_module("tests.serving.sandbox_probe", ["--run", str(snippet)],
                      timeout=limits.get("timeout", 60), scratch=scratch,
                      readable=[ROOT / "tests", tmp_path / "snippet"],
                      memory_bytes=limits.get("memory", 1024 * MiB), cpu_seconds=limits.get("cpu", 60))


def test_memory_beyond_the_limit_is_refused(tmp_path):
    done = _run_code(tmp_path, "b = bytearray(600 * 1024 * 1024)\nprint('allocated')\n", memory=400 * MiB)
    assert b"MemoryError" in done.stderr
    assert b"allocated" not in done.stdout


def test_cpu_time_beyond_the_limit_kills_the_child(tmp_path):
    done = _run_code(tmp_path, "while True:\n    pass\n", cpu=1)
    assert done.returncode < 0  # SIGXCPU, then SIGKILL at the hard limit


def test_the_wall_timeout_kills_the_child_and_everything_it_started(tmp_path):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n"
            "time.sleep(600)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        _run_code(tmp_path, code, timeout=5)
    import psutil

    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(tmp_path / "snippet") in " ".join(p.info["cmdline"] or [])]


class _Everything:
    """A pickle an operator trusted: unpickling it runs `CODE` inside the publish trial."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


ATTEMPTS = """
import os, socket, subprocess
def attempt(f):
    try:
        f()
    except Exception:
        pass
attempt(lambda: open({marker!r}, "w").write("pwned"))
attempt(lambda: open({marker!r}, "w").write(open({secret!r}).read()))
attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
attempt(lambda: subprocess.run(["touch", {marker!r}]))
attempt(lambda: os.system("touch {marker}"))
attempt(lambda: os.kill(os.getppid(), 15))
"""


@needs_landlock
def test_a_trusted_pickle_runs_in_the_trial_yet_touches_nothing(demo_store, tmp_path, targets,
                                                               listener, scratch_root):
    app = make_iris_app(demo_store, tmp_path, TRUSTED_MODELS=["evil"])
    code = ATTEMPTS.format(marker=str(targets.marker), secret=str(targets.secret), port=targets.port)
    files = {"manifest": (io.BytesIO(manifest("sklearn", "model.joblib")), "model.json"),
             "artifact": (io.BytesIO(pickle.dumps(_Everything(code))), "model.joblib")}
    with nothing_happens(targets, listener, scratch_root):
        r = app.test_client().post("/api/v2/repository/models/evil/versions", data=files,
                                   headers=basic(ADMIN))
    assert r.status_code == 400  # it ran, did nothing it aimed at, and is no model
    assert "refused" in r.get_json()["error"]


def test_the_trial_of_a_model_slower_than_the_time_limit_is_refused(demo_store, tmp_path, targets,
                                                                   listener, scratch_root):
    app = make_iris_app(demo_store, tmp_path, TRUSTED_MODELS=["slow"], TRIAL_TIMEOUT=3)
    files = {"manifest": (io.BytesIO(manifest("sklearn", "model.joblib")), "model.json"),
             "artifact": (io.BytesIO(pickle.dumps(_Everything("import time; time.sleep(3600)"))),
                          "model.joblib")}
    with nothing_happens(targets, listener, scratch_root):
        r = app.test_client().post("/api/v2/repository/models/slow/versions", data=files,
                                   headers=basic(ADMIN))
    assert r.status_code == 400
    assert "within 3s" in r.get_json()["error"]
    assert not (app.extensions["podium.service"].store.root / "slow").exists()


def test_the_child_environment_holds_no_server_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PODIUM_SECRET_KEY", "do-not-leak")
    done = _run_code(tmp_path, "import os, json\nprint(json.dumps(dict(os.environ)))\n")
    env = json.loads(done.stdout.decode().splitlines()[-1])
    assert not [k for k in env if k.startswith("PODIUM")]
    assert env["TMPDIR"] == env["HOME"] == str(tmp_path / "scratch")


def test_a_converter_output_that_links_elsewhere_is_not_published(tmp_path):
    from webapp.serving.acceleration.choose import _read_output

    out = tmp_path / "out"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"onnx")
    (out / "verdict.json").write_text(json.dumps({"accelerated": True, "artifact": "model.onnx"}))
    assert _read_output(out) is not None
    (tmp_path / "users.json").write_text('{"accelerated": false, "hash": "secret"}')
    (out / "verdict.json").unlink()
    (out / "verdict.json").symlink_to(tmp_path / "users.json")  # a link to a file the parent may read
    assert _read_output(out) is None
    (out / "verdict.json").unlink()
    os.link(tmp_path / "users.json", out / "verdict.json")
    assert _read_output(out) is None
