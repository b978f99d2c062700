"""The log's storage: migrations, SQLite's WAL mode and corrupt files, retention, CSV/Parquet export."""

from __future__ import annotations

import csv
import io
import logging
import time

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from tests.serving.monitoring.conftest import IRIS_FEATURES, iris_record, manifest_spec
from webapp.serving.errors import NotFound
from webapp.serving.monitoring import database, export, migrate, retention
from webapp.serving.monitoring.feedback import Feedback
from webapp.serving.monitoring.tables import ground_truth, predictions


def count(db, table=predictions) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_an_empty_database_is_not_at_head_until_upgraded(tmp_path):
    db = database.open_database(None, tmp_path)
    assert migrate.current(db) is None
    assert not migrate.is_at_head(db)
    assert migrate.upgrade(db) == migrate.head()
    assert migrate.is_at_head(db)


def test_upgrading_again_keeps_every_logged_row(db, plog):
    for i in range(5):
        plog.submit(iris_record(f"keep-{i}"))
    assert plog.flush()
    assert migrate.upgrade(db) == migrate.head()
    assert count(db) == 5


def test_downgrade_to_base_and_back_recreates_the_schema(db):
    assert migrate.downgrade(db, "base") is None
    assert not sa.inspect(db.engine).has_table("prediction_log")
    migrate.upgrade(db)
    assert {"prediction_log", "ground_truth", "model_versions", "monitor_results"} <= set(
        sa.inspect(db.engine).get_table_names())


def test_the_migrations_create_exactly_the_tables_the_code_uses(db):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from webapp.serving.monitoring.tables import metadata

    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = database.open_database(None, tmp_path)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / database.DEFAULT_FILE).exists()


def test_a_corrupt_sqlite_file_is_moved_aside_and_a_new_one_started(tmp_path, caplog):
    path = tmp_path / database.DEFAULT_FILE
    path.write_bytes(b"this is not a database at all" * 200)
    with caplog.at_level(logging.ERROR, logger="webapp.serving.monitoring.database"):
        db = database.open_database(None, tmp_path)
    moved = list(tmp_path.glob(f"{database.DEFAULT_FILE}.corrupt-*"))
    assert len(moved) == 1
    assert moved[0].read_bytes().startswith(b"this is not a database")
    assert "corrupt" in caplog.text
    assert str(moved[0]) in caplog.text
    migrate.upgrade(db)
    assert migrate.is_at_head(db)


def test_a_sound_sqlite_file_stays_where_it_is(tmp_path):
    db = database.open_database(None, tmp_path)
    migrate.upgrade(db)
    db.dispose()
    database.open_database(None, tmp_path)
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_retention_deletes_by_age_with_the_ground_truth(db, plog):
    now = time.time()
    for i, age_days in enumerate([40, 35, 1, 0]):
        plog.submit(iris_record(f"age-{i}", logged_at=now - age_days * 86400))
    assert plog.flush()
    Feedback(db).record("iris", [("age-0", "setosa"), ("age-3", "setosa")])
    deleted = retention.prune(db, max_age_s=30 * 86400, now=now)
    assert deleted == {"by_age": 2, "by_rows": 0, "truth": 1}
    with db.engine.connect() as conn:
        left = sorted(conn.execute(sa.select(predictions.c.request_id)).scalars())
        truths = list(conn.execute(sa.select(ground_truth.c.request_id)).scalars())
    assert left == ["age-2", "age-3"]
    assert truths == ["age-3"]


def test_retention_keeps_the_newest_rows(db, plog):
    for i in range(12):
        plog.submit(iris_record(f"row-{i:02d}"))
    assert plog.flush()
    assert retention.prune(db, max_rows=5)["by_rows"] == 7
    with db.engine.connect() as conn:
        left = sorted(conn.execute(sa.select(predictions.c.request_id)).scalars())
    assert left == [f"row-{i:02d}" for i in range(7, 12)]
    assert retention.prune(db, max_rows=5) == {"by_age": 0, "by_rows": 0, "truth": 0}


def _logged_with_truth(db, plog) -> None:
    plog.submit(iris_record("exp-1", client_request_id="client-1", caller="alice", source="v2"))
    plog.submit(iris_record("exp-2", rows=2, chosen_by="split"))
    assert plog.flush()
    Feedback(db).record("iris", [("exp-1", "versicolor"), ("exp-2", ["setosa", "versicolor"])])


def test_csv_export_has_inputs_answers_and_truth(db, plog):
    _logged_with_truth(db, plog)
    out = io.StringIO()
    assert export.write_csv(db, "iris", out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    first = rows[0]
    assert first["request_id"] == "exp-1"
    assert first["client_request_id"] == "client-1"
    assert first["caller"] == "alice"
    assert first["source"] == "v2"
    assert first["status"] == "200"
    assert float(first["sepal_length"]) == pytest.approx(5.1)
    assert first["label"] == "versicolor"
    assert float(first["p_versicolor"]) == pytest.approx(0.7)
    assert first["truth"] == "versicolor"
    assert first["logged_at"].endswith("+00:00")
    assert [r["truth"] for r in rows[1:]] == ["setosa", "versicolor"]
    assert [r["row_index"] for r in rows[1:]] == ["0", "1"]


def test_parquet_export_has_typed_columns(db, plog, tmp_path):
    _logged_with_truth(db, plog)
    target = tmp_path / "iris.parquet"
    assert export.write_parquet(db, "iris", str(target)) == 3
    table = pq.read_table(target)
    assert table.num_rows == 3
    assert str(table.schema.field("sepal_length").type) == "double"
    assert str(table.schema.field("version").type) == "int64"
    assert table.column("truth").to_pylist() == ["versicolor", "setosa", "versicolor"]
    assert set(IRIS_FEATURES) <= set(table.column_names)


def test_export_of_a_time_range_and_of_a_regressor(db, plog):
    spec = manifest_spec("diabetes", task="regression")
    now = time.time()
    for i, age in enumerate([7200, 60]):
        rec = iris_record(f"reg-{i}", spec=spec, logged_at=now - age)
        rec.outputs = rec.outputs[:, :1] * 100
        plog.submit(rec)
    assert plog.flush()
    Feedback(db).record("diabetes", [("reg-1", 70.5)])
    out = io.StringIO()
    assert export.write_csv(db, "diabetes", out, since=now - 3600) == 1
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["request_id"] == "reg-1"
    assert float(row["value"]) == pytest.approx(10.0, abs=1e-4)
    assert float(row["truth"]) == 70.5


def test_export_of_a_model_never_logged_is_not_found(db):
    with pytest.raises(NotFound, match="nothing for model 'ghost'"):
        export.write_csv(db, "ghost", io.StringIO())
