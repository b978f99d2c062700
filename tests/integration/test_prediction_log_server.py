"""The prediction log in a real gunicorn Podium: concurrent load below the queue bound loses
nothing, above it drops are counted and predictions never fail; PostgreSQL stopped and started
again under traffic; a corrupt SQLite file moved aside at start."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN, USER
from tests.support.helpers import IRIS_ROW
from tests.support.monitoring import metric, rows_in, wait_for_rows
from tests.support.postgres import PostgresServer
from tests.support.server import gunicorn

pytestmark = pytest.mark.integration
V2_BODY = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}


@pytest.fixture
def iris_store(demo_store, tmp_path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(demo_store / "iris", store / "iris")
    return store


def hammer(url: str, threads: int, each: int) -> tuple[list[str], list[str]]:
    """`threads` keep-alive clients, `each` predictions apiece (v1 and v2 in turn): (ids, failures)."""
    ids, failures, lock = [], [], threading.Lock()

    def client(t: int) -> None:
        with requests.Session() as session:
            session.auth = USER
            for i in range(each):
                if (t + i) % 2:
                    r = session.post(f"{url}/api/v2/models/iris/infer", json=V2_BODY, timeout=30)
                else:
                    r = session.post(f"{url}/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]},
                                     timeout=30)
                with lock:
                    (ids if r.status_code == 200 else failures).append(
                        r.headers.get("X-Podium-Request-ID") if r.status_code == 200 else r.text[:200])

    workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return ids, failures


def dropped(url: str, reason: str) -> float:
    return metric(url, "podium_prediction_log_dropped_records_total", reason=reason)


def test_concurrent_load_below_the_queue_bound_loses_nothing(iris_store, tmp_path):
    database = f"sqlite:///{tmp_path / 'instance' / 'podium.sqlite3'}"
    with gunicorn(iris_store, tmp_path / "instance", {"user": USER}) as server:
        ids, failures = hammer(server.url, threads=8, each=60)
        assert failures == []
        rows = wait_for_rows(database, len(ids))
        assert sorted(r.request_id for r in rows) == sorted(ids)
        assert {r.source for r in rows} == {"v1", "v2"}
        assert dropped(server.url, "queue_full") == dropped(server.url, "database") == 0
        assert metric(server.url, "podium_prediction_log_written_rows_total") == len(ids)


def test_above_the_queue_bound_drops_are_counted_and_no_prediction_fails(iris_store, tmp_path):
    database = f"sqlite:///{tmp_path / 'instance' / 'podium.sqlite3'}"
    with gunicorn(iris_store, tmp_path / "instance", {"user": USER, "admin": ADMIN},
                  PODIUM_LOG_QUEUE_SIZE="1") as server:
        ids, failures = hammer(server.url, threads=8, each=60)
        assert failures == []
        deadline = time.monotonic() + 30
        while True:  # every record ends written or dropped: the sum is exact
            written, lost = len(rows_in(database)), dropped(server.url, "queue_full")
            if written + lost == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert written + lost == len(ids)
        assert lost > 0
        assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
        ops = requests.get(server.url + "/ops/stats.json", auth=ADMIN, timeout=10).json()
        assert ops["log"]["dropped"]["queue_full"] > 0


def test_postgresql_stopped_predictions_served_drops_counted_then_writes_resume(iris_store, tmp_path):
    postgres = PostgresServer()
    try:
        postgres.start()
        url = postgres.url(postgres.create_database())
        with gunicorn(iris_store, tmp_path / "instance", {"user": USER, "admin": ADMIN},
                      PODIUM_DATABASE_URL=url) as server:
            before, failures = hammer(server.url, threads=2, each=5)
            assert failures == []
            assert len(wait_for_rows(url, len(before))) == len(before)
            postgres.stop()
            during, failures = hammer(server.url, threads=2, each=5)
            assert failures == []  # predictions are served while the database is down
            assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
            deadline = time.monotonic() + 30
            while dropped(server.url, "database") < len(during) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert dropped(server.url, "database") == len(during)
            while True:  # the failing worker's figures reach /ops with its next snapshot (every 5 s)
                ops = requests.get(server.url + "/ops", auth=ADMIN, timeout=10).text
                if "failing since" in ops or time.monotonic() > deadline + 10:
                    break
                time.sleep(0.5)
            assert "failing since" in ops
            assert "podium_prediction_log_database_up 0.0" in requests.get(server.url + "/metrics").text
            postgres.start()
            after, failures = hammer(server.url, threads=2, each=5)
            assert failures == []
            rows = wait_for_rows(url, len(before) + len(after))
            assert sorted(r.request_id for r in rows) == sorted(before + after)
    finally:
        postgres.remove()


def test_a_corrupt_sqlite_file_is_moved_aside_and_a_new_one_started(iris_store, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "podium.sqlite3").write_bytes(b"this is not a database" * 200)
    with gunicorn(iris_store, instance, {"user": USER}) as server:
        ids, failures = hammer(server.url, threads=2, each=5)
        assert failures == []
        rows = wait_for_rows(f"sqlite:///{instance / 'podium.sqlite3'}", len(ids))
        assert sorted(r.request_id for r in rows) == sorted(ids)
        assert "is corrupt" in server.output()
    (aside,) = instance.glob("podium.sqlite3.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")
