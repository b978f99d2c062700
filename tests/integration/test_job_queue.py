"""CSV jobs on a real queue: a real redis-server, real `flask jobs worker` processes, one killed
with SIGKILL mid-job; the job still completes with every row exactly once, in the output and in
the prediction log."""

from __future__ import annotations

import csv
import io
import shutil
import signal
import sqlite3
import time

import pytest

from tests.conftest import make_app
from tests.pages.test_csv_jobs import FEATURES, finish, scored, upload
from tests.support.jobqueue import redis_server, start_worker, stop_worker, worker_env

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


@pytest.fixture
def broker(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    with redis_server(folder) as url:
        yield url


@pytest.fixture
def iris_store(demo_store, tmp_path):
    """Only iris: a worker loads the store before it scores, so keep it quick."""
    root = tmp_path / "store"
    root.mkdir()
    shutil.copytree(demo_store / "iris", root / "iris")
    return root


def iris_csv(rows: int) -> str:
    lines = [",".join(f'"{f}"' for f in FEATURES)]
    lines += [f"{5 + (i % 30) / 10},{3 + (i % 7) / 10},{1 + (i % 50) / 10},{(i % 25) / 10}"
              for i in range(rows)]
    return "\n".join(lines) + "\n"


def without_ids(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "request_id"} for row in rows]


def test_pieces_scored_by_a_worker_match_one_process(iris_store, tmp_path, broker):
    header = ",".join(f'"{f}"' for f in FEATURES)
    text = (f"{header}\n5.1,3.5,1.4,0.2\nabc,3.5,1.4,0.2\n5.1,3.5\n\n6.3,2.9,5.6,nan\n"
            '6.3,2.9,5.6,1.8\n"5.0",3.4,1.5,0.2\n1,2,3,4,5\n' + "6.0,2.2,4.0,1.0\n" * 7)
    local = make_app(iris_store, tmp_path / "local").test_client()
    queued_app = make_app(iris_store, tmp_path / "queued", JOBS_BROKER_URL=broker, BATCH_CHUNK_ROWS=3)
    worker = start_worker(worker_env(iris_store, tmp_path / "queued", broker), tmp_path / "worker.log")
    try:
        expected_doc, expected, _ = scored(local, text)
        doc, rows, page = scored(queued_app.test_client(), text)
    finally:
        stop_worker(worker)
    assert doc["state"] == "done", (tmp_path / "worker.log").read_text()[-3000:]
    jobs = queued_app.extensions["podium.jobs"]
    doc = jobs.progress(next(jobs.root.iterdir()).name)
    expected_doc = local.application.extensions["podium.jobs"].progress(
        next(local.application.extensions["podium.jobs"].root.iterdir()).name)
    assert doc["pieces"] == 5  # 15 records, 3 a piece: the blank line is no record
    assert without_ids(rows) == without_ids(expected)
    def lines(found):
        return [r["request_id"].split("-")[-1] for r in found]

    assert lines(rows) == lines(expected)
    for key in ("rows_done", "rows_failed", "errors", "rows_total"):
        assert doc[key] == expected_doc[key], key
    assert "line 3:" in page


def test_a_worker_killed_mid_job_leaves_its_piece_to_be_redone(iris_store, tmp_path, broker):
    rows = 20_000
    instance = tmp_path / "instance"
    app = make_app(iris_store, instance, JOBS_BROKER_URL=broker, BATCH_CHUNK_ROWS=500)
    client = app.test_client()
    env = worker_env(iris_store, instance, broker, PODIUM_JOBS_VISIBILITY_TIMEOUT="3")
    first = start_worker(env, tmp_path / "first.log")
    try:
        response = upload(client, iris_csv(rows))
        assert response.status_code == 303, response.text
        location = response.headers["Location"]
        deadline = time.monotonic() + 120  # a worker starting on a loaded machine
        jobs, job = app.extensions["podium.jobs"], location.rsplit("/", 1)[-1]
        while (doc := jobs.progress(job))["rows_done"] < 2000:
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(0.02)
    finally:
        stop_worker(first, signal.SIGKILL)  # the Celery parent and its pool child, no goodbye
    assert doc["state"] == "running"
    assert doc["pieces_done"] < doc["pieces"] == 40
    second = start_worker(env, tmp_path / "second.log")
    try:
        doc = finish(client, location, timeout=120)
    finally:
        stop_worker(second)
    assert doc["state"] == "done", (tmp_path / "second.log").read_text()[-3000:]
    assert doc["rows_done"] == rows
    assert doc["rows_failed"] == 0
    with client.get(location + "/scored.csv") as download:
        scored_rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["request_id"] for r in scored_rows] == [f"{job}-{line}" for line in range(2, rows + 2)]
    assert all(r["predicted_label"] for r in scored_rows)
    with sqlite3.connect(instance / "podium.sqlite3") as db:
        logged, distinct = db.execute("SELECT count(*), count(DISTINCT request_id) FROM prediction_log "
                                      "WHERE request_id LIKE ?", (f"{job}-%",)).fetchone()
    assert logged == distinct == rows
