"""merchant portal: invites, mention flags and alias corrections, opt-outs, takedown requests

Merchant invites (only the token's hash is stored), the merchants' requests to the curators with their
decisions (merchant_corrections), and the (merchant, alias) pairs the linker must not link again
(link_exclusions).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_merchant_invites_invited_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_invites_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_merchant_invites_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_merchant_invites_token_hash")),
    )
    with op.batch_alter_table("merchant_invites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_merchant_invites_merchant_id_email"), ["merchant_id", "email"], unique=False
        )

    op.create_table(
        "merchant_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("surface", sa.String(length=300), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.String(length=300), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_merchant_corrections_decided_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_corrections_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_merchant_corrections_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_merchant_corrections_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_merchant_corrections_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_corrections")),
    )
    with op.batch_alter_table("merchant_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_merchant_corrections_merchant_id_status"), ["merchant_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_merchant_corrections_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merchant_corrections_status_kind"), ["status", "kind"], unique=False)

    op.create_table(
        "link_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=300), nullable=False),
        sa.Column("normalized", sa.String(length=300), nullable=False),
        sa.Column("correction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["correction_id"],
            ["merchant_corrections.id"],
            name=op.f("fk_link_exclusions_correction_id_merchant_corrections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_link_exclusions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_exclusions")),
        sa.UniqueConstraint("merchant_id", "normalized", name=op.f("uq_link_exclusions_merchant_id_normalized")),
    )


def downgrade() -> None:
    op.drop_table("link_exclusions")
    with op.batch_alter_table("merchant_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchant_corrections_status_kind"))
        batch_op.drop_index(batch_op.f("ix_merchant_corrections_post_id"))
        batch_op.drop_index(batch_op.f("ix_merchant_corrections_merchant_id_status"))

    op.drop_table("merchant_corrections")
    with op.batch_alter_table("merchant_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchant_invites_merchant_id_email"))

    op.drop_table("merchant_invites")
