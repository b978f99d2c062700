"""Reload, recycling and drain drills against a real gunicorn under keep-alive load; prints JSON.

Run as a process (the suite does), or by hand to compare layouts; `unshare -n ... --migrate 1` runs
it in a private network namespace with the kernel's request migration on, without touching the
machine's setting (Podium's per-slot sockets need no such setting):

    python -m tests.support.drill --store STORE [--reuse-port false]

Every figure counts requests the client saw fail (nothing is retried) and which worker answered.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.support.load import IRIS_ROW, LoadResult, run_load
from tests.support.server import gunicorn

ADMIN = ("drill-admin", "drill-admin-password")
MIGRATE = Path("/proc/sys/net/ipv4/tcp_migrate_req")


def _figures(result: LoadResult) -> dict:
    return {"ok": result.ok, "lost": len(result.errors), "errors": result.errors[:5],
            "answers_per_worker": sorted(result.pids.values(), reverse=True),
            "busiest_share": round(result.spread(), 3)}


def _socket_layout(log: str) -> str:
    return "per-worker slot" if "one SO_REUSEPORT socket per worker slot" in log else "shared"


def spread_reload_drain(store: Path, folder: Path, **env: str) -> dict:
    """Steady keep-alive load (which worker answers), two HUPs under load, then a SIGTERM."""
    with gunicorn(store, folder / "a", {"admin": ADMIN}, PODIUM_MAX_REQUESTS="0",
                  PODIUM_THREADS="4", PODIUM_DRAIN_SECONDS="2", **env) as server:
        steady = run_load(server.url, ADMIN, seconds=3, threads=16)

        def reload_twice() -> None:
            for _ in range(2):
                time.sleep(1.2)
                os.kill(server.process.pid, signal.SIGHUP)

        reloads = run_load(server.url, ADMIN, seconds=5, threads=4, during=reload_twice)
        after = run_load(server.url, ADMIN, seconds=1, threads=2)  # the reloaded workers answer
        replaced = not set(after.pids) & set(steady.pids)
        layout = _socket_layout(server.output())
        drain = _drain(server)
    return {"socket": layout, "spread": _figures(steady), "drain": drain,
            "hup": {**_figures(reloads), "workers_replaced": replaced, "lost_after": len(after.errors)}}


def recycle(store: Path, folder: Path, **env: str) -> dict:
    """Workers recycled every ~40 requests under keep-alive load."""
    with gunicorn(store, folder / "b", {"admin": ADMIN}, PODIUM_MAX_REQUESTS="40",
                  PODIUM_MAX_REQUESTS_JITTER="10", **env) as server:
        recycled = run_load(server.url, ADMIN, seconds=4, threads=4)
        restarts = server.output().count("Autorestarting worker")
    return {"recycle": {**_figures(recycled), "restarts": restarts}}


def _drain(server) -> dict:
    """SIGTERM: readiness turns 503 at once, requests are still served, an in-flight one finishes."""
    body = json.dumps({"instances": [IRIS_ROW] * 50}).encode()
    port = int(server.url.rsplit(":", 1)[1])
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    auth = requests.auth._basic_auth_str(*ADMIN)
    slow.sendall((f"POST /api/v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                 + body[:100])
    time.sleep(0.3)  # the worker has the request before the stop begins
    os.kill(server.process.pid, signal.SIGTERM)
    term = time.monotonic()
    time.sleep(0.2)
    ready = requests.get(server.url + "/readyz", timeout=10)
    during = run_load(server.url, ADMIN, seconds=1.2, threads=4)
    time.sleep(max(0.0, term + 3.0 - time.monotonic()))  # the drain is over, workers are stopping
    slow.sendall(body[100:])
    answer = slow.recv(65536).split(b"\r\n", 1)[0].decode()
    slow.close()
    code = server.process.wait(timeout=60)
    return {"readyz_during_drain": ready.status_code, "draining": ready.json().get("draining", False),
            **_figures(during), "in_flight_answer": answer, "exit_code": code}


def _enter_namespace(migrate: str) -> None:
    """Inside `unshare -n`: bring loopback up and set request migration for this namespace only."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    MIGRATE.write_text(migrate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--migrate", choices=["0", "1"], help="set in a fresh network namespace")
    parser.add_argument("--reuse-port", choices=["true", "false"], default="true",
                        help="PODIUM_REUSE_PORT: per-worker-slot sockets, or one shared socket")
    args = parser.parse_args()
    if args.migrate is not None:
        _enter_namespace(args.migrate)
    env = {"PODIUM_REUSE_PORT": args.reuse_port}
    with tempfile.TemporaryDirectory(prefix="podium-drill-") as folder:
        result = {"tcp_migrate_req": MIGRATE.read_text().strip() if MIGRATE.exists() else None,
                  **spread_reload_drain(args.store, Path(folder), **env),
                  **recycle(args.store, Path(folder), **env)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
