"""weekly reports: the indexes the report needs on posts (new authors; the week's range, covering)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_author_id_created_at"), ["author_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_posts_created_at_author_id_platform_kind"),
            ["created_at", "author_id", "platform", "kind"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_created_at_author_id_platform_kind"))
        batch_op.drop_index(batch_op.f("ix_posts_author_id_created_at"))
