"""Start a real gunicorn Podium (production config) on a free loopback port, for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(store: Path, instance: Path, users: dict[str, tuple[str, str]] | None = None,
             workers: int = 2, ready_timeout: float = 90.0, **env: str) -> Iterator[Server]:
    """Run gunicorn with gunicorn.conf.py over `store`; yields once /readyz answers 200."""
    server = start(store, instance, users, workers, ready_timeout, **env)
    try:
        yield server
    finally:
        stop(server.process)


def start(store: Path, instance: Path, users: dict[str, tuple[str, str]] | None = None,
          workers: int = 2, ready_timeout: float = 90.0, port: int | None = None, **env: str) -> Server:
    """Start gunicorn (on `port`, else a free one) and wait until /readyz answers 200; the caller
    stops it with stop(server.process)."""
    instance.mkdir(parents=True, exist_ok=True)
    if users:
        from webapp.accounts.users import UserStore

        store_users = UserStore(instance / "users.json")
        for role, (name, password) in users.items():
            store_users.add(name, password, role)
    port = port or free_port()
    environment = {
        **os.environ, "PODIUM_BIND": f"127.0.0.1:{port}", "PODIUM_WORKERS": str(workers),
        "PODIUM_MODEL_STORE": str(store), "PODIUM_USERS_FILE": str(instance / "users.json"),
        "PODIUM_INSTANCE_PATH": str(instance),
        "PODIUM_SECRET_KEY": "integration-test", "PODIUM_POLL_INTERVAL": "0.5",
        "PODIUM_CREATE_ADMIN": "false", "PODIUM_ACCESS_LOG": "",
        "PODIUM_DATABASE_URL": f"sqlite:///{instance / 'podium.sqlite3'}", **env,
    }
    log = instance / "gunicorn.log"
    with open(log, "ab") as sink:  # appended: a restarted server keeps its earlier lines
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server, ready_timeout)
    except BaseException:
        stop(process)
        raise
    return server


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{server.output()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn not ready in {timeout}s:\n{server.output()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL after 30 s; waits until it is gone."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
