"""The project's one way to run a child process: least privilege for code that touches model files.

`run_module` starts `python -I webapp/serving/sandbox/confine.py`, which confines itself before it imports
the module (see `confine` for the steps). The child may read Python, its packages, the project's
code and the `readable` paths; it may write only `scratch`; it has no network, no secrets in its
environment, bounded memory, CPU time, open files, processes and file size, and it runs as an
unprivileged user when Podium runs as root. A wall timeout kills its whole process group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import select
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]
CONFINE = Path(__file__).resolve().parent / "confine.py"
CHILD_USER = "nobody"  # who the child becomes when Podium runs as root
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/localtime",
               "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/dev/null", "/dev/urandom",
               "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu",
               "/sys/fs/cgroup")
OUTPUT_LIMIT = 1024 * 1024  # bytes of stdout/stderr the parent reads back
NAMESPACE_EXIT_SECONDS = 5.0  # how long a killed child's PID namespace may take to empty
_reported: set[str] = set()


@dataclass(frozen=True)
class TrialLimits:
    """What one sandboxed process (a publish trial, a conversion) may use: wall seconds, address
    space, CPU seconds."""

    timeout: float = 120.0
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 300


DEFAULT_LIMITS = TrialLimits()


def run_module(module: str, args: list[str], *, timeout: float, scratch: Path,
               readable: Sequence[Path] = (), memory_bytes: int, cpu_seconds: int,
               processes: int = 512, file_bytes: int = 4 * 1024**3) -> subprocess.CompletedProcess:
    """Run `python -m module args` confined; raises subprocess.TimeoutExpired after `timeout` s.

    The child's working and temporary folder is `scratch`, the only place it may write.
    """
    identity = _child_identity()
    if identity is not None:
        _hand_over(scratch, identity[0], identity[1])
    policy = {"read": _readable(readable), "write": [str(scratch)],
              "limits": {"AS": memory_bytes, "CPU": cpu_seconds, "NOFILE": 1024,
                         "NPROC": processes, "FSIZE": file_bytes, "CORE": 0},
              "uid": None, "gid": None, "keep_dac_read": False}
    if identity is not None:
        policy.update(uid=identity[0], gid=identity[1], keep_dac_read=identity[2])
    command = [sys.executable, "-I", str(CONFINE), json.dumps(policy), module, *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   cwd=scratch, env=environment(scratch), start_new_session=True)
        try:
            _wait_unreaped(process, timeout)
        finally:
            code = _kill_group(process)  # whatever it left running dies with it
        stdout, stderr = _tail(out), _tail(err)
    _report(stderr)
    return subprocess.CompletedProcess(command, code, stdout, stderr)


def environment(scratch: Path) -> dict[str, str]:
    """A clean environment: nothing of the server's (no PODIUM_* secrets), temp files in scratch."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(scratch), "TMPDIR": str(scratch),
            "PYTHONDONTWRITEBYTECODE": "1", "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3",
            "OMP_NUM_THREADS": "1", "KERAS_HOME": str(scratch / ".keras")}


def _readable(extra: Sequence[Path]) -> list[str]:
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"],
              os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages()}
    python |= {os.path.realpath(p) for p in python}
    return sorted(python) + [str(ROOT / "webapp"), *SYSTEM_READ, *map(str, extra)]


def _child_identity() -> tuple[int, int, bool] | None:
    """(uid, gid, keep CAP_DAC_READ_SEARCH) when Podium runs as root, else None (no change)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(CHILD_USER)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        uid = gid = 65534
    needed = [os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"],
              *site.getsitepackages(), str(ROOT / "webapp")]
    return uid, gid, not all(_world_readable(p) for p in needed)


def _world_readable(path: str) -> bool:
    """True when every folder above `path` lets others in and `path` lets others read."""
    parts = Path(path).parents
    try:
        if not all(os.stat(p).st_mode & stat.S_IXOTH for p in parts):
            return False
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def _hand_over(scratch: Path, uid: int, gid: int) -> None:
    """Give the scratch folder and what is in it to the child's user."""
    for folder, dirs, files in os.walk(scratch):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(name, uid, gid)


def _wait_unreaped(process: subprocess.Popen, timeout: float) -> None:
    """Wait for the child to exit but leave it a zombie, so its group id cannot be reused yet."""
    fd = os.pidfd_open(process.pid)
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(process.args, timeout)
    finally:
        os.close(fd)


def _kill_group(process: subprocess.Popen) -> int:
    """Kill every process left in the child's group, then reap the child; its exit status.

    A process that left the group (setsid) still lives in the child's PID namespace, which the
    kernel empties when the namespace's first process dies; waiting for that process to be gone
    means nothing the child started outlives this call.
    """
    namespace_init = _pidfds(_children(process.pid))
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    code = process.wait()
    try:
        if namespace_init:
            select.select(namespace_init, [], [], NAMESPACE_EXIT_SECONDS)
    finally:
        for fd in namespace_init:
            os.close(fd)
    return code


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _pidfds(pids: list[int]) -> list[int]:
    fds = []
    for pid in pids:
        with contextlib.suppress(OSError):
            fds.append(os.pidfd_open(pid))
    return fds


def _tail(handle) -> bytes:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - OUTPUT_LIMIT))
    return handle.read()


def _report(stderr: bytes) -> None:
    """Log what the child's confinement could not do, once per kind of gap, as a warning."""
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("podium-sandbox: "):
            notes = line.removeprefix("podium-sandbox: ")
            degraded = "no " in notes or "CAP_" in notes
            if notes not in _reported:
                _reported.add(notes)
                log.log(logging.WARNING if degraded else logging.INFO, "Sandbox for model trials: %s",
                        notes)
            return
