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
from itertools import chain
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

# Both SQLite and asyncpg accept at most 32767 bound parameters per statement.
MAX_PARAMS = 32_000


# The standard encoder, built once (json.dumps with keyword arguments builds one per call), is the fallback
# for what orjson refuses (lone surrogates, integers past 64 bits); orjson writes the same compact UTF-8
# text several times faster.
_std_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _std_encode(value)


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
    """Bulk statements in the session's transaction.

    On SQLite the statements go straight to the aiosqlite connection under the session (one thread hop
    each, with the rows fetched in the same hop), which halves the per-statement cost of SQLAlchemy's
    async adaptation; they still run in the session's transaction: Python's sqlite3 opens it before the
    first write and the session's commit or rollback ends it. PostgreSQL keeps SQLAlchemy's connection,
    whose adapter opens the asyncpg transaction.
    """

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session.get_bind().dialect.name == "postgresql")
        self._session = session
        self._lite: Any = None

    async def _sqlite(self) -> Any:
        if self._lite is None:
            conn = await self._session.connection()
            raw = await conn.get_raw_connection()
            self._lite = raw.driver_connection  # aiosqlite.Connection
        return self._lite

    async def _run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self._pg:
            conn = await self._session.connection()
            result = await conn.exec_driver_sql(sql, tuple(params))
            return [tuple(r) for r in result.all()] if result.returns_rows else []
        lite = await self._sqlite()
        return [tuple(r) for r in await lite.execute_fetchall(sql, params)]

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
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            flat = chain.from_iterable(chunk)
            params = list(flat) if adapted else [self._adapt(v) for v in flat]
            out.extend(await self._run(head + self._values_clause(len(chunk), width) + tail, params))
        return out

    async def select_in(
        self, sql: str, params: Sequence[Any], column: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """Run `sql` (with `?` placeholders and `{in}` where `column IN (...)` goes) for many values.

        PostgreSQL gets one array parameter (`= ANY($n)`): one prepared statement whatever the count.
        """
        if self._pg:
            text = sql.replace("{in}", f"{column} = ANY(?)")
            return await self._run(self._numbered(text), (*params, list(values)))
        out: list[tuple[Any, ...]] = []
        per_statement = MAX_PARAMS - len(params)
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            text = sql.replace("{in}", f"{column} IN ({', '.join('?' * len(chunk))})")
            out.extend(await self._run(text, (*params, *chunk)))
        return out

    def _numbered(self, sql: str) -> str:
        parts = sql.split("?")
        return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run `sql` (written with `?` placeholders) once per row."""
        if not rows:
            return
        adapted = [tuple(self._adapt(v) for v in row) for row in rows]
        if self._pg:
            conn = await self._session.connection()
            await conn.exec_driver_sql(self._numbered(sql), adapted)
        else:
            await (await self._sqlite()).executemany(sql, adapted)
