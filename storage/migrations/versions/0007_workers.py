"""workers: processes with heartbeats, lease owners on posts, scheduled units of work, source counters

Posts and job runs gain nullable columns, sources two running totals for /metrics (plain ALTER TABLE ADD COLUMN on both engines: no table rebuild of
the biggest table); workers and work_items are new.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("posts", sa.Column("lease_owner", sa.String(length=32), nullable=True))
    op.add_column("job_runs", sa.Column("worker_id", sa.String(length=32), nullable=True))
    op.add_column("sources", sa.Column("posts_collected", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("sources", sa.Column("rate_limited_runs", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_start", sa.BigInteger(), nullable=True),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(length=100), nullable=True),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_index(op.f("ix_workers_stopped_at_heartbeat_at"), "workers", ["stopped_at", "heartbeat_at"])
    op.create_table(
        "work_items",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("not_before", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=32), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_work_items_dedup_key")),
    )
    op.create_index(op.f("ix_work_items_status_kind_not_before"), "work_items", ["status", "kind", "not_before"])
    op.create_index(op.f("ix_work_items_lease_owner"), "work_items", ["lease_owner"])


def downgrade() -> None:
    op.drop_index(op.f("ix_work_items_lease_owner"), table_name="work_items")
    op.drop_index(op.f("ix_work_items_status_kind_not_before"), table_name="work_items")
    op.drop_table("work_items")
    op.drop_index(op.f("ix_workers_stopped_at_heartbeat_at"), table_name="workers")
    op.drop_table("workers")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("rate_limited_runs")
        batch_op.drop_column("posts_collected")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_column("worker_id")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
