"""A real PostgreSQL (Debian's) for tests: initdb in a temp folder, a unix socket there, no TCP.

PostgreSQL refuses to run as root, so as root the server runs as `nobody` in a folder it owns.
`scripts/install-services` installs the package. Use the `postgres_url` fixture (a fresh database
per test) or `PostgresServer` directly to stop and start a server inside a test.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "nobody"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        pytest.fail("PostgreSQL is not installed: run scripts/install-services")
    return Path(found[-1]).parent


def _as_user() -> dict:
    return {"user": USER, "group": "nogroup"} if os.geteuid() == 0 else {}


class PostgresServer:
    """One postgres process over its own data folder; `url(db)` names a database on it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="podium-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.bin = _bindir()
        if os.geteuid() == 0:
            shutil.chown(self.root, USER, "nogroup")
        self._run("initdb", "-D", str(self.data), "-U", "podium", "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        self.pid: int | None = None

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([str(self.bin / tool), *args], check=True, cwd=self.root,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **_as_user())

    def start(self) -> None:
        options = f"-c listen_addresses='' -k {self.root} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Fast shutdown by PID (SIGINT), waiting until the process is gone."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.05)
        self.pid = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://podium@/{database}?host={self.root}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.root), user="podium", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # pg_ctl daemonises it, so it is rarely our child
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A URL to a new, empty database on the session's server."""
    return postgres_server.url(postgres_server.create_database())
