"""API tokens: opaque, revocable credentials for API clients, stored only as SHA-256 digests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),  # public: shown in lists, used to revoke
        sa.Column("digest", sa.String(64), nullable=False, unique=True),  # sha256 hex of the token
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", Double, nullable=False),
        sa.Column("expires_at", Double),
        sa.Column("last_used_at", Double),
        sa.Column("revoked_at", Double),
    )
    op.create_index("ix_api_tokens_user_name", "api_tokens", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_user_name", "api_tokens")
    op.drop_table("api_tokens")
