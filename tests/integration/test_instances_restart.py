"""An instance restarted or killed behind nginx, under steady keep-alive load through nginx.

Two real gunicorn instances (one store, one instance folder, one PostgreSQL) behind Debian's nginx
with the shipped configuration. Clients never retry; nginx does, on a refused or broken connection
to an instance (`proxy_next_upstream error timeout`); of the POSTs that reached an instance it
re-sends only predictions (`non_idempotent` on those routes).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import psutil
import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.cluster import cluster
from tests.support.load import run_load
from tests.support.nginx import binary
from tests.support.server import free_port, gunicorn

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    binary() is None, reason="nginx is not installed: scripts/install-services")]
CLIENTS = 4
# each client under 33 requests a second: all four stay below nginx's per-address limit (200/s)
PAUSE = 0.03


@pytest.fixture(scope="module")
def service(demo_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("restart")
    shutil.copytree(demo_store / "iris", root / "store" / "iris")
    with cluster(root, root / "store", {"admin": ADMIN, "user": USER},
                 PODIUM_MAX_REQUESTS="0") as group:
        yield group


def _answering(service, seconds: float = 1.5) -> set[int | None]:
    """Which instances answer through nginx now (a short load, every answer's worker mapped)."""
    after = run_load(service.proxy.url, ADMIN, seconds=seconds, threads=2, pause=PAUSE)
    assert after.errors == [], after.summary()
    return {service.instance_of(pid) for pid in after.pids}


def _until_both_answer(service, timeout: float = 25.0) -> float:
    """Seconds until nginx sends to both instances again (it rests one for 10 s after 3 refused
    connections: `max_fails=3 fail_timeout=10s`)."""
    started = time.monotonic()
    while _answering(service, seconds=1.0) != {0, 1}:
        assert time.monotonic() - started < timeout, "nginx never sent to both instances again"
    return time.monotonic() - started


def test_a_rolling_restart_of_one_instance_loses_no_request(service):
    _until_both_answer(service)
    timings = {}

    def restart_a() -> None:
        time.sleep(1.0)
        started = time.monotonic()
        code = service.stop(0)
        timings["stopped"] = time.monotonic() - started
        service.start(0)
        timings["back"] = time.monotonic() - started
        timings["exit_code"] = code
        time.sleep(1.0)

    load = run_load(service.proxy.url, ADMIN, seconds=3, threads=CLIENTS, during=restart_a,
                    pause=PAUSE)
    print(f"\nrolling restart of instance A: stopped in {timings['stopped']:.1f}s, ready again "
          f"after {timings['back']:.1f}s; {load.summary()}")
    assert timings["exit_code"] == 0
    assert load.ok > 50
    assert load.errors == [], load.summary()
    back = _until_both_answer(service)
    print(f"nginx sent to the restarted instance again {back:.1f}s after the drill")


def _alive(process: psutil.Process) -> bool:
    """Running and not yet a zombie (a zombie has closed its sockets)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_killed_instance_fails_only_the_requests_in_flight_on_it(service):
    _until_both_answer(service)
    killed = {}

    def kill_a() -> None:
        master = psutil.Process(service.servers[0].process.pid)
        group = [master, *master.children(recursive=True)]
        killed["workers"] = [p.pid for p in group[1:]]
        time.sleep(1.0)
        killed["at"] = time.monotonic()
        os.killpg(master.pid, signal.SIGKILL)
        service.servers[0].process.wait(timeout=10)
        while any(_alive(p) for p in group):
            time.sleep(0.002)
        killed["gone"] = time.monotonic()  # every process of A is gone: its sockets are closed
        time.sleep(3.0)

    load = run_load(service.proxy.url, ADMIN, seconds=4, threads=CLIENTS, during=kill_a,
                    pause=PAUSE)
    late = [round(sent - killed["at"], 3) for sent, _ in load.failed]
    print(f"\ninstance A killed (SIGKILL to its process group), gone "
          f"{killed['gone'] - killed['at']:.3f}s later; failed requests sent at {late}s from the "
          f"kill; {load.summary()}")
    # each client has at most one request in flight: only those that reached A before it was gone
    # may fail; nothing sent later
    assert sum(load.pids[pid] for pid in killed["workers"]) > 0, "A carried load until the kill"
    assert len(load.errors) <= CLIENTS, load.summary()
    assert all(sent <= killed["gone"] for sent, _ in load.failed), (killed, load.failed)
    assert load.ok > 50
    assert _answering(service) == {1}
    r = requests.post(f"{service.proxy.url}/api/v1/models/iris:predict", auth=USER, timeout=10,
                      json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert r.status_code == 200, r.text


def test_a_starting_instance_refuses_connections_until_its_models_are_loaded(demo_store, tmp_path):
    """PODIUM_LISTEN_WHEN_LOADED: nothing answers "still loading" (nginx would pass that 503 on);
    connections are refused, which nginx retries on another instance, until the worker is ready."""
    port, seen, done = free_port(), [], threading.Event()

    def probe() -> None:
        while not done.is_set():
            try:
                seen.append(requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code)
            except requests.ConnectionError:
                seen.append("refused")
            time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    with gunicorn(demo_store, tmp_path / "instance", workers=1, port=port,
                  PODIUM_LISTEN_WHEN_LOADED="true"):
        time.sleep(0.5)
    done.set()
    prober.join(timeout=15)
    answers = [s for s in seen if s != "refused"]
    print(f"\n{seen.count('refused')} refused while loading, then {answers.count(200)} x 200")
    assert seen[0] == "refused"
    assert answers, seen
    assert set(answers) == {200}, seen
