"""The monitoring core wired to the service: settings from the config, the monitor predicting through
run_batch without counting, preparing the database once per start, logged CSV rows sampled by
their own ids, and on-demand rounds in a worker that does not hold the schedule."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from tests.serving.monitoring.conftest import iris_record
from webapp.config import DEFAULTS
from webapp.serving.errors import ModelNotFound, ModelUnavailable
from webapp.serving.monitored import monitoring_settings, prepare_once, sources_of
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.job import MonitorJob
from webapp.serving.monitoring.privacy import Protector
from webapp.serving.monitoring.records import Sampler, sample_fraction
from webapp.serving.monitoring.writer import PredictionLog
from webapp.serving.service import ModelService

ROWS = np.asarray([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


@pytest.fixture(scope="module")
def service(demo_store) -> ModelService:
    svc = ModelService(str(demo_store))
    svc.refresh()
    return svc


def test_settings_come_from_the_config_with_zero_meaning_no_limit(tmp_path):
    key = tmp_path / "fernet.key"
    key.write_text("a-key-from-a-mounted-secret\n")
    config = {**DEFAULTS, "LOG_RETENTION_DAYS": 0, "LOG_RETENTION_ROWS": 1000,
              "LOG_SAMPLE_RATES": {"digits": 0.25}, "LOG_ENCRYPTION_KEY_FILE": str(key)}
    settings = monitoring_settings(config, str(tmp_path))
    assert settings.database_url is None
    assert (settings.retention_days, settings.retention_rows) == (None, 1000)
    assert settings.sample_rates == {"digits": 0.25}
    assert settings.encryption_key == "a-key-from-a-mounted-secret"
    assert settings.hash_key is None


def test_the_monitor_predicts_through_run_batch_which_counts_nothing(service):
    sources = sources_of(service)("iris")
    assert sorted(sources) == [1, 2]
    before = service.model("iris").versions[2].counters["requests"]
    out = sources[2].predict(ROWS)
    assert out.shape == (2, 3)
    assert int(np.argmax(out[0])) == 0
    assert service.model("iris").versions[2].counters["requests"] == before
    assert sources_of(service)("nosuch") == {}


def test_run_batch_refuses_what_cannot_answer(service):
    with pytest.raises(ModelNotFound):
        service.run_batch("iris", 9, ROWS)
    with pytest.raises(ModelNotFound):
        service.run_batch("nosuch", 1, ROWS)


def test_run_batch_refuses_an_unloaded_version(model_store):
    svc = ModelService(str(model_store))
    svc.store.write_config("iris", {"unloaded": True})
    svc.refresh()
    with pytest.raises((ModelUnavailable, ModelNotFound)):
        svc.run_batch("iris", 2, ROWS)


def test_the_database_is_prepared_once_per_start(tmp_path):
    config = {**DEFAULTS}
    settings = monitoring_settings(config, str(tmp_path))
    flag = tmp_path / "prepared"
    prepare_once(settings, str(flag))
    assert flag.exists()
    db = database.open_database(None, tmp_path, check_file=False)
    assert migrate.is_at_head(db)
    db.dispose()
    (tmp_path / database.DEFAULT_FILE).write_bytes(b"garbage" * 100)
    prepare_once(settings, str(flag))  # a later worker of the same start checks nothing
    assert not list(tmp_path.glob("*.corrupt-*"))
    flag.unlink()
    prepare_once(settings, str(flag))  # the next start moves the broken file aside
    assert len(list(tmp_path.glob(f"{database.DEFAULT_FILE}.corrupt-*"))) == 1


def test_a_database_that_does_not_answer_at_start_is_logged_not_fatal(tmp_path, caplog):
    config = {**DEFAULTS, "DATABASE_URL": "postgresql+psycopg://podium@127.0.0.1:9/none?connect_timeout=2"}
    flag = tmp_path / "prepared"
    with caplog.at_level(logging.ERROR):
        prepare_once(monitoring_settings(config, str(tmp_path)), str(flag))
    assert "Could not prepare Podium's database" in caplog.text
    assert not flag.exists()


def test_rows_with_their_own_ids_are_sampled_one_by_one(tmp_path):
    db = database.open_database(None, tmp_path)
    migrate.upgrade(db)
    log = PredictionLog(db, Protector(b"k" * 32), Sampler(rates={"iris": 0.5}), interval_s=0.02)
    log.start()
    ids = [f"job-{line}" for line in range(2, 42)]
    record = iris_record(ids[0], rows=len(ids), row_ids=ids, source="csv")
    assert log.submit(record)
    log.close()
    with db.engine.connect() as conn:
        stored = [row[0] for row in conn.exec_driver_sql("SELECT request_id FROM prediction_log ORDER BY id")]
    assert stored == [i for i in ids if sample_fraction(i) < 0.5]
    assert 0 < len(stored) < len(ids)
    db.dispose()


def test_a_worker_not_holding_the_schedule_still_runs_a_requested_round(tmp_path):
    done: list[str | None] = []

    class Monitor:
        db = None

        def compute(self, name: str) -> dict:
            done.append(name)
            return {"model": name, "versions": {}}

    leader = MonitorJob(Monitor(), lambda: ["iris", "wine"], 3600, lock_path=tmp_path / "lock")
    other = MonitorJob(Monitor(), lambda: ["iris", "wine"], 3600, lock_path=tmp_path / "lock")
    assert leader._leader()
    other.start()
    other.request("wine")
    for _ in range(200):
        if done:
            break
        time.sleep(0.02)
    other.stop()
    leader.stop()
    assert done == ["wine"]
