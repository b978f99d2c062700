"""Fixtures for the monitoring core: a migrated log database on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.fernet import Fernet

from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)
from webapp.serving.models.spec import ModelSpec, parse_manifest
from webapp.serving.monitoring import database, migrate
from webapp.serving.monitoring.privacy import Protector
from webapp.serving.monitoring.records import PredictionRecord, Sampler
from webapp.serving.monitoring.writer import PredictionLog

IRIS_LABELS = ["setosa", "versicolor", "virginica"]
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def manifest_spec(name: str, task: str = "classification", version: int = 1, **extra: Any) -> ModelSpec:
    """A version's spec from a manifest alone (the writer and feedback need no model)."""
    data: dict[str, Any] = {"framework": "sklearn", "artifact": "model.skops", "task": task,
                            "inputs": {"features": IRIS_FEATURES}, "metrics": {"accuracy": 0.95}}
    if task == "classification":
        data["outputs"] = {"labels": IRIS_LABELS}
    data.update(extra)
    return parse_manifest(data, name, version, Path("."))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path) -> Iterator[database.LogDatabase]:
    """A log database at the newest schema: a SQLite file, then a fresh PostgreSQL database."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    log_db = database.open_database(url, tmp_path)
    migrate.upgrade(log_db)
    yield log_db
    log_db.dispose()


@pytest.fixture
def protector() -> Protector:
    return Protector(b"k" * 32, Fernet.generate_key())


@pytest.fixture
def plog(db, protector) -> Iterator[PredictionLog]:
    log = PredictionLog(db, protector, Sampler(), interval_s=0.05)
    log.start()
    yield log
    log.close()


def iris_record(request_id: str, rows: int = 1, version: int = 1, spec: ModelSpec | None = None,
                **fields: Any) -> PredictionRecord:
    """A classifier's record: `rows` rows of inputs and probabilities favouring class 1."""
    spec = spec or manifest_spec("iris", version=version)
    x = np.tile(np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32), (rows, 1))
    p = np.tile(np.array([[0.1, 0.7, 0.2]], dtype=np.float32), (rows, 1))
    return PredictionRecord(request_id, spec.name, spec.version, spec, x, p, 0.002, **fields)
