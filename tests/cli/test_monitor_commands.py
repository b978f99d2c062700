"""`flask db upgrade|current`, `flask monitor feedback|export|run`, and `flask demos traffic` against a
real gunicorn Podium (the newcomer's minute: drift, accuracy and a firing alert on the page)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import requests
import sqlalchemy as sa

from tests.conftest import ADMIN, USER, basic
from tests.support.helpers import IRIS_ROW
from tests.support.monitoring import watch_of
from tests.support.server import ROOT, gunicorn


def test_db_upgrade_then_current_on_a_fresh_database(app, runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app.config["DATABASE_URL"] = url
    assert runner.invoke(args=["db", "current"]).exit_code == 1  # an empty database is behind
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "at revision 0002" in result.output
    result = runner.invoke(args=["db", "current"])
    assert (result.exit_code, result.output.strip()) == (0, "sqlite: revision 0002 (newest 0002)")
    engine = sa.create_engine(url)
    assert {"prediction_log", "ground_truth", "model_versions", "monitor_results"} <= set(
        sa.inspect(engine).get_table_names())
    engine.dispose()


def test_db_upgrade_says_so_when_the_database_does_not_answer(app, runner):
    app.config["DATABASE_URL"] = "postgresql+psycopg://podium@127.0.0.1:9/none?connect_timeout=2"
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert "cannot be upgraded" in result.output


def _predicted(app, rows: int = 1) -> str:
    response = app.test_client().post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW] * rows},
                                      headers=basic(USER))
    assert watch_of(app).log.flush()
    return response.headers["X-Podium-Request-ID"]


def test_feedback_from_a_csv_file_then_export_both_formats(app, runner, tmp_path):
    watch_of(app).log.start()
    first, second = _predicted(app), _predicted(app)
    truths = tmp_path / "truths.csv"
    truths.write_text(f"request_id,truth\n{first},setosa\n{second},versicolor\n")
    result = runner.invoke(args=["monitor", "feedback", "iris", str(truths)])
    assert result.exit_code == 0, result.output
    assert "recorded 2 truths, 0 already known" in result.output
    truths.write_text(f"request_id,truth\n{first},virginica\n")
    result = runner.invoke(args=["monitor", "feedback", "iris", str(truths)])
    assert result.exit_code == 1
    assert "different truth" in result.output
    result = runner.invoke(args=["monitor", "export", "iris"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["request_id"]: r["truth"] for r in rows} == {first: "setosa", second: "versicolor"}
    out = tmp_path / "log.parquet"
    result = runner.invoke(args=["monitor", "export", "iris", "--format", "parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == 2
    assert runner.invoke(args=["monitor", "export", "nosuch"]).exit_code == 1
    watch_of(app).close()


def test_monitor_run_computes_now_and_prints_the_alerts(app, runner):
    watch_of(app).log.start()
    for _ in range(3):
        _predicted(app)
    result = runner.invoke(args=["monitor", "run", "iris"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("iris: 2 versions, ")
    assert watch_of(app).monitor.summary("iris")["versions"]["2"]["requests"] == 3
    watch_of(app).close()


@pytest.mark.integration
def test_demos_traffic_fills_the_monitoring_section_with_drift_and_an_alert(demo_store, tmp_path):
    shutil.copytree(demo_store, tmp_path / "store")
    with gunicorn(tmp_path / "store", tmp_path / "instance", {"admin": ADMIN}) as server:
        env = {**os.environ, "FLASK_APP": "wsgi", "PODIUM_MODEL_STORE": str(tmp_path / "store"),
               "PODIUM_PASSWORD": ADMIN[1], "PODIUM_CREATE_ADMIN": "false",
               "PODIUM_USERS_FILE": str(tmp_path / "instance" / "users.json"),
               "PODIUM_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
        run = subprocess.run([sys.executable, "-m", "flask", "demos", "traffic", "--url", server.url,
                              "--user", ADMIN[0], "--shift", "petal"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        lines = {line.split()[0]: line for line in run.stdout.splitlines() if line}
        assert "iris: 38 requests, 38 truths sent, shifted petal length (cm), petal width (cm)" in run.stdout
        assert "drifting: petal length (cm), petal width (cm)" in lines["iris"]
        assert "PodiumDatasetDrift" in lines["iris"]
        assert "live accuracy" in lines["wine"]
        assert "estimated accuracy" in lines["wine"]
        page = requests.get(server.url + "/models/iris", timeout=30).text
        part = page[page.index('id="monitoring"'):]
        assert "PodiumDatasetDrift" in part
        assert part.count('<svg class="hist"') == 5
        assert "Estimated accuracy" in part
