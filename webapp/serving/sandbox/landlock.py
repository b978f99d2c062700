"""Linux Landlock through ctypes: let this process read and write only the folders it names.

Landlock (Linux 5.13+) is an unprivileged allowlist that a process applies to itself and can never
lift; it holds for root too and is inherited by every child. Podium's trial processes use it so a
hostile model can read only Python, the project code and its own files, write only its scratch
folder, execute no program, and (ABI 4+) open no TCP connection; ABI 6+ also stops it from
signalling processes or reaching abstract Unix sockets outside its sandbox.

The three system calls are small and stable, so ctypes is enough; the one binding on PyPI is a
pre-release. Linux only: `abi()` is 0 wherever Landlock is missing.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_VERSION_FLAG = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
MAKE_CHAR, MAKE_BLOCK = 1 << 6, 1 << 11
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # rights a file rule may hold
_NET_TCP = 0b11  # bind and connect
_SCOPES = 0b11  # abstract Unix sockets and signals


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _call(number: int, *args) -> int:
    result = _libc.syscall(number, *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is absent or disabled."""
    try:
        return _call(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION_FLAG))
    except (OSError, AttributeError):
        return 0


def fs_access(version: int) -> int:
    """Every file-system right this ABI can restrict."""
    return _FS_BY_ABI[max(v for v in _FS_BY_ABI if v <= version)]


def restrict(readable: Iterable[str], writable: Iterable[str], version: int) -> list[str]:
    """Confine this process for good; returns what was enforced, e.g. ["fs", "tcp", "scope"].

    Paths that do not exist are skipped. Raises OSError when the kernel refuses the ruleset.
    """
    handled = fs_access(version)
    net = _NET_TCP if version >= 4 else 0
    scoped = _SCOPES if version >= 6 else 0
    size = ctypes.sizeof(_RulesetAttr) if version >= 6 else (16 if version >= 4 else 8)
    attr = _RulesetAttr(handled, net, scoped)
    ruleset = _call(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path in readable:
            _allow(ruleset, path, READ_FILE | READ_DIR)
        for path in writable:
            # no right to execute anything anywhere, nor to make device files
            _allow(ruleset, path, handled & ~(EXECUTE | MAKE_CHAR | MAKE_BLOCK))
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:  # required to self-restrict
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _call(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return ["fs"] + (["tcp"] if net else []) + (["scope"] if scoped else [])


def _allow(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this machine lacks needs no rule
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= _FILE_ONLY
        rule = _PathBeneath(access, fd)
        _call(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
              ctypes.c_uint32(0))
    finally:
        os.close(fd)
