"""The first thing a sandboxed child runs: confine this process, then run the requested module.

`python -I webapp/serving/sandbox/confine.py POLICY MODULE ARGS...` is what `sandbox.run_module` starts.
In order: new network and PID namespaces (no interface but a down loopback; every process the
child starts dies with it, even one that left its process group), an unprivileged user when started
as root, resource limits, death with the parent, then Landlock; only then is the module, and with
it any model file, imported. Each step the kernel cannot do is skipped and named on
stderr in the `podium-sandbox:` line the parent reads; a step that fails outright stops the child
before anything untrusted runs.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import runpy
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_KEEPCAPS = 1, 8
CAP_DAC_READ_SEARCH = 2
_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def isolate() -> str:
    """Network and PID namespaces of our own (as a normal user, inside a user namespace of our own).

    The PID namespace takes effect for children only, so this process forks: the child goes on as
    the namespace's first process, and this one waits and passes its exit status up. When that
    child dies, the kernel kills every process left in the namespace.
    """
    flags = CLONE_NEWNET | CLONE_NEWPID | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    if _libc.unshare(flags) != 0:
        return f"no network or PID namespace ({os.strerror(ctypes.get_errno())})"
    limit({"CORE": 0})
    child = os.fork()
    if child:
        _pass_on(child)
    return "netns+pidns"


def _pass_on(child: int) -> None:
    """Wait for the namespace's first process and end as it ended (never returns)."""
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):  # those two keep their default anyway
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 70)


def drop_user(uid: int, gid: int, keep_dac_read: bool) -> str:
    """Become `uid`; keep only CAP_DAC_READ_SEARCH when Python is not readable by that user."""
    if keep_dac_read:
        _libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if not keep_dac_read:
        return f"uid {uid}"
    keep = 1 << CAP_DAC_READ_SEARCH
    data = (_CapData * 2)(_CapData(keep, keep, 0), _CapData(0, 0, 0))
    if _libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    _libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)
    return f"uid {uid} with CAP_DAC_READ_SEARCH only (Python is not readable by uid {uid})"


def limit(limits: dict[str, int | None]) -> None:
    """Lower the resource limits; None leaves that one alone."""
    for name, value in limits.items():
        if value is not None:
            resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))


def apply(policy: dict) -> list[str]:
    """Confine this process as `policy` says; returns what holds, in words."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    notes = [isolate()]
    if policy.get("uid") is not None:
        notes.append(drop_user(policy["uid"], policy["gid"], policy["keep_dac_read"]))
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    limit(policy["limits"])
    os.umask(0o077)
    from webapp.serving.sandbox import landlock

    version = landlock.abi()
    if version == 0:
        notes.append("no Landlock (this kernel lacks it)")
        return notes
    readable = [*policy["read"], "/proc/self"]  # this process's own entry, in the host's /proc
    enforced = landlock.restrict(readable, policy["write"], version)
    notes.append(f"Landlock ABI {version}: {'+'.join(enforced)}")
    return notes


def main(argv: list[str]) -> None:
    policy = json.loads(argv[0])
    sys.path[0] = str(ROOT)  # -I put this file's folder first; the project root replaces it
    try:
        notes = apply(policy)
    except OSError as exc:
        print(f"podium-sandbox: cannot confine the child: {exc}", file=sys.stderr, flush=True)
        os._exit(70)
    print(f"podium-sandbox: {'; '.join(notes)}", file=sys.stderr, flush=True)
    sys.argv = argv[1:]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
