"""Sensitive features are never stored in the clear: keyed hashes, or Fernet when asked and keyed."""

from __future__ import annotations

import csv
import io
import os
import stat

import numpy as np
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.serving.monitoring.conftest import iris_record, manifest_spec
from webapp.serving.errors import InvalidInput
from webapp.serving.monitoring import database, export, migrate
from webapp.serving.monitoring.privacy import (
    HASH_KEY_FILE,
    Protector,
    instance_hash_key,
    protector_from_environment,
)
from webapp.serving.monitoring.records import PredictionRecord
from webapp.serving.monitoring.settings import monitoring_spec
from webapp.serving.monitoring.tables import predictions
from webapp.serving.monitoring.writer import PredictionLog

SECRET_AGE = 73.25


def _log_one(tmp_path, protector, mode: str, **monitoring) -> tuple[database.LogDatabase, dict]:
    spec = manifest_spec("people", monitoring={"sensitive": ["sepal_length"], "sensitive_mode": mode,
                                               **monitoring})
    db = database.open_database(None, tmp_path)
    migrate.upgrade(db)
    log = PredictionLog(db, protector)
    log.start()
    rec = iris_record("p-1", spec=spec)
    rec.inputs[0, 0] = SECRET_AGE
    log.submit(rec)
    log.close()
    with db.engine.connect() as conn:
        inputs = conn.execute(sa.select(predictions.c.inputs)).scalar()
    return db, inputs


def _file_bytes(tmp_path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob(f"{database.DEFAULT_FILE}*"))


def test_a_hashed_feature_is_a_keyed_digest_and_not_in_the_file(tmp_path):
    protector = Protector(b"h" * 32)
    db, inputs = _log_one(tmp_path, protector, "hash")
    stored = inputs["sepal_length"]
    assert stored.startswith("hmac:")
    assert stored == protector.hash(SECRET_AGE)
    assert stored != Protector(b"another key, 32 bytes long......").hash(SECRET_AGE)
    assert inputs["sepal_width"] == pytest.approx(3.5)  # the others stay plain
    db.dispose()
    assert b"73.25" not in _file_bytes(tmp_path)


def test_an_encrypted_feature_comes_back_only_with_the_key(tmp_path):
    key = Fernet.generate_key()
    db, inputs = _log_one(tmp_path, Protector(b"h" * 32, key), "encrypt")
    assert inputs["sepal_length"].startswith("fernet:")
    out = io.StringIO()
    export.write_csv(db, "people", out, reveal=Protector(b"h" * 32, key))
    assert float(next(csv.DictReader(io.StringIO(out.getvalue())))["sepal_length"]) == SECRET_AGE
    hidden = io.StringIO()
    export.write_csv(db, "people", hidden)
    assert next(csv.DictReader(io.StringIO(hidden.getvalue())))["sepal_length"].startswith("fernet:")
    db.dispose()
    assert b"73.25" not in _file_bytes(tmp_path)


def test_encrypt_without_a_key_hashes_instead(tmp_path):
    protector = Protector(b"h" * 32)  # no encryption key set
    _, inputs = _log_one(tmp_path, protector, "encrypt")
    assert inputs["sepal_length"] == protector.hash(SECRET_AGE)


def test_uploads_are_kept_only_when_the_manifest_says_so(tmp_path):
    spec = manifest_spec("digits", inputs={"kind": "image", "height": 8, "width": 8},
                         outputs={"labels": [str(d) for d in range(10)]},
                         monitoring={"store_uploads": True})
    db = database.open_database(None, tmp_path)
    migrate.upgrade(db)
    log = PredictionLog(db, Protector(b"h" * 32))
    log.start()
    log.submit(PredictionRecord("u-1", "digits", 1, spec, np.zeros((1, 8, 8, 1), np.float32),
                                np.eye(10, dtype=np.float32)[[0]], 0.001, uploads=[b"PNGDATA"]))
    log.close()
    with db.engine.connect() as conn:
        inputs = conn.execute(sa.select(predictions.c.inputs)).scalar()
    assert inputs["upload"] == "UE5HREFUQQ=="


def test_the_instance_hash_key_is_private_and_stable(tmp_path):
    first = instance_hash_key(tmp_path)
    assert len(first) == 32
    assert instance_hash_key(tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / HASH_KEY_FILE).st_mode) == 0o600
    from_env = protector_from_environment(tmp_path, {"PODIUM_LOG_HASH_KEY": "x" * 40})
    assert from_env.hash(1.0) == Protector(b"x" * 40).hash(1.0)
    assert protector_from_environment(tmp_path, {}).hash(1.0) == Protector(first).hash(1.0)


def test_a_malformed_encryption_key_is_refused():
    with pytest.raises(ValueError, match="Fernet key"):
        protector_from_environment(".", {"PODIUM_LOG_HASH_KEY": "x" * 40,
                                         "PODIUM_LOG_ENCRYPTION_KEY": "not-a-fernet-key"})


@pytest.mark.parametrize(("monitoring", "message"), [
    ({"sensitive": ["nope"]}, "unknown feature 'nope'"),
    ({"sensitive_mode": "rot13"}, "sensitive_mode must be one of"),
    ({"store_uploads": "yes"}, "store_uploads must be true or false"),
    ({"drift": {"p_value": "small"}}, "drift.p_value must be a positive number"),
    ({"drift": {"colour": 1}}, "unknown key 'colour'"),
])
def test_a_malformed_monitoring_object_names_the_problem(monitoring, message):
    with pytest.raises(InvalidInput, match=message):
        monitoring_spec(manifest_spec("m", monitoring=monitoring))
