"""No request lost when gunicorn reloads (HUP), recycles a worker (max_requests) or stops (TERM with
a drain), under keep-alive load; and that load spread over the workers. One drill process, real
gunicorn, iris only (tests/support/drill.py prints the figures this file asserts)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drill(demo_store, tmp_path_factory) -> dict:
    store = tmp_path_factory.mktemp("drill") / "store"
    shutil.copytree(demo_store / "iris", store / "iris")
    run = subprocess.run([sys.executable, "-m", "tests.support.drill", "--store", str(store)],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout)
    print("\n" + json.dumps(figures, indent=1))
    return figures


def test_the_default_is_one_socket_per_worker_slot(drill):
    assert drill["socket"] == "per-worker slot"


def test_keep_alive_load_reaches_every_worker(drill):
    """16 keep-alive connections over 2 workers: each worker answers a real share."""
    answers = drill["spread"]["answers_per_worker"]
    assert len(answers) == 2, drill["spread"]
    assert min(answers) >= 0.1 * sum(answers), drill["spread"]


def test_no_request_lost_across_two_reloads(drill):
    hup = drill["hup"]
    assert hup["lost"] == 0, hup["errors"]
    assert hup["lost_after"] == 0
    assert hup["workers_replaced"], "new workers answer after the reloads"


def test_no_request_lost_while_workers_recycle(drill):
    recycle = drill["recycle"]
    assert recycle["restarts"] >= 1, recycle
    assert recycle["lost"] == 0, recycle["errors"]


def test_sigterm_drains_first_then_finishes_in_flight_requests(drill):
    drain = drill["drain"]
    assert drain["readyz_during_drain"] == 503
    assert drain["draining"] is True
    assert drain["ok"] > 0, "requests are still served while draining"
    assert drain["lost"] == 0, drain["errors"]
    assert drain["in_flight_answer"] == "HTTP/1.1 200 OK"
    assert drain["exit_code"] == 0
