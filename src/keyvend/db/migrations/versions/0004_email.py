"""email outbox and password resets

Revision ID: 0004_email
Revises: 0003_billing
Create Date: 2026-12-01 12:47:20.131888
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import keyvend.db.models

revision = "0004_email"
down_revision = "0003_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("subject", sa.LargeBinary(), nullable=False),
        sa.Column("body_text", sa.LargeBinary(), nullable=False),
        sa.Column("body_html", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emails")),
    )
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emails_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_emails_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_emails_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_emails_status"), ["status"], unique=False)

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", keyvend.db.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_password_resets_token_digest")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_resets_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_account_id"))

    op.drop_table("password_resets")
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emails_status"))
        batch_op.drop_index(batch_op.f("ix_emails_recipient"))
        batch_op.drop_index(batch_op.f("ix_emails_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_emails_client_id"))

    op.drop_table("emails")
