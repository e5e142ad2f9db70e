"""Small SQL helpers shared by the repositories: the dialect's INSERT (for ON CONFLICT) and chunking.

SQLAlchemy exposes ON CONFLICT through each dialect's own `insert`; choosing it from the session's bind
keeps the repositories free of `if sqlite ... else postgres` branches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def upsert_insert(session: AsyncSession, table: Table) -> Any:
    """The dialect-specific INSERT for `table`, which has `on_conflict_do_nothing/do_update`."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported dialect {name}")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
