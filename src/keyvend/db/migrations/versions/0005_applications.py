"""applications, usage and quotas

Revision ID: 0005_applications
Revises: 0004_email
Create Date: 2026-12-01 14:03:43.388126
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import keyvend.db.models

revision = "0005_applications"
down_revision = "0004_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("token_hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_applications_token_digest")),
    )
    op.create_table(
        "key_usage",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_key_usage_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "day", "outcome", name=op.f("pk_key_usage")),
    )
    with op.batch_alter_table("key_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_usage_day"), ["day"], unique=False)

    op.create_table(
        "quota_usage",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_quota_usage_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "window", name=op.f("pk_quota_usage")),
    )
    # The extension's table is gone while it is uninstalled; reinstalling creates it whole.
    if not sa.inspect(op.get_bind()).has_table("service_apikey"):
        return
    with op.batch_alter_table("service_apikey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_digest", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("previous_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("previous_until", keyvend.db.models.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_used_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_service_apikey_previous_digest"), ["previous_digest"]
        )


def downgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("service_apikey"):
        return _drop_tables()
    with op.batch_alter_table("service_apikey", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_service_apikey_previous_digest"), type_="unique")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("previous_until")
        batch_op.drop_column("previous_ciphertext")
        batch_op.drop_column("previous_digest")
    _drop_tables()


def _drop_tables() -> None:
    op.drop_table("quota_usage")
    with op.batch_alter_table("key_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_usage_day"))

    op.drop_table("key_usage")
    op.drop_table("applications")
