"""A deliberately hostile child for the sandbox tests: try what a malicious model would, report.

`python -m tests.serving.sandbox_probe JSON` where JSON names the targets; prints one JSON object
saying, for each attempt, "allowed" or the error it met. `... --run FILE` runs a snippet instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys


def attempt(action) -> str:
    try:
        action()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return "allowed"


def _write(path: str) -> None:
    with open(path, "w") as fh:
        fh.write("pwned")


def _read(path: str) -> None:
    with open(path, "rb") as fh:
        fh.read(16)


def _connect(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def _udp(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"pwned", ("127.0.0.1", port))


def _signal(pid: int) -> None:
    os.kill(pid, 0)


def _abstract_unix(name: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect("\0" + name)


def _limits() -> dict[str, int]:
    import resource

    return {name: resource.getrlimit(getattr(resource, f"RLIMIT_{name}"))[1]
            for name in ("AS", "CPU", "NOFILE", "NPROC", "FSIZE", "CORE")}


def main(targets: dict) -> dict:
    return {
        "uid": os.getuid(),
        "env_secret": [k for k in os.environ if k.startswith("PODIUM")],
        "write_scratch": attempt(lambda: _write(os.path.join(os.getcwd(), "ok.txt"))),
        "write_outside": attempt(lambda: _write(targets["outside"])),
        "read_secret": attempt(lambda: _read(targets["secret"])),
        "read_project": attempt(lambda: _read(targets["project_file"])),
        "tcp": attempt(lambda: _connect(targets["port"])),
        "udp": attempt(lambda: _udp(targets["port"])),
        "exec": attempt(lambda: subprocess.run(["/bin/true"], check=True)),
        "signal_parent": attempt(lambda: _signal(targets["parent"])),
        "abstract_unix": attempt(lambda: _abstract_unix(targets["abstract"])),
        "make_device": attempt(lambda: os.mknod("dev", 0o600 | 0o020000, os.makedev(1, 3))),
        "limits": _limits(),
    }


if __name__ == "__main__":
    if sys.argv[1] == "--run":
        import runpy

        runpy.run_path(sys.argv[2], run_name="__main__")
    else:
        print(json.dumps(main(json.loads(sys.argv[1]))))
