"""Podium as N instances that are one service, for integration tests: real gunicorn instances over
one store folder and one shared instance folder (users, secret key, jobs), one real PostgreSQL, and
Debian's nginx with the shipped configuration in front of all of them, all on loopback.

Each instance keeps its own log and run folder (`root/<name>/`); what they share is what a shared
volume and a database URL give every replica in compose or Kubernetes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.nginx import Nginx, nginx
from tests.support.postgres import running_postgres
from tests.support.server import Server, free_port, start, stop

PROXIED = {"PODIUM_PROXY_FIX_FOR": "1", "PODIUM_PROXY_FIX_PROTO": "1", "PODIUM_PROXY_FIX_HOST": "1",
           "PODIUM_LISTEN_WHEN_LOADED": "true"}  # as deploy/ ships it behind nginx


@dataclass
class Cluster:
    store: Path
    shared: Path
    database_url: str
    root: Path
    env: dict[str, str]
    ports: list[int]
    servers: list[Server] = field(default_factory=list)
    proxy: Nginx | None = None

    def environment(self) -> dict[str, str]:
        """What every instance is started with: the shared folder, the database, no own key."""
        return {"PODIUM_INSTANCE_PATH": str(self.shared), "PODIUM_USERS_FILE": "users.json",
                "PODIUM_SECRET_KEY": "", "PODIUM_DATABASE_URL": self.database_url, **PROXIED,
                **self.env}

    def start(self, index: int, workers: int = 1) -> Server:
        """Start instance `index` on its fixed port (the one nginx's upstream names)."""
        server = start(self.store, self.root / f"instance-{index}", workers=workers,
                       port=self.ports[index], **self.environment())
        if index < len(self.servers):
            self.servers[index] = server
        else:
            self.servers.append(server)
        return server

    def stop(self, index: int) -> int:
        """SIGTERM instance `index` (a drain, if PODIUM_DRAIN_SECONDS is set) and wait; its exit code."""
        stop(self.servers[index].process)
        return self.servers[index].process.returncode

    def instance_of(self, pid: int) -> int | None:
        """Which instance a worker pid belongs to (its parent is that instance's master)."""
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
        masters = [s.process.pid for s in self.servers]
        return masters.index(parent) if parent in masters else None


@contextlib.contextmanager
def cluster(root: Path, store: Path, users: dict[str, tuple[str, str]], count: int = 2,
            workers: int = 1, **env: str) -> Iterator[Cluster]:
    """`count` instances over `store` behind one nginx, sharing `root/shared` and one PostgreSQL."""
    from webapp.accounts.users import UserStore

    shared = root / "shared"
    accounts = UserStore(shared / "users.json")
    for role, (name, password) in users.items():
        accounts.add(name, password, role)
    with running_postgres() as postgres:
        group = Cluster(store, shared, postgres.url(postgres.create_database()), root, env,
                        [free_port() for _ in range(count)])
        try:
            for index in range(count):
                group.start(index, workers)
            upstreams = [f"127.0.0.1:{port}" for port in group.ports]
            with nginx(root / "nginx", upstreams) as proxy:
                group.proxy = proxy
                yield group
        finally:
            for server in group.servers:
                stop(server.process)
