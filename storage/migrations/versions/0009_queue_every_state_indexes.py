"""stories: a queue page over every state reads one index range, and the date sorts are covered

Two indexes read a campaign's stories in every state as one range: (campaign_id, score, ...) for the score
sort and (campaign_id, post_created_at, ...) for the date sorts. Before them, a page with no state filter
merged one LIMITed range per state (seven), reading seven times the rows it showed; at 1,000,000 stories on
SQLite such a page went from 1-4 ms of SQLite work to 0.4-0.6 ms. The per-state date index
(campaign_id, state, post_created_at) becomes covering (the filter columns and the score follow), so a
state's page sorted by date and filtered by language no longer reads each candidate row from the table. It
keeps the old index's leading columns, so it serves every query the old one did, and the old one is dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_FILTERS = ["language", "sentiment", "platform"]


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stories_queue_dated", ["campaign_id", "state", "post_created_at", *_FILTERS, "score"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_stories_campaign_id_state_post_created_at"))
        batch_op.create_index(
            "ix_stories_ranked", ["campaign_id", "score", "state", *_FILTERS, "post_created_at"], unique=False
        )
        batch_op.create_index(
            "ix_stories_dated", ["campaign_id", "post_created_at", "state", *_FILTERS, "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_dated")
        batch_op.drop_index("ix_stories_ranked")
        batch_op.create_index(
            batch_op.f("ix_stories_campaign_id_state_post_created_at"),
            ["campaign_id", "state", "post_created_at"],
            unique=False,
        )
        batch_op.drop_index("ix_stories_queue_dated")
