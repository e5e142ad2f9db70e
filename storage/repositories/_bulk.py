"""Driver-level bulk statements for the ingest hot path: multi-row VALUES with RETURNING, from plain tuples.

Why not the ORM or compiled Core inserts: their per-value type processing and per-row parameter dicts cost
~200 µs a post, 5-10x what the database itself needs (measured by `make bench`). Here each value is adapted
once, by type, to what the driver stores (the same representation SQLAlchemy's column types produce, so
rows read back through the models exactly as if the ORM had written them), and one statement carries a
whole chunk. Only the ingest repository uses this; everything else stays on the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# Both SQLite and asyncpg accept at most 32767 bound parameters per statement.
MAX_PARAMS = 32_000


# One encoder, built once: json.dumps with keyword arguments builds a new encoder on every call (6-9 µs).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@lru_cache(maxsize=8192)
def sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text form, naive UTC (see storage.types.UTCDateTime).

    Cached: a batch repeats its `now` on every row; isoformat is twice as fast as strftime.
    """
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class Json:
    """Marks a value for a JSON column (it is serialised once, compactly, keeping non-ASCII text readable)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class DriverValues:
    """Python values as the driver stores them for our column types (timestamps, JSON)."""

    def __init__(self, postgres: bool) -> None:
        self._pg = postgres

    def time(self, value: datetime) -> Any:
        """A timestamp as this driver stores it."""
        return value if self._pg else sqlite_time(value)

    def json(self, value: Any) -> str | None:
        """A JSON column value as this driver stores it."""
        if value is None:
            return None
        # Most list columns are empty: skip the encoder for them.
        return "[]" if isinstance(value, list | tuple) and not value else _encode(value)


class BulkWriter(DriverValues):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session.get_bind().dialect.name == "postgresql")
        self._session = session

    def _adapt(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value if self._pg else sqlite_time(value)
        if isinstance(value, Json):
            inner = value.value
            if inner is None:
                return None
            # Most list columns are empty: skip the encoder for them.
            return "[]" if isinstance(inner, list | tuple) and not inner else _encode(inner)
        return value

    def _values_clause(self, rows: int, width: int) -> str:
        if self._pg:
            groups = ("(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(rows))
        else:
            one = "(" + ", ".join("?" * width) + ")"
            groups = (one for _ in range(rows))
        return ", ".join(groups)

    async def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        on_conflict: str = "",
        returning: Sequence[str] = (),
        adapted: bool = False,
    ) -> list[tuple[Any, ...]]:
        """INSERT the rows in as few statements as the parameter limit allows; returns RETURNING rows.

        `adapted=True`: the rows already hold driver values (built with `time()` and `json()`), which
        spares a call per value on the hot path.
        """
        if not rows:
            return []
        width = len(columns)
        per_statement = max(1, MAX_PARAMS // width)
        # Identifiers are module constants of the ingest repository; every value is a bound parameter.
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
        tail = (f" {on_conflict}" if on_conflict else "") + (f" RETURNING {', '.join(returning)}" if returning else "")
        out: list[tuple[Any, ...]] = []
        conn = await self._session.connection()
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            if adapted:
                params = tuple([v for row in chunk for v in row])
            else:
                params = tuple([self._adapt(v) for row in chunk for v in row])
            result = await conn.exec_driver_sql(head + self._values_clause(len(chunk), width) + tail, params)
            if returning:
                out.extend(tuple(r) for r in result.all())
        return out

    async def select_in(
        self, sql: str, params: Sequence[Any], column: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """Run `sql` (with `?` placeholders and `{in}` where `column IN (...)` goes) for many values.

        PostgreSQL gets one array parameter (`= ANY($n)`): one prepared statement whatever the count.
        """
        conn = await self._session.connection()
        if self._pg:
            text = sql.replace("{in}", f"{column} = ANY(?)")
            result = await conn.exec_driver_sql(self._numbered(text), (*params, list(values)))
            return [tuple(r) for r in result.all()]
        out: list[tuple[Any, ...]] = []
        per_statement = MAX_PARAMS - len(params)
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            text = sql.replace("{in}", f"{column} IN ({', '.join('?' * len(chunk))})")
            result = await conn.exec_driver_sql(text, (*params, *chunk))
            out.extend(tuple(r) for r in result.all())
        return out

    def _numbered(self, sql: str) -> str:
        parts = sql.split("?")
        return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run `sql` (written with `?` placeholders) once per row."""
        if not rows:
            return
        conn = await self._session.connection()
        sql = self._numbered(sql) if self._pg else sql
        await conn.exec_driver_sql(sql, [tuple(self._adapt(v) for v in row) for row in rows])
