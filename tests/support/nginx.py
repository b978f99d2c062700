"""Run Debian's nginx with the shipped deploy/nginx/podium.conf in front of test servers.

The shipped file is included in place; only what differs per machine is written here, as on a real
machine: podium/upstream.conf (the instances), podium/site.conf (listen address, static root), and
a main nginx.conf that keeps pid, logs and temporary files inside the test's folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import ROOT, free_port

SHIPPED = ROOT / "deploy" / "nginx" / "podium.conf"
MAIN = """\
{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    {mime}
    default_type application/octet-stream;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;
    include {shipped};
}}
"""


def binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which a non-root PATH may lack."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


@dataclass
class Nginx:
    url: str
    port: int
    folder: Path
    process: subprocess.Popen

    def error_log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")


def write_config(folder: Path, upstreams: list[str], port: int, static_root: Path = ROOT,
                 shipped: Path = SHIPPED) -> Path:
    """The main configuration and the two per-machine files; returns the main file's path."""
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    (folder / "podium").mkdir(exist_ok=True)
    lines = "".join(f"server {u} max_fails=3 fail_timeout=10s;\n" for u in upstreams)
    (folder / "podium" / "upstream.conf").write_text(lines)
    (folder / "podium" / "site.conf").write_text(
        f"listen 127.0.0.1:{port};\nserver_name _;\nroot {static_root};\n")
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's 0700 folders
    main = folder / "nginx.conf"
    main.write_text(MAIN.format(user=user, folder=folder, mime=mime, shipped=shipped))
    return main


def check(main: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on a configuration: exit 0 and "syntax is ok" when nginx accepts it."""
    return subprocess.run([binary(), "-t", "-p", str(main.parent), "-c", str(main)],
                          capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def nginx(folder: Path, upstreams: list[str], static_root: Path = ROOT) -> Iterator[Nginx]:
    """nginx on a free loopback port in front of `upstreams` ("127.0.0.1:port"); stopped by pid."""
    port = free_port()
    main = write_config(folder, upstreams, port, static_root)
    with open(folder / "stderr.log", "wb") as sink:
        process = subprocess.Popen([binary(), "-p", str(folder), "-c", str(main), "-g", "daemon off;"],
                                   stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    server = Nginx(f"http://127.0.0.1:{port}", port, folder, process)
    try:
        _wait_listening(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # fast shutdown; the tests' requests are done
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_listening(server: Nginx, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = (server.folder / "stderr.log").read_text(errors="replace")
            raise RuntimeError(f"nginx exited: {log}\n{server.error_log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen in {timeout}s: {server.error_log()}")
