"""Helpers for tests of the wired-in monitoring: the log's rows, and waiting for the writer."""

from __future__ import annotations

import time
from typing import Any

import requests
import sqlalchemy as sa

from webapp.serving.monitoring.tables import predictions


def watch_of(app) -> Any:
    return app.extensions["podium.monitoring"]


def logged_rows(app, **where: Any) -> list[Any]:
    """Every prediction_log row the app's writer has stored (after a flush), filtered by columns."""
    watch = watch_of(app)
    assert watch.log.flush(30)
    query = sa.select(predictions).order_by(predictions.c.id)
    for column, value in where.items():
        query = query.where(predictions.c[column] == value)
    with watch.database.engine.connect() as conn:
        return conn.execute(query).all()


def rows_in(url: str) -> list[Any]:
    """prediction_log rows of a database named by URL (a server's SQLite file or PostgreSQL)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(predictions).order_by(predictions.c.id)).all()
    finally:
        engine.dispose()


def wait_for_rows(url: str, count: int, timeout: float = 30.0) -> list[Any]:
    """Rows of a server's database once at least `count` are there (the writers drain in batches)."""
    deadline = time.monotonic() + timeout
    while True:
        found = rows_in(url)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def metric(base_url: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels, from a server's /metrics."""
    total = 0.0
    for line in requests.get(base_url + "/metrics", timeout=10).text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key.split("{")[0] == name and all(f'{k}="{v}"' in key for k, v in labels.items()):
            total += float(value)
    return total
