"""stories queue and web sessions

Stories gain the post's platform, language, sentiment, author and date (the queue filters on one table) and
the public name granted by the author; web sessions and failed sign-ins get their tables; users a locale.
No code wrote stories before this revision, so the NOT NULL columns are added to an empty table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_key_at"), ["key", "at"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform", sa.String(length=20), nullable=False))
        batch_op.add_column(sa.Column("language", sa.String(length=10), nullable=False))
        batch_op.add_column(sa.Column("sentiment", sa.String(length=10), nullable=False))
        batch_op.add_column(
            sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)
        )
        batch_op.add_column(sa.Column("post_created_at", storage.types.UTCDateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column("public_name", sa.String(length=400), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_stories_campaign_id_state_post_created_at"),
            ["campaign_id", "state", "post_created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_stories_merchant_id_state"), ["merchant_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_state_featured_until"), ["state", "featured_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_original_story_id"), ["original_story_id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_stories_campaign_id_state_score"))
        batch_op.create_index(
            "ix_stories_queue",
            ["campaign_id", "state", "score", "language", "sentiment", "platform", "post_created_at"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_stories_author_id_authors"), "authors", ["author_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentions_discovered_id"), ["discovered_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentions_discovered_id"))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")

    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_stories_author_id_authors"), type_="foreignkey")
        batch_op.drop_index("ix_stories_queue")
        batch_op.create_index(
            batch_op.f("ix_stories_campaign_id_state_score"), ["campaign_id", "state", "score"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_stories_original_story_id"))
        batch_op.drop_index(batch_op.f("ix_stories_state_featured_until"))
        batch_op.drop_index(batch_op.f("ix_stories_merchant_id_state"))
        batch_op.drop_index(batch_op.f("ix_stories_campaign_id_state_post_created_at"))
        batch_op.drop_column("public_name")
        batch_op.drop_column("post_created_at")
        batch_op.drop_column("author_id")
        batch_op.drop_column("sentiment")
        batch_op.drop_column("language")
        batch_op.drop_column("platform")

    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_expires_at"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_key_at"))

    op.drop_table("login_attempts")
