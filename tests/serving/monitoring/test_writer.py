"""The background writer: what it stores, sampling, concurrent load, and a failing database."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from tests.serving.monitoring.conftest import iris_record, manifest_spec
from tests.support.postgres import running_postgres
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.records import PredictionRecord, Sampler, sample_fraction
from webapp.serving.monitoring.tables import model_versions, predictions
from webapp.serving.monitoring.writer import PredictionLog

DROPPED = "podium_prediction_log_dropped_records_total"


def dropped_metric(reason: str) -> float:
    return REGISTRY.get_sample_value(DROPPED, {"reason": reason}) or 0.0


def logged(db) -> list:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(predictions).order_by(predictions.c.id)).all()


def test_a_classifier_record_becomes_one_row_per_instance(db, plog):
    rec = iris_record("req-1", rows=2, client_request_id="c-1", chosen_by="label", caller="bob",
                      source="page", status=200)
    assert plog.submit(rec)
    assert plog.flush()
    rows = logged(db)
    assert [(r.request_id, r.row_index) for r in rows] == [("req-1", 0), ("req-1", 1)]
    first = rows[0]
    who = (first.client_request_id, first.chosen_by, first.caller, first.source)
    assert who == ("c-1", "label", "bob", "page")
    assert first.label == "versicolor"
    assert first.confidence == pytest.approx(0.7)
    assert first.probabilities == pytest.approx([0.1, 0.7, 0.2])
    assert first.inputs == {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    with db.engine.connect() as conn:
        version = conn.execute(sa.select(model_versions)).one()
    assert version.labels == ["setosa", "versicolor", "virginica"]
    assert version.task == "classification"


def test_a_regressor_and_a_failed_request_are_logged(db, plog):
    spec = manifest_spec("diabetes", task="regression")
    rec = PredictionRecord("reg-1", "diabetes", 1, spec, np.ones((1, 4), np.float32),
                           np.array([[151.5]], np.float32), 0.01)
    failed = PredictionRecord("bad-1", "diabetes", None, None, None, None, 0.001, status=400)
    assert plog.submit(rec)
    assert plog.submit(failed)
    assert plog.flush()
    ok, bad = logged(db)
    assert ok.value == pytest.approx(151.5)
    assert ok.label is None
    assert (bad.status, bad.version, bad.inputs, bad.value) == (400, None, None, None)


def test_an_image_is_stored_as_digest_statistics_and_tensor_never_the_upload(db, plog):
    spec = manifest_spec("digits", inputs={"kind": "image", "height": 8, "width": 8, "scale": 16.0},
                         outputs={"labels": [str(d) for d in range(10)]})
    tensor = np.zeros((1, 8, 8, 1), np.float32)
    tensor[0, 2:6, 3:5, 0] = 16.0
    upload = b"\x89PNG pretend upload bytes"
    probs = np.eye(10, dtype=np.float32)[[7]]
    assert plog.submit(PredictionRecord("img-1", "digits", 1, spec, tensor, probs, 0.003, uploads=[upload]))
    assert plog.flush()
    (row,) = logged(db)
    import hashlib

    assert row.inputs["sha256"] == hashlib.sha256(upload).hexdigest()
    assert row.inputs["stats"] == {"brightness": 0.125, "contrast": pytest.approx(0.330719, abs=1e-5),
                                   "ink": 0.125}
    assert np.array(row.inputs["tensor"]).shape == (8, 8, 1)
    assert "upload" not in row.inputs
    assert row.label == "7"


def test_sampling_is_decided_by_the_request_id_the_same_everywhere():
    ids = [f"request-{i}" for i in range(4000)]
    a, b = Sampler(rates={"iris": 0.25}), Sampler(rates={"iris": 0.25})
    kept = [i for i in ids if a.keep(i, "iris")]
    assert kept == [i for i in ids if b.keep(i, "iris")]
    assert 0.22 < len(kept) / len(ids) < 0.28
    assert all(sample_fraction(i) < 0.25 for i in kept)
    assert all(a.keep(i, "wine") for i in ids[:100])  # other models keep the default rate 1.0


def test_a_sampled_out_request_is_not_logged(db, protector):
    log = PredictionLog(db, protector, Sampler(rates={"iris": 0.5}), interval_s=0.05)
    log.start()
    ids = [f"s-{i}" for i in range(40)]
    accepted = {i for i in ids if log.submit(iris_record(i))}
    log.close()
    assert accepted == {i for i in ids if sample_fraction(i) < 0.5}
    rows = logged(db)
    assert {r.request_id for r in rows} == accepted
    assert all(r.sample_rate == 0.5 for r in rows)


def test_a_reused_request_id_does_not_sink_its_batch(db, plog):
    plog.submit(iris_record("same"))
    plog.submit(iris_record("same"))
    plog.submit(iris_record("other"))
    assert plog.flush()
    assert sorted(r.request_id for r in logged(db)) == ["other", "same"]
    assert plog.stats()["dropped"]["database"] == 0


def _hammer(log: PredictionLog, threads: int, each: int) -> int:
    accepted = [0] * threads

    def work(t: int) -> None:
        for i in range(each):
            accepted[t] += log.submit(iris_record(f"t{t}-{i}"))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(accepted)


def test_concurrent_load_below_the_queue_bound_loses_nothing(db, protector):
    log = PredictionLog(db, protector, max_queue=5000, batch_size=200, interval_s=0.01)
    log.start()
    assert _hammer(log, threads=8, each=400) == 3200
    log.close()
    stats = log.stats()
    assert stats["written_rows"] == 3200
    assert stats["dropped"]["queue_full"] == 0
    assert len(logged(db)) == 3200


def test_a_full_queue_drops_and_counts_without_blocking(db, protector):
    before = dropped_metric("queue_full")
    log = PredictionLog(db, protector, max_queue=1000)  # not started: nothing drains yet
    accepted = _hammer(log, threads=8, each=250)
    dropped = log.stats()["dropped"]["queue_full"]
    assert 1000 <= accepted <= 1000 + 8  # a racing append may pass the bound by one per thread
    assert dropped == 2000 - accepted
    assert dropped_metric("queue_full") - before == dropped
    log.start()
    log.close()
    assert len(logged(db)) == accepted


def _sqlite_log(tmp_path, protector, busy_timeout_s=0.1) -> tuple[database.LogDatabase, PredictionLog]:
    db = database.open_database(None, tmp_path, busy_timeout_s=busy_timeout_s)
    migrate.upgrade(db)
    log = PredictionLog(db, protector, interval_s=0.02)
    log.start()
    return db, log


def test_a_locked_database_drops_and_counts_then_writes_resume(tmp_path, protector):
    db, log = _sqlite_log(tmp_path, protector)
    blocker = sqlite3.connect(tmp_path / database.DEFAULT_FILE, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    assert log.submit(iris_record("while-locked"))
    assert log.flush()
    stats = log.stats()
    assert stats["dropped"]["database"] == 1
    assert not stats["database"]["ok"]
    assert "locked" in stats["database"]["last_error"]
    blocker.execute("COMMIT")
    blocker.close()
    log.submit(iris_record("after"))
    log.close()
    assert [r.request_id for r in logged(db)] == ["after"]
    assert log.stats()["database"]["ok"]


def test_a_full_database_drops_and_counts_then_writes_resume(tmp_path, protector):
    db, log = _sqlite_log(tmp_path, protector)
    limit = {"pages": 1}  # SQLite's own "database or disk is full" once it may not grow

    @sa.event.listens_for(db.engine, "begin")
    def cap(conn):
        conn.exec_driver_sql(f"PRAGMA max_page_count = {limit['pages']}")

    before = dropped_metric("database")
    big = iris_record("while-full", rows=2000)
    assert log.submit(big)
    assert log.flush()
    assert "full" in log.stats()["database"]["last_error"]
    assert dropped_metric("database") - before == 1
    limit["pages"] = 1_000_000
    log.submit(iris_record("after-full"))
    log.close()
    assert [r.request_id for r in logged(db)] == ["after-full"]


def test_postgresql_down_drops_and_counts_then_writes_resume(protector, tmp_path):
    with running_postgres() as server:
        db = database.open_database(server.url(server.create_database()), tmp_path)
        migrate.upgrade(db)
        log = PredictionLog(db, protector, interval_s=0.02)
        log.start()
        log.submit(iris_record("before"))
        assert log.flush()
        server.stop()
        log.submit(iris_record("while-down"))
        assert log.flush(timeout=30)
        stats = log.stats()
        assert stats["dropped"]["database"] == 1
        assert not stats["database"]["ok"]
        server.start()
        log.submit(iris_record("after"))
        log.close()
        assert [r.request_id for r in logged(db)] == ["before", "after"]
        assert log.stats()["database"]["ok"]
        db.dispose()


def test_submit_after_close_is_dropped_not_raised(db, protector):
    log = PredictionLog(db, protector)
    log.start()
    log.close()
    assert log.submit(iris_record("late")) is False
    assert log.stats()["dropped"]["queue_full"] == 1
