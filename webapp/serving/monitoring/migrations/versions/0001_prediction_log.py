"""The prediction log, ground truth, logged versions and the monitor's results.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Double = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "prediction_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("row_index", sa.Integer, nullable=False),
        sa.Column("client_request_id", sa.String(128)),
        sa.Column("logged_at", Double, nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("chosen_by", sa.String(8), nullable=False),
        sa.Column("caller", sa.String(128)),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("latency_s", Double, nullable=False),
        sa.Column("sample_rate", sa.Float, nullable=False),
        sa.Column("inputs", sa.JSON),
        sa.Column("label", sa.String(128)),
        sa.Column("confidence", sa.Float),
        sa.Column("probabilities", sa.JSON),
        sa.Column("value", Double),
        sa.UniqueConstraint("request_id", "row_index", name="uq_prediction_log_request_row"),
    )
    op.create_index("ix_prediction_log_model_time", "prediction_log", ["model", "version", "logged_at"])
    op.create_index("ix_prediction_log_time", "prediction_log", ["logged_at"])
    op.create_table(
        "ground_truth",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("row_index", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("label", sa.String(128)),
        sa.Column("value", Double),
        sa.Column("received_at", Double, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("sensitive", sa.JSON, nullable=False),
        sa.Column("heldout_metrics", sa.JSON, nullable=False),
        sa.Column("first_seen", Double, nullable=False),
    )
    op.create_table(
        "monitor_results",
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("computed_at", Double, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("monitor_results", "model_versions", "ground_truth"):
        op.drop_table(table)
    op.drop_index("ix_prediction_log_time", "prediction_log")
    op.drop_index("ix_prediction_log_model_time", "prediction_log")
    op.drop_table("prediction_log")
