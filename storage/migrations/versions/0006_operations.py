"""operations: work leases, privacy and retention

The privacy audit log (`privacy_erasures`: what an erasure removed, never whose handle), two partial indexes on
posts that find the reposts and the quotes of a post being erased, and the indexes the database needs to
delete posts and authors without scanning the tables that reference them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=True),
        sa.Column("subject", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "counts", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_erasures")),
    )
    with op.batch_alter_table("privacy_erasures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_erasures_kind_at"), ["kind", "at"], unique=False)

    for column in ("repost_of_id", "quote_of_id"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            op.f(f"ix_posts_platform_{column}"),
            "posts",
            ["platform", column],
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
        )
    op.create_index(op.f("ix_rights_requests_evidence_post_id"), "rights_requests", ["evidence_post_id"], unique=False)
    op.create_index(op.f("ix_stories_author_id"), "stories", ["author_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_stories_author_id"), table_name="stories")
    op.drop_index(op.f("ix_rights_requests_evidence_post_id"), table_name="rights_requests")
    for column in ("quote_of_id", "repost_of_id"):
        op.drop_index(op.f(f"ix_posts_platform_{column}"), table_name="posts")
    with op.batch_alter_table("privacy_erasures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_erasures_kind_at"))
    op.drop_table("privacy_erasures")
