"""The prediction log's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

One row per predicted instance: a request for five rows is five log rows sharing a request id, so
ground truth, quality and drift work row by row. Times are UTC seconds since the epoch (a double):
cheap to compare and the same on both databases. Migrations in `migrations/` create exactly these.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only

predictions = sa.Table(
    "prediction_log", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(128), nullable=False),  # Podium's id (what feedback names)
    sa.Column("row_index", sa.Integer, nullable=False, default=0),  # index in the request's batch
    sa.Column("client_request_id", sa.String(128)),  # the caller's X-Request-ID, when it sent one
    sa.Column("logged_at", sa.Float(precision=53), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer),  # null when the request failed before a version was chosen
    sa.Column("chosen_by", sa.String(8), nullable=False),  # default | pinned | label | split
    sa.Column("caller", sa.String(128)),
    sa.Column("source", sa.String(8), nullable=False),  # v1 | v2 | page | csv
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("latency_s", sa.Float(precision=53), nullable=False),  # the whole request's
    sa.Column("sample_rate", sa.Float, nullable=False),
    sa.Column("inputs", sa.JSON),  # {feature: value} | {"sha256", "tensor", "stats"} for images
    sa.Column("label", sa.String(128)),  # classifiers: the top class
    sa.Column("confidence", sa.Float),  # classifiers: its probability (CBPE reads only this)
    sa.Column("probabilities", sa.JSON),  # classifiers: one per class, in the manifest's order
    sa.Column("value", sa.Float(precision=53)),  # regressors
    sa.UniqueConstraint("request_id", "row_index", name="uq_prediction_log_request_row"),
)
sa.Index("ix_prediction_log_model_time", predictions.c.model, predictions.c.version,
         predictions.c.logged_at)
sa.Index("ix_prediction_log_time", predictions.c.logged_at)

ground_truth = sa.Table(
    "ground_truth", metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("row_index", sa.Integer, primary_key=True),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("label", sa.String(128)),
    sa.Column("value", sa.Float(precision=53)),
    sa.Column("received_at", sa.Float(precision=53), nullable=False),
)

model_versions = sa.Table(  # what each logged version was: feedback and exports need it later
    "model_versions", metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("task", sa.String(16), nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("sensitive", sa.JSON, nullable=False),  # features stored hashed or encrypted
    sa.Column("heldout_metrics", sa.JSON, nullable=False),
    sa.Column("first_seen", sa.Float(precision=53), nullable=False),
)

monitor_results = sa.Table(  # the background job's latest summary per model, read by every worker
    "monitor_results", metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("computed_at", sa.Float(precision=53), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

api_tokens = sa.Table(  # Podium's API tokens share this database so every worker and instance sees them
    "api_tokens", metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # public: shown in lists, used to revoke
    sa.Column("digest", sa.String(64), nullable=False, unique=True),  # sha256 hex of the token
    sa.Column("user_name", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(8), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("expires_at", sa.Float(precision=53)),
    sa.Column("last_used_at", sa.Float(precision=53)),
    sa.Column("revoked_at", sa.Float(precision=53)),
)
